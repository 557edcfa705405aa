package bench

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"resetgate/proxy"
	"resetgate/reset"
	"resetgate/reset/bolt"
	"resetgate/reset/passhash"
	"resetgate/reset/resettest"
	"resetgate/web"
)

// The benchmarks below run the handlers in process, without sockets: what they measure is
// resetgate's own work per request (and its allocations, with -benchmem), which the wrk runs
// of cmd/harness cannot separate from net/http's and the kernel's.

var page = bytes.Repeat([]byte("<p>legacy</p>\n"), 2048/14)

// pageTransport answers every request with a 2 KiB page, as the upstream does, without a
// network: both proxies below pay for the same response objects.
type pageTransport struct{}

func (pageTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Content-Length": {strconv.Itoa(len(page))}},
		ContentLength: int64(len(page)),
		Body:          io.NopCloser(bytes.NewReader(page)),
		Request:       r,
	}, nil
}

// discard is a ResponseWriter that keeps nothing; its header map is cleared between
// requests so that it does not grow.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) reset()                      { clear(d.h) }

func newDiscard() *discard { return &discard{h: make(http.Header)} }

// browserGet is a request as net/http's server hands it to a handler.
func browserGet(target string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.RemoteAddr = "192.0.2.7:51234"
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	r.Header.Set("Accept-Language", "en-US,en;q=0.5")
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	r.Header.Set("Cookie", "session=0123456789abcdef0123456789abcdef")
	return r
}

func mustURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatalf("url.Parse(%q) = %v", s, err)
	}
	return u
}

func mustProxy(tb testing.TB) *proxy.Proxy {
	tb.Helper()
	p, err := proxy.New(proxy.Options{
		Upstream:  mustURL(tb, "http://127.0.0.1:5000"),
		PublicURL: mustURL(tb, "https://app.example.com"),
		Transport: pageTransport{},
	})
	if err != nil {
		tb.Fatalf("proxy.New() = %v", err)
	}
	return p
}

// bufferPool is the bare proxy's pool, as in cmd/harness.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if p, ok := b.p.Get().(*[32 << 10]byte); ok {
		return p[:]
	}
	return new([32 << 10]byte)[:]
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) >= 32<<10 {
		b.p.Put((*[32 << 10]byte)(buf[:32<<10]))
	}
}

func bareProxy(tb testing.TB) http.Handler {
	up := mustURL(tb, "http://127.0.0.1:5000")
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.SetXForwarded()
		},
		Transport:  pageTransport{},
		BufferPool: new(bufferPool),
	}
}

// service is a reset.Service on the in-memory fakes, with one account.
func service(tb testing.TB) *reset.Service {
	tb.Helper()
	hashers, err := passhash.NewPolicy(passhash.Auto, "werkzeug", slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatalf("NewPolicy() = %v", err)
	}
	h, err := passhash.New("werkzeug")
	if err != nil {
		tb.Fatalf("passhash.New() = %v", err)
	}
	old, err := h.Hash("Old-password-1")
	if err != nil {
		tb.Fatalf("Hash() = %v", err)
	}
	store := resettest.NewMemStore()
	tb.Cleanup(func() { store.Close() })
	svc, err := reset.New(reset.Options{
		Languages: resettest.Languages(),
		Users:     resettest.NewUsers(reset.User{ID: "1", Email: "alice@example.com", Name: "Alice", PasswordHash: old}),
		Store:     store,
		Mailer:    resettest.NewMailer(),
		Hashers:   hashers,
		PublicURL: "https://app.example.com",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatalf("reset.New() = %v", err)
	}
	return svc
}

func mustWeb(tb testing.TB, svc *reset.Service, upstream http.Handler) *web.Handler {
	tb.Helper()
	h, err := web.New(web.Options{
		Service:     svc,
		PublicURL:   mustURL(tb, "https://app.example.com"),
		Upstream:    upstream,
		SessionKeys: [2][]byte{bytes.Repeat([]byte{1}, 64), bytes.Repeat([]byte{2}, 32)},
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatalf("web.New() = %v", err)
	}
	return h
}

// serve runs one request through h and fails the benchmark on an unexpected status.
func serve(b *testing.B, h http.Handler, r *http.Request, want int) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != want {
		b.Fatalf("%s %s = %d, want %d\n%s", r.Method, r.URL, rec.Code, want, rec.Body)
	}
}

// BenchmarkProxy compares one proxied GET of a 2 KiB page through resetgate's proxy, through
// resetgate's whole public handler (prefix dispatch, then the proxy), and through a bare
// ReverseProxy with a buffer pool: the difference is resetgate's own per-request work.
func BenchmarkProxy(b *testing.B) {
	cases := []struct {
		name string
		h    func(testing.TB) http.Handler
	}{
		{"bare", bareProxy},
		{"resetgate-proxy", func(tb testing.TB) http.Handler { return mustProxy(tb) }},
		{"resetgate-web", func(tb testing.TB) http.Handler { return mustWeb(tb, service(tb), mustProxy(tb)) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			h := c.h(b)
			r := browserGet("/reports/2024?page=3")
			w := newDiscard()
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkDispatch is the public handler's decision alone, for a legacy path: it must not
// allocate (SECURITY.md RQ-PRX-04 keeps it before any router).
func BenchmarkDispatch(b *testing.B) {
	h := mustWeb(b, service(b), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := browserGet("/reports/2024/q3/summary.html?page=3")
	w := newDiscard()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkPage renders each page under the prefix through the public handler (security
// headers, cross-origin check, router, template).
func BenchmarkPage(b *testing.B) {
	svc := service(b)
	h := mustWeb(b, svc, http.NotFoundHandler())
	link, _, err := svc.IssueLink(b.Context(), "alice@example.com", false)
	if err != nil {
		b.Fatalf("IssueLink() = %v", err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, browserGet(strings.TrimPrefix(link, "https://app.example.com")))
	if rec.Code != http.StatusSeeOther {
		b.Fatalf("GET link = %d, want 303", rec.Code)
	}
	session := rec.Result().Cookies()
	for _, c := range []struct {
		name, path string
		cookie     bool
	}{
		{"request", "/pwreset", false},
		{"sent", "/pwreset/sent", false},
		{"invalid", "/pwreset/invalid", false},
		{"done", "/pwreset/done", false},
		{"new", "/pwreset/new", true},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := browserGet(c.path)
			r.Header.Del("Cookie")
			if c.cookie {
				for _, ck := range session {
					r.AddCookie(ck)
				}
			}
			serve(b, h, r, http.StatusOK)
			b.ReportAllocs()
			for b.Loop() {
				w := newDiscard()
				h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkRequestPost is POST {prefix} through the public handler with the in-memory store:
// the form parsing, validation and queueing around the store calls (reset/bolt benchmarks
// the store itself).
func BenchmarkRequestPost(b *testing.B) {
	h := mustWeb(b, service(b), http.NotFoundHandler())
	body := "email=alice%40example.com"
	post := func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/pwreset", strings.NewReader(body))
		r.RemoteAddr = "192.0.2.7:51234"
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	serve(b, h, post(), http.StatusSeeOther)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(newDiscard(), post())
	}
}

// BenchmarkToken is a token's life outside the store: creation (crypto/rand, base64, the
// stored id), and the shape check and id derivation every link check does first.
func BenchmarkToken(b *testing.B) {
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			reset.NewToken()
		}
	})
	raw, _ := reset.NewToken()
	b.Run("check-shape-and-id", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !reset.ValidTokenShape(raw) {
				b.Fatal("ValidTokenShape(new token) = false")
			}
			reset.TokenID(raw)
		}
	})
}

// BenchmarkBoltToken is a token's save (one fsynced, group-committed write) and lookup (a
// read transaction) in the bbolt store.
func BenchmarkBoltToken(b *testing.B) {
	s, err := bolt.Open(filepath.Join(b.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		b.Fatalf("bolt.Open() = %v", err)
	}
	b.Cleanup(func() { s.Close() })
	now := time.Now()
	token := func() reset.Token {
		_, id := reset.NewToken()
		return reset.Token{ID: id, UserID: "1", Email: "alice@example.com", Fingerprint: reset.Fingerprint("h", "alice@example.com"), IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	b.Run("save", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.SaveToken(b.Context(), token()); err != nil {
				b.Fatalf("SaveToken() = %v", err)
			}
		}
	})
	t := token()
	if err := s.SaveToken(context.Background(), t); err != nil {
		b.Fatalf("SaveToken() = %v", err)
	}
	b.Run("lookup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Token(b.Context(), t.ID); err != nil {
				b.Fatalf("Token() = %v", err)
			}
		}
	})
}

// BenchmarkIssueLink is the worker's work for one existing account, minus the mail server:
// token, fingerprint, store write (in memory here) and the rendered text and HTML mail.
func BenchmarkIssueLink(b *testing.B) {
	svc := service(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := svc.IssueLink(b.Context(), "alice@example.com", false); err != nil {
			b.Fatalf("IssueLink() = %v", err)
		}
	}
}
