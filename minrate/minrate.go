// Package minrate cuts off clients that send a request body, or read a response, slower
// than a minimum rate, as Apache's mod_reqtimeout does (body=20,MinRate=500): a client that
// trickles one byte every few seconds would otherwise hold an app worker, or a reset handler,
// for as long as it likes (SECURITY.md RQ-PRX-06, issue 16 finding 2).
//
// Reading a body, the connection's read deadline starts [Limits.Initial] after the request
// and moves one second later for every [Limits.MinRate] bytes received, but never more than
// [Limits.Idle] past the last byte, so credit earned by a fast start drains while the body
// is silent and a body that stops is cut after Idle; [Limits.Max], when set, bounds the whole
// body. Writing, every write must complete within Idle plus one second per MinRate bytes.
// Deadlines go through [http.ResponseController]; a writer that cannot take them (a test
// recorder) is served without. The deadline is moved at most once a second, so the cost per
// read or write is a clock read and a comparison.
//
// Streams of any length and duration pass as long as they keep the rate while bytes are
// due; a response that is silent between writes (server-sent events, long polls) is not
// cut, because only a write that is under way can miss its deadline. The package knows
// nothing of resets or the app: web uses strict limits, the proxy the configured ones.
package minrate

import (
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// ErrTooSlow is wrapped by the error a body read returns when the client missed the deadline.
var ErrTooSlow = errors.New("client sent the request body too slowly")

// Limits are the minimum progress a client must make. The zero value turns every limit off.
type Limits struct {
	// Initial is how long the first bytes of a body may take; it is raised to nothing
	// above Idle. Zero means Idle.
	Initial time.Duration
	// MinRate in bytes per second earns one more second of deadline; zero turns the rate
	// limit off (only Idle and Max apply).
	MinRate int
	// Idle is the longest a body may go silent, or a write may take beyond its rate
	// allowance. Zero turns deadlines off altogether.
	Idle time.Duration
	// Max, when not zero, bounds the time a whole request body may take.
	Max time.Duration
}

// granularity is how far the computed deadline may run ahead of the one given to the
// connection before it is moved: deadlines are at most this much stricter than computed,
// and moved at most once per granularity.
const granularity = time.Second

// Exchange is the limits applied to one request. Call Done when the handler returns.
type Exchange struct {
	l     Limits
	rc    *http.ResponseController
	start time.Time

	body   *body
	closed bool   // a write deadline was set
	w      writer // allocated with the Exchange: one allocation per request on the hot path
}

// Wrap starts enforcing l on w and r and returns the writer and request to serve with. It
// changes nothing when l.Idle is zero. Requests that upgrade the connection (WebSocket) get
// no body limit; after the hijack the connection is theirs.
func (l Limits) Wrap(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, *Exchange) {
	x := &Exchange{l: l}
	if l.Idle <= 0 {
		return w, r, x
	}
	if x.l.Initial <= 0 || x.l.Initial > l.Idle {
		x.l.Initial = l.Idle
	}
	x.rc = http.NewResponseController(w)
	if r.Header.Get("Upgrade") != "" {
		// A hijacked connection keeps its deadlines: none may be left from an earlier
		// request on it, and none is set for this one.
		_ = x.rc.SetWriteDeadline(time.Time{})
		return w, r, x
	}
	x.start = time.Now()
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		first := x.start.Add(x.l.Initial)
		if x.rc.SetReadDeadline(first) == nil {
			x.body = &body{ReadCloser: r.Body, x: x, due: first, set: first}
			r2 := *r
			r2.Body = x.body
			r = &r2
		}
	}
	// Writes net/http makes on its own before the handler's first (100 Continue) must not
	// meet a deadline left from an earlier request on this connection.
	if x.rc.SetWriteDeadline(x.start.Add(l.Idle)) == nil {
		x.closed = true
		x.w = writer{ResponseWriter: w, x: x}
		w = &x.w
	}
	return w, r, x
}

// TooSlow reports whether the request body missed its deadline.
func (x *Exchange) TooSlow() bool { return x.body != nil && x.body.slow }

// Done ends the exchange: the response's last bytes, which net/http writes after the handler
// returns, get Idle to leave, and a body read to its end no longer has a deadline (net/http
// keeps reading the connection to notice a client that goes away, and a deadline there would
// cancel the next request's context). A body left unread keeps its deadline, so net/http's
// draining of it cannot be stretched either.
func (x *Exchange) Done() {
	if x.closed {
		_ = x.rc.SetWriteDeadline(time.Now().Add(x.l.Idle))
	}
}

type body struct {
	io.ReadCloser
	x    *Exchange
	due  time.Time // the deadline as earned
	set  time.Time // the deadline the connection has
	slow bool
	eof  bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 && !b.eof {
		b.progress(n)
	}
	switch {
	case err == io.EOF && !b.eof:
		b.eof = true
		_ = b.x.rc.SetReadDeadline(time.Time{})
	case err != nil && isTimeout(err):
		b.slow = true
		err = errors.Join(ErrTooSlow, err)
	}
	return n, err
}

func (b *body) progress(n int) {
	now := time.Now()
	l := b.x.l
	due := b.due
	if l.MinRate > 0 {
		due = due.Add(time.Duration(n) * time.Second / time.Duration(l.MinRate))
	} else {
		due = now.Add(l.Idle)
	}
	if limit := now.Add(l.Idle); due.After(limit) {
		due = limit
	}
	if l.Max > 0 {
		if limit := b.x.start.Add(l.Max); due.After(limit) {
			due = limit
		}
	}
	b.due = due
	if due.Sub(b.set) >= granularity {
		b.set = due
		_ = b.x.rc.SetReadDeadline(due)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// writer sets a deadline before every write: Idle plus one second per MinRate bytes.
type writer struct {
	http.ResponseWriter
	x   *Exchange
	set time.Time
}

func (w *writer) before(n int) {
	now := time.Now()
	due := now.Add(w.x.l.Idle)
	if r := w.x.l.MinRate; r > 0 {
		due = due.Add(time.Duration(n) * time.Second / time.Duration(r))
	}
	if due.Sub(w.set) >= granularity {
		w.set = due
		_ = w.x.rc.SetWriteDeadline(due)
	}
}

func (w *writer) Write(p []byte) (int, error) {
	w.before(len(p))
	return w.ResponseWriter.Write(p)
}

// FlushError flushes with a fresh deadline; ReverseProxy flushes streamed responses through
// http.ResponseController, which finds this method before Unwrap.
func (w *writer) FlushError() error {
	w.before(4 << 10) // at most the server's write buffer is left to go
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the writer underneath, for full duplex and hijacking.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Handler applies l to every request next serves.
func (l Limits) Handler(next http.Handler) http.Handler {
	if l.Idle <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, r, x := l.Wrap(w, r)
		defer x.Done()
		next.ServeHTTP(w, r)
	})
}
