package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"resetgate/reset"
	"resetgate/web"
)

// BenchmarkPages renders each page through the whole handler (headers, CSRF guard, router,
// template), as a browser would fetch it.
func BenchmarkPages(b *testing.B) {
	s := newSite(b, nil)
	h := s.srv.Config.Handler
	for _, path := range []string{"/pwreset", "/pwreset/sent", "/pwreset/invalid", "/pwreset/done", "/pwreset/static/style.css"} {
		b.Run(strings.TrimPrefix(path, "/pwreset/"), func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest("GET", path, nil)
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s = %d", path, w.Code)
				}
			}
		})
	}
}

// BenchmarkRequestReset posts the request form: parse, validate, limits, enqueue, redirect
// (with the in-memory store; reset/bolt and reset/redis benchmark their own writes).
func BenchmarkRequestReset(b *testing.B) {
	s := newSite(b, func(ro *reset.Options, _ *web.Options) { ro.PerIP = reset.Rate{} })
	h := s.srv.Config.Handler
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/pwreset", strings.NewReader("email=someone%40example.com"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusSeeOther {
			b.Fatalf("POST = %d", w.Code)
		}
	}
}
