package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawApp is an upstream that answers each request on a connection with answer(n), n counting
// the requests on that connection from 0, written byte for byte. It records the raw bytes of
// every request head and counts connections (scriptedApp's conns).
type rawApp struct {
	*scriptedApp
	answer  func(n int, req *http.Request) string
	closeAt func(n int) bool // close the connection after answering request n
	mu      sync.Mutex
	heads   []string
}

func newRawApp(t *testing.T, answer func(n int, req *http.Request) string) *rawApp {
	t.Helper()
	a := &rawApp{answer: answer, closeAt: func(int) bool { return false }}
	a.scriptedApp = newScriptedApp(t, func(_ int32, c net.Conn, _ *bufio.Reader) { a.serve(c) })
	return a
}

func (a *rawApp) serve(c net.Conn) {
	var head bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &head))
	for n := 0; ; n++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		a.mu.Lock()
		a.heads = append(a.heads, head.String())
		a.mu.Unlock()
		head.Reset()
		if _, err := io.WriteString(c, a.answer(n, req)); err != nil || a.closeAt(n) {
			return
		}
	}
}

func ok(body string) string {
	return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

func testTransport(t *testing.T) *directTransport {
	t.Helper()
	tr := newDirectTransport(NewTransport())
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func get(t *testing.T, rt http.RoundTripper, method, url string, edit func(*http.Request)) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "resetgate-test")
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	if edit != nil {
		edit(req)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), err
}

func TestDirectWritesWhatTheTransportWrites(t *testing.T) {
	app := newRawApp(t, func(int, *http.Request) string { return ok("hi") })
	direct, stock := testTransport(t), NewTransport()
	t.Cleanup(stock.CloseIdleConnections)
	for _, rt := range []http.RoundTripper{direct, stock} {
		for _, m := range []string{"GET", "HEAD"} {
			if _, _, err := get(t, rt, m, app.url()+"/a/b?x=1&y=%20", func(r *http.Request) { r.Host = "app.example" }); err != nil {
				t.Fatalf("%s: %v", m, err)
			}
		}
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	if len(app.heads) != 4 || app.heads[0] != app.heads[2] || app.heads[1] != app.heads[3] {
		t.Errorf("request heads differ between the direct path and http.Transport:\n%q", app.heads)
	}
}

func TestDirectReusesConnections(t *testing.T) {
	app := newRawApp(t, func(n int, _ *http.Request) string { return ok("answer " + strconv.Itoa(n)) })
	tr := testTransport(t)
	for i := range 5 {
		_, body, err := get(t, tr, "GET", app.url()+"/", nil)
		if err != nil || body != "answer "+strconv.Itoa(i) {
			t.Fatalf("request %d: %q, %v", i, body, err)
		}
	}
	if n := app.conns.Load(); n != 1 {
		t.Errorf("%d connections for 5 sequential requests, want 1", n)
	}
}

// An app that closes every connection after one answer, without saying so, as some do once
// their keep-alive timeout passes: the next request finds the pooled connection dead before
// any answer and is sent again on a new one.
func TestDirectRetriesOnAConnectionTheAppClosed(t *testing.T) {
	app := newRawApp(t, func(int, *http.Request) string { return ok("fresh") })
	app.closeAt = func(int) bool { return true }
	tr := testTransport(t)
	for i := range 3 {
		if _, body, err := get(t, tr, "GET", app.url()+"/", nil); err != nil || body != "fresh" {
			t.Fatalf("request %d: %q, %v", i, body, err)
		}
		time.Sleep(20 * time.Millisecond) // let the close arrive
	}
	if n := app.conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3 (one per request)", n)
	}
}

func TestDirectDoesNotReuse(t *testing.T) {
	for name, answer := range map[string]string{
		"Connection: close":     "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi",
		"HTTP/1.0":              "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
		"bytes after the body":  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale",
		"body ends with close":  "HTTP/1.1 200 OK\r\n\r\nuntil close",
		"chunked with trailers": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nhi\r\n0\r\nX-Sum: 1\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			app := newRawApp(t, func(int, *http.Request) string { return answer })
			app.closeAt = func(int) bool { return strings.Contains(answer, "until close") }
			tr := testTransport(t)
			for range 2 {
				resp, body, err := get(t, tr, "GET", app.url()+"/", nil)
				if err != nil || (body != "hi" && body != "until close") {
					t.Fatalf("%q, %v", body, err)
				}
				if name == "chunked with trailers" && resp.Trailer.Get("X-Sum") != "1" {
					t.Errorf("trailer %v, want X-Sum: 1", resp.Trailer)
				}
			}
			want := int32(2)
			if name == "chunked with trailers" {
				want = 1 // a complete chunked body leaves the connection reusable
			}
			if n := app.conns.Load(); n != want {
				t.Errorf("%d connections for 2 requests, want %d", n, want)
			}
		})
	}
}

func TestDirectClosesABodyLeftUnread(t *testing.T) {
	app := newRawApp(t, func(int, *http.Request) string { return ok(strings.Repeat("x", 100<<10)) })
	tr := testTransport(t)
	for range 2 {
		req, _ := http.NewRequest("GET", app.url()+"/", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Read(make([]byte, 10))
		resp.Body.Close()
	}
	if n := app.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2: a connection with unread body bytes cannot be reused", n)
	}
}

func TestDirectPassesInterimResponsesToTheTrace(t *testing.T) {
	app := newRawApp(t, func(int, *http.Request) string {
		return "HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n" + ok("page")
	})
	tr := testTransport(t)
	var got []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		got = append(got, strconv.Itoa(code)+" "+h.Get("Link"))
		return nil
	}}
	_, body, err := get(t, tr, "GET", app.url()+"/", func(r *http.Request) {
		*r = *r.WithContext(httptrace.WithClientTrace(r.Context(), trace))
	})
	if err != nil || body != "page" {
		t.Fatalf("%q, %v", body, err)
	}
	if len(got) != 1 || got[0] != "103 </app.css>; rel=preload" {
		t.Errorf("interim responses %q, want the 103 with its Link", got)
	}
}

func TestDirectBoundsTheHead(t *testing.T) {
	app := newRawApp(t, func(int, *http.Request) string {
		return "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 2<<20) + "\r\nContent-Length: 0\r\n\r\n"
	})
	tr := testTransport(t)
	if _, _, err := get(t, tr, "GET", app.url()+"/", nil); !errors.Is(err, errHeadTooLarge) {
		t.Errorf("a 2 MiB head: %v, want %v", err, errHeadTooLarge)
	}
}

func TestDirectIsCancelledByItsContext(t *testing.T) {
	// An app that reads the request and never answers.
	app := newScriptedApp(t, func(_ int32, _ net.Conn, br *bufio.Reader) { io.Copy(io.Discard, br) })
	tr := testTransport(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", app.url()+"/", nil)
	if _, err := tr.RoundTrip(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("RoundTrip to an app that never answers = %v, want the context's deadline", err)
	}
}

func TestDirectClosesIdleConnections(t *testing.T) {
	app := newRawApp(t, func(int, *http.Request) string { return ok("hi") })
	tr := testTransport(t)
	tr.idleTimeout = 30 * time.Millisecond
	if _, _, err := get(t, tr, "GET", app.url()+"/", nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		tr.mu.Lock()
		n := len(tr.idle)
		tr.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an idle connection outlived the idle timeout")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, _, err := get(t, tr, "GET", app.url()+"/", nil); err != nil {
		t.Fatal(err)
	}
	if n := app.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2: the first was closed when idle", n)
	}
}

func TestDirectOnlyForBodylessRequests(t *testing.T) {
	for _, tc := range []struct {
		method, url string
		edit        func(*http.Request)
		want        bool
	}{
		{"GET", "http://app/", nil, true},
		{"HEAD", "http://app/", nil, true},
		{"GET", "https://app/", nil, false},
		{"POST", "http://app/", nil, false},
		{"OPTIONS", "http://app/", nil, false},
		{"GET", "http://app/", func(r *http.Request) { r.Header.Set("Upgrade", "websocket") }, false},
		{"GET", "http://app/", func(r *http.Request) { r.Header.Set("Expect", "100-continue") }, false},
		{"GET", "http://app/", func(r *http.Request) { r.Body, r.ContentLength = io.NopCloser(strings.NewReader("x")), 1 }, false},
		{"GET", "http://app/", func(r *http.Request) { r.Body, r.ContentLength = io.NopCloser(strings.NewReader("x")), -1 }, false},
	} {
		req, _ := http.NewRequest(tc.method, tc.url, nil)
		if tc.edit != nil {
			tc.edit(req)
		}
		if got := direct(req); got != tc.want {
			t.Errorf("direct(%s %s %v) = %v, want %v", tc.method, tc.url, req.Header, got, tc.want)
		}
	}
}
