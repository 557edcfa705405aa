package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestWrapModeServe is [ui] wrap_path through the real binary: the reset pages wear the app's
// page as fetched anonymously (the public Host, no cookie), with the CSP allowing its inline
// style by hash, and SIGHUP fetches it again.
func TestWrapModeServe(t *testing.T) {
	var version atomic.Int32
	version.Store(1)
	var fetched atomic.Pointer[http.Request]
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/login" {
			http.NotFound(w, r)
			return
		}
		fetched.Store(r)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Sign in</title><style>p{}</style><script>evil()</script></head>`+
			`<body><header class="top">App header v%d</header><main><form action="/login"><input name="password" type="password"></form></main>`+
			`<footer>App footer</footer></body></html>`, version.Load())
	}))
	t.Cleanup(app.Close)
	users := sqliteUsers(t, "old-password-1")
	p := startProcess(t, writeConfig(t, users, app.URL, "[ui]\nwrap_path = \"/login\"\n"))
	p.log.waitLog(t, "wrap: the reset pages wear the app's page", 1)
	b := newBrowser(t, p.base)

	resp, body := b.do("GET", "/pwreset", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "App header v1") || !strings.Contains(body, "App footer") ||
		!strings.Contains(body, `<main><div class="resetgate-page" lang="en" dir="ltr">`) || strings.Contains(body, "evil()") || strings.Contains(body, `action="/login"`) {
		t.Fatalf("GET /pwreset = %d:\n%s", resp.StatusCode, body)
	}
	// printf 'p{}' | openssl dgst -sha256 -binary | base64
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self' 'sha256-gG2yISYereRMiG2lMXrbiUgi0Ubw9p7QCeWcroOvy9Y='; img-src 'self';") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if r := fetched.Load(); r.Host != "app.example" || r.Header.Get("Cookie") != "" || r.Header.Get("X-Forwarded-Proto") != "https" {
		t.Errorf("the app was asked with Host %q, Cookie %q, X-Forwarded-Proto %q", r.Host, r.Header.Get("Cookie"), r.Header.Get("X-Forwarded-Proto"))
	}

	version.Store(2)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.log.waitLog(t, "reload: page templates reloaded", 1)
	for i := 0; ; i++ {
		if _, body = b.do("GET", "/pwreset", ""); strings.Contains(body, "App header v2") {
			break
		}
		if i == 500 {
			t.Fatalf("after SIGHUP the page still wears the old copy:\n%s", body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
