package web

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"time"
)

// Gate admits the pages' requests: at most so many served at once, the rest waiting their
// turn, so that a burst of resets never crowds the proxied traffic out of the Go scheduler
// (issue 17). Enter waits for a place and returns the context to serve the request with and
// the func that gives the place back; its error means no place came free in time, or the
// client left. main passes an internal/admission gate.
type Gate interface {
	Enter(ctx context.Context) (context.Context, func(), error)
}

// busyRetry is the Retry-After of the page that answers a request the gate turned away.
const busyRetry = 5 * time.Second

// admit serves next behind Options.Gate, and a new password's submission behind
// Options.Completions first. The stylesheets and scripts pass by (they cost nothing and the
// pages need them), and a form's body is read before the request queues: reading it is
// waiting for the client, and a client trickling its form must hold nobody's place. The body
// was capped by limitBody and PageLimits; an error reading it is kept for the form parser,
// which answers it as it always has.
func (h *Handler) admit(next http.Handler) http.Handler {
	if h.o.Gate == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, h.o.Prefix+"/static/") {
			next.ServeHTTP(w, r)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			b, err := io.ReadAll(r.Body)
			r.Body = readBody{bytes.NewReader(b), err}
		}
		if h.o.Completions != nil && r.Method == http.MethodPost && r.URL.Path == h.o.Prefix+"/new" {
			ctx, done, err := h.o.Completions.Enter(r.Context())
			if err != nil {
				return // the client is gone (the door has no time limit)
			}
			defer done()
			r = r.WithContext(ctx)
		}
		ctx, done, err := h.o.Gate.Enter(r.Context())
		if err != nil {
			if r.Context().Err() != nil {
				return // the client is gone: nobody to answer
			}
			h.respondError(w, r, http.StatusServiceUnavailable, "", busyRetry)
			return
		}
		defer done()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// readBody is a request body already read: its bytes, then the error that ended the read
// (nil: EOF).
type readBody struct {
	*bytes.Reader
	err error
}

func (b readBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	if err == io.EOF && b.err != nil {
		err = b.err
	}
	return n, err
}

func (readBody) Close() error { return nil }
