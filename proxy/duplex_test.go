package proxy_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"
)

// chunkedEcho sends size bytes as a chunked request body through the handler built by front
// to an upstream that answers (status and headers) before reading any of the body and then
// echoes it. To make the early answer deterministic, the upstream reads nothing until the
// client has received the response headers, so at that moment most of the body is still
// unread in the front server. It returns what the client sent and what came back.
func chunkedEcho(t *testing.T, front func(upstream *url.URL) http.Handler, size int64) (sent, got transfer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()

	headersSeen := make(chan struct{})
	up := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.EnableFullDuplex(); err != nil {
			t.Errorf("upstream EnableFullDuplex: %v", err)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		rc.Flush()
		select {
		case <-headersSeen:
		case <-r.Context().Done():
			return
		}
		io.Copy(w, r.Body)
	}))
	srv := mustServe(t, front(mustURL(t, up.URL)))

	pr, pw := io.Pipe()
	sentc := make(chan transfer, 1)
	go func() {
		tr, err := hashReader(io.TeeReader(pattern(1, size), pw))
		pw.CloseWithError(err)
		sentc <- tr
	}()
	req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/echo", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1 // chunked
	resp, err := client(t).Do(req)
	if err != nil {
		t.Fatalf("POST /echo: %v", err)
	}
	defer resp.Body.Close()
	close(headersSeen)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /echo: status %s, want 200", resp.Status)
	}
	got, err = hashReader(resp.Body)
	if err != nil {
		t.Fatalf("read echo: %v", err)
	}
	pr.Close() // unblock the writer if the proxy stopped reading early
	return <-sentc, got
}

// unwrapper is what a well-behaved middleware ResponseWriter wrapper looks like.
type unwrapper struct{ http.ResponseWriter }

func (u unwrapper) Unwrap() http.ResponseWriter { return u.ResponseWriter }

func TestChunkedUploadEchoedByteExact(t *testing.T) {
	for _, tt := range []struct {
		name string
		wrap func(http.Handler) http.Handler
	}{
		{"proxy", func(h http.Handler) http.Handler { return h }},
		{"proxy behind middleware that implements Unwrap", func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(unwrapper{w}, r) })
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sent, got := chunkedEcho(t, func(up *url.URL) http.Handler {
				return tt.wrap(mustProxy(t, up.String(), nil))
			}, bigBody)
			if sent.n != bigBody {
				t.Fatalf("client sent %d bytes, want %d", sent.n, bigBody)
			}
			if got != sent {
				t.Errorf("echo through the proxy: got %d bytes (sha256 %x), want %d bytes (sha256 %x)",
					got.n, got.sum, sent.n, sent.sum)
			}
		})
	}
}

// TestPlainReverseProxyLosesBytes is the control for TestChunkedUploadEchoedByteExact: the
// same exchange through a ReverseProxy without full duplex. When it writes the response
// header, net/http discards up to 256 KiB + 1 of the unread request body (server.go,
// maxPostHandlerReadBytes) and the app never sees those bytes, yet the answer is 200. If this
// test ever fails, net/http changed and the full-duplex call in Proxy.ServeHTTP should be
// revisited.
func TestPlainReverseProxyLosesBytes(t *testing.T) {
	sent, got := chunkedEcho(t, func(up *url.URL) http.Handler {
		return &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(up) }}
	}, bigBody)
	const discarded = 256<<10 + 1
	if got.n != sent.n-discarded {
		t.Errorf("plain ReverseProxy echoed %d of %d bytes, want exactly %d lost", got.n, sent.n, discarded)
	}
}

// TestEarlyAnswerDuringContentLengthUpload: the app answers while a Content-Length upload is
// still arriving, and reads the rest afterwards, as an upload endpoint that reports progress
// or refuses early does. The client holds back the last bytes of the body until the first line
// of the answer has reached it, so the answer must travel through the proxy while the request
// body is still open; then it sends them, and the app must receive every byte.
//
// Without full duplex, writing the response header makes net/http first read and discard
// the unread rest of the body (less than 256 KiB here): the header waits for bytes that the
// client sends only after seeing it, and the app never receives them. The chunked tests above
// cannot see this, since for a chunked body the proxy closes the connection anyway.
func TestEarlyAnswerDuringContentLengthUpload(t *testing.T) {
	const size, tail = 8 << 20, 64 << 10
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()

	up := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.EnableFullDuplex(); err != nil {
			t.Errorf("upstream EnableFullDuplex: %v", err)
		}
		h := sha256.New()
		if _, err := io.CopyN(h, r.Body, size-tail); err != nil {
			t.Errorf("upstream read of the first %d bytes: %v", size-tail, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "early answer\n")
		rc.Flush()
		n, err := io.Copy(h, r.Body)
		fmt.Fprintf(w, "received %d %x %v\n", size-tail+n, h.Sum(nil), err)
	}))
	front := mustServe(t, mustProxy(t, up.URL, nil))

	pr, pw := io.Pipe()
	answered := make(chan struct{})
	uploaded := make(chan error, 1)
	stalled := false // the tail went out without the answer having arrived
	go func() {
		body := pattern(4, size)
		_, err := io.CopyN(pw, body, size-tail)
		if err == nil {
			// A proxy that waits for the whole body before answering would wait forever:
			// after closeGuard the tail goes out anyway, and the test fails on the order.
			select {
			case <-answered:
			case <-time.After(closeGuard):
				stalled = true
			}
			_, err = io.Copy(pw, body)
		}
		pw.CloseWithError(err)
		uploaded <- err
	}()
	req, err := http.NewRequestWithContext(ctx, "POST", front.URL+"/upload", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	resp, err := client(t).Do(req)
	if err != nil {
		t.Fatalf("POST /upload: %v", err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	close(answered)
	if err != nil || first != "early answer\n" {
		t.Fatalf("first line of the answer = %q, %v; want %q", first, err, "early answer\n")
	}
	if err := <-uploaded; err != nil {
		t.Fatalf("upload: %v", err)
	}
	if stalled {
		t.Fatalf("the answer arrived only after the whole body was sent: the proxy held it back until the upload ended")
	}
	last, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("rest of the answer: %q, %v", last, err)
	}
	want, _ := hashReader(pattern(4, size))
	if wantLine := fmt.Sprintf("received %d %x <nil>\n", want.n, want.sum); last != wantLine {
		t.Errorf("the app reports %q, want %q", last, wantLine)
	}
}
