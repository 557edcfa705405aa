package proxy_test

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"resetgate/minrate"
	"resetgate/proxy"
)

// hangGuard bounds how long a test waits for something that must happen. It is not a timing
// assertion: on a healthy run every wait ends in milliseconds, and the guard only turns a
// deadlock (the bug some tests look for) into a failure with a message instead of a hang.
const hangGuard = 2 * time.Minute

// closeGuard is the hang guard for a server closing a connection, which it does within
// milliseconds when healthy; shorter than hangGuard because a failing smuggling case waits
// for it once per case.
const closeGuard = 30 * time.Second

const publicURL = "https://public.example:8443"

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("url.Parse(%q) = %v", s, err)
	}
	return u
}

var defaultSlow = minrate.Limits{Initial: 10 * time.Second, MinRate: 500, Idle: 30 * time.Second}

// mustProxy returns a Proxy for upstream with public URL publicURL; edit adjusts the options.
func mustProxy(t testing.TB, upstream string, edit func(*proxy.Options)) *proxy.Proxy {
	t.Helper()
	// resetgate's default slow-client limits ([proxy] body_idle_timeout, body_min_rate), so
	// that every streaming test also shows they leave legitimate traffic alone.
	o := proxy.Options{Upstream: mustURL(t, upstream), PublicURL: mustURL(t, publicURL), Slow: defaultSlow}
	if edit != nil {
		edit(&o)
	}
	p, err := proxy.New(o)
	if err != nil {
		t.Fatalf("proxy.New(%+v) = %v", o, err)
	}
	t.Cleanup(p.Close)
	return p
}

// mustServe starts h on a real loopback listener. Like resetgate's own server, it hands
// "OPTIONS *" to the handler instead of answering it itself.
// configure, if given, adjusts the server before it starts.
func mustServe(t testing.TB, h http.Handler, configure ...func(*http.Server)) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Config.DisableGeneralOptionsHandler = true
	for _, c := range configure {
		c(s.Config)
	}
	// A handler panic is recovered and logged by net/http, and the client may see nothing
	// worse than a closed connection: fail the test on any.
	var errs logBuffer
	s.Config.ErrorLog = log.New(&errs, "", 0)
	t.Cleanup(func() {
		if l := errs.String(); strings.Contains(l, "panic") {
			t.Errorf("server logged a panic:\n%s", l)
		}
	})
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// seen is what the upstream received for one request.
type seen struct {
	Method, RequestURI, Host string
	Header                   http.Header
	TransferEncoding         []string
	ContentLength            int64
	Body                     string
}

// recorder is a real upstream that records every request it is given and answers "ok".
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
	raw  bytes.Buffer // every byte read from every connection, in arrival order
}

func mustRecorder(t testing.TB) *recorder {
	t.Helper()
	u := &recorder{}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{
			Method: r.Method, RequestURI: r.RequestURI, Host: r.Host, Header: r.Header.Clone(),
			TransferEncoding: r.TransferEncoding, ContentLength: r.ContentLength, Body: string(body),
		})
		u.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	s.Config.DisableGeneralOptionsHandler = true
	s.Listener = &teeListener{Listener: s.Listener, mu: &u.mu, raw: &u.raw}
	s.Start()
	t.Cleanup(s.Close)
	u.Server = s
	return u
}

func (u *recorder) requests() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs...)
}

func (u *recorder) rawBytes() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.raw.String()
}

// teeListener copies everything its connections read into raw, so tests can check the exact
// bytes the upstream was sent.
type teeListener struct {
	net.Listener
	mu  *sync.Mutex
	raw *bytes.Buffer
}

func (l *teeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &teeConn{Conn: c, l: l}, nil
}

type teeConn struct {
	net.Conn
	l *teeListener
}

func (c *teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.mu.Lock()
	c.l.raw.Write(p[:n])
	c.l.mu.Unlock()
	return n, err
}

// rawExchange sends raw bytes on a fresh TCP connection to addr and returns every response
// the server wrote before closing the connection. The server must close it: tests use this
// where a connection left open would be the bug.
func rawExchange(t *testing.T, addr, raw string) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatalf("write request: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(closeGuard))
	all, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("server did not close the connection after %q (read: %v); got %q", raw, err, all)
	}
	var resps []*http.Response
	br := bufio.NewReader(bytes.NewReader(all))
	for {
		if _, err := br.Peek(1); err == io.EOF {
			return resps
		}
		method := "GET"
		if m, _, ok := strings.Cut(raw, " "); ok {
			method = m
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("parse responses %q: %v", all, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("read response body from %q: %v", all, err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resps = append(resps, resp)
	}
}

func readAll(t testing.TB, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

// logBuffer collects slog records as text for tests to inspect.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger(b *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// client returns an HTTP client that sends exactly what tests give it: no added
// Accept-Encoding, no redirects followed.
func client(t testing.TB) *http.Client {
	t.Helper()
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// wait blocks until ch is closed or receives, failing the test if it never happens.
func wait[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(hangGuard):
		t.Fatalf("%s never happened", what)
		panic("unreachable")
	}
}
