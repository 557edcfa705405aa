package apphtml_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "resetgate/apphtml"
)

// app serves one page as the legacy app, counting fetches and recording their headers.
type app struct {
	srv     *httptest.Server
	page    atomic.Pointer[[]byte]
	ctype   atomic.Pointer[string]
	status  atomic.Int32
	fetches atomic.Int32
	last    atomic.Pointer[http.Request]
}

func newApp(t testing.TB, page []byte) *app {
	t.Helper()
	a := &app{}
	a.set(page, "text/html; charset=utf-8", http.StatusOK)
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.fetches.Add(1)
		a.last.Store(r)
		w.Header().Set("Content-Type", *a.ctype.Load())
		if a.status.Load() == http.StatusFound {
			w.Header().Set("Location", "/login?next=/account/")
		}
		w.WriteHeader(int(a.status.Load()))
		w.Write(*a.page.Load())
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) set(page []byte, ctype string, status int) {
	a.page.Store(&page)
	a.ctype.Store(&ctype)
	a.status.Store(int32(status))
}

// logs counts the warnings a wrapper logs.
type logs struct{ warn, info atomic.Int32 }

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn {
		l.warn.Add(1)
	} else if r.Level == slog.LevelInfo {
		l.info.Add(1)
	}
	return nil
}
func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

func newWrapper(t testing.TB, a *app, path, selector string, l *logs) *Wrapper {
	t.Helper()
	u, _ := url.Parse(a.srv.URL + path)
	o := WrapOptions{URL: u, Host: "app.example.com", Header: http.Header{"X-Forwarded-Proto": {"https"}}, Selector: selector}
	if l != nil {
		o.Logger = slog.New(l)
	}
	w, err := NewWrapper(o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

const resetContent = `<div class="resetgate-page"><h1>Forgot your password?</h1><form method="post" action="/pwreset"><input name="email"></form></div>`

func TestWrapGolden(t *testing.T) {
	a := newApp(t, readFile(t, "wrap-app.html"))
	w := newWrapper(t, a, "/account/login", "main", nil)
	if err := w.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh = %v", err)
	}
	page, styles, ok := w.Frame("Reset your password · <Example>", []byte(`<link rel="stylesheet" href="/pwreset/static/wrap.css">`), []byte(resetContent))
	if !ok {
		t.Fatal("Frame: no frame after a successful refresh")
	}
	golden(t, "wrap-app.golden", page)
	if len(styles) != 1 {
		t.Errorf("style sources = %q, want one, for the one <style>", styles)
	}
	r := a.last.Load()
	if r.Host != "app.example.com" || r.Header.Get("Cookie") != "" || r.Header.Get("X-Forwarded-Proto") != "https" {
		t.Errorf("fetch: Host %q, Cookie %q, X-Forwarded-Proto %q; want the public host, no cookie, https", r.Host, r.Header.Get("Cookie"), r.Header.Get("X-Forwarded-Proto"))
	}
	// What must never reach a reset page (SECURITY.md RQ-HTM-01), and what must.
	rest := strings.Replace(string(page), resetContent, "", 1)
	for _, bad := range []string{"<script", "onload", "onerror", "onclick", "javascript:", "<form", "<input", "<button", "<iframe",
		"<object", "<embed", "<noscript", "http-equiv", "referrer", "<base", "preload", "manifest", "<template", "srcset",
		"style=", "<!--", "<animate", "foreignObject", "evil.example"} {
		if strings.Contains(rest, bad) {
			t.Errorf("the worn page keeps %q", bad)
		}
	}
	for _, good := range []string{`<header class="top">`, `<footer class="bottom">`, `<nav>`, `href="/account/static/app.css"`,
		`src="/account/img/logo.png"`, `href="/account/help"`, `href="/privacy"`, `href="https://docs.example.com/"`,
		`href="mailto:help@example.com"`, `<style>body { font-family: Georgia, serif; }</style>`,
		`<title>Reset your password · &lt;Example&gt;</title>`, `<main id="content" class="container">` + resetContent + `</main>`} {
		if !strings.Contains(string(page), good) {
			t.Errorf("the worn page lacks %q", good)
		}
	}
}

func TestWrapStyleHash(t *testing.T) {
	// The hash a browser computes over the element's text: SHA-256 of exactly "p{}"
	// (printf 'p{}' | openssl dgst -sha256 -binary | base64).
	a := newApp(t, []byte("<!doctype html><head><style>p{}</style></head><main>x</main>"))
	w := newWrapper(t, a, "/", "", nil)
	if err := w.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, styles, _ := w.Frame("t", nil, nil)
	if len(styles) != 1 || styles[0] != "'sha256-gG2yISYereRMiG2lMXrbiUgi0Ubw9p7QCeWcroOvy9Y='" {
		t.Errorf("styles = %q", styles)
	}
}

func TestWrapFallsBackToPlainPages(t *testing.T) {
	big := append([]byte("<!doctype html><main>"), bytes.Repeat([]byte("x"), DefaultMaxBytes)...)
	for _, c := range []struct {
		name, path, selector string
		page                 []byte
		ctype                string
		status               int
		want                 error
	}{
		{"selector not found", "/", "#nothing", readFile(t, "wrap-app.html"), "text/html", 200, ErrNoSelected},
		{"default selector, no main", "/", "", []byte("<!doctype html><title>x</title><div>no main</div>"), "text/html", 200, ErrNoSelected},
		{"selector picks the head", "/", "head", readFile(t, "wrap-app.html"), "text/html", 200, ErrNoSelected},
		{"huge page", "/", "main", big, "text/html", 200, ErrTooLarge},
		{"not HTML", "/", "main", []byte(`{"page":"<main></main>"}`), "application/json", 200, ErrNotHTML},
		{"no content type", "/", "main", []byte(`<main></main>`), "", 200, ErrNotHTML},
		{"other charset", "/", "main", []byte(`<main></main>`), "text/html; charset=iso-8859-1", 200, ErrNotUTF8},
		{"not UTF-8", "/", "main", []byte("<main>\xff\xfe</main>"), "text/html", 200, ErrNotUTF8},
		{"sign-in required", "/", "main", nil, "text/html", http.StatusFound, ErrBadStatus},
		{"app error", "/", "main", []byte("<main>oops</main>"), "text/html", 500, ErrBadStatus},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A page that worked before does not linger once the app's answer is unusable.
			a := newApp(t, []byte("<!doctype html><main id=nothing>ok</main>"))
			w := newWrapper(t, a, c.path, c.selector, nil)
			w.Refresh(context.Background())
			a.set(c.page, c.ctype, c.status)
			if err := w.Refresh(context.Background()); !errors.Is(err, c.want) {
				t.Errorf("Refresh = %v, want %v", err, c.want)
			}
			if _, _, ok := w.Frame("t", nil, nil); ok {
				t.Error("Frame: ok after a failed refresh, want the plain pages")
			}
		})
	}
}

func TestWrapAppDown(t *testing.T) {
	a := newApp(t, []byte("<!doctype html><main>ok</main>"))
	var l logs
	w := newWrapper(t, a, "/", "", &l)
	a.srv.Close()
	for range 3 {
		if err := w.Refresh(context.Background()); err == nil {
			t.Fatal("Refresh = nil with the app down")
		}
	}
	if _, _, ok := w.Frame("t", nil, nil); ok {
		t.Error("Frame: ok with the app down")
	}
	if n := l.warn.Load(); n != 1 {
		t.Errorf("%d warnings for three failed fetches, want 1", n)
	}

	// Back up, on the same address.
	ln, err := net.Listen("tcp", a.srv.Listener.Addr().String())
	if err != nil {
		t.Skipf("cannot listen on the closed server's address again: %v", err)
	}
	b := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<!doctype html><main>ok</main>")
	}))
	b.Listener.Close()
	b.Listener = ln
	b.Start()
	defer b.Close()
	if err := w.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh = %v with the app back", err)
	}
	if _, _, ok := w.Frame("t", nil, nil); !ok || l.info.Load() != 1 {
		t.Errorf("Frame ok = %v, recovery logged %d times; want a frame and one record", ok, l.info.Load())
	}
}

func TestWrapRunRefreshesOnKick(t *testing.T) {
	a := newApp(t, []byte("<!doctype html><main>one</main><footer>v1</footer>"))
	w := newWrapper(t, a, "/", "", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, func() bool { _, _, ok := w.Frame("t", nil, nil); return ok })
	a.set([]byte("<!doctype html><main>two</main><footer>v2</footer>"), "text/html", 200)
	w.Kick()
	waitFor(t, func() bool { p, _, _ := w.Frame("t", nil, nil); return bytes.Contains(p, []byte("v2")) })
}

// waitFor polls cond until it holds; the test's own deadline bounds it (no timed assertion).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		if t.Context().Err() != nil {
			t.Fatal("gave up waiting")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWrapperOptions(t *testing.T) {
	if _, err := NewWrapper(WrapOptions{URL: &url.URL{Path: "/login"}}); err == nil {
		t.Error("NewWrapper accepted a relative URL")
	}
	u, _ := url.Parse("http://127.0.0.1:1/")
	if _, err := NewWrapper(WrapOptions{URL: u, Selector: "main["}); err == nil {
		t.Error("NewWrapper accepted a broken selector")
	}
	if err := CheckSelector("div >"); err == nil {
		t.Error("CheckSelector accepted a broken selector")
	}
}
