package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"resetgate/proxy"
	"resetgate/reset/resettest"
	"resetgate/tracking"
)

// BenchmarkTrackedProxy runs, in one run, resetgate's proxy alone and the same proxy behind
// session tracking (as main wires it), for a request without the app's session cookie and
// for one with it (a keyed hash and a lookup among 10,000 revoked values). The upstream is
// in-process and answers at once, so the differences are the tracker's. No timing is
// asserted: compare the ns/op of the three.
func BenchmarkTrackedProxy(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<p>legacy app page</p>")
	}))
	b.Cleanup(up.Close)
	upURL, _ := url.Parse(up.URL)
	public, _ := url.Parse("https://app.example.com")
	p, err := proxy.New(proxy.Options{Upstream: upURL, PublicURL: public})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	store := resettest.NewMemStore()
	now := time.Now()
	for i := range 10000 {
		key := string(rune('a'+i%26)) + string(rune(i))
		store.BindSession(b.Context(), key, "u", now.Add(time.Hour))
	}
	store.RevokeSessions(b.Context(), "u", now, now.Add(time.Hour))
	tr, err := tracking.New(tracking.Options{LoginPath: "/login", Cookies: []string{"session"},
		Secret: bytes.Repeat([]byte("k"), 32), Users: resettest.NewUsers(), Store: store})
	if err != nil {
		b.Fatal(err)
	}
	if err := tr.Poll(b.Context()); err != nil {
		b.Fatal(err)
	}
	tracked := tr.Wrap(p)
	const session = "theme=dark; session=eyJ1c2VyX2lkIjoxfQ.Zz9xYw.abcdefghijklmnopqrstuvwxyz"
	for _, bc := range []struct {
		name, cookie string
		h            http.Handler
	}{
		{"plain proxy", session, p},
		{"tracked, no session cookie", "theme=dark; lang=en", tracked},
		{"tracked, session cookie", session, tracked},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", "https://app.example.com/page", nil)
				req.Header.Set("Cookie", bc.cookie)
				w := httptest.NewRecorder()
				bc.h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
