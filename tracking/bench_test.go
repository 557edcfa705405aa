package tracking

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"resetgate/reset/resettest"
)

// BenchmarkProxyPath compares, in one run, a handler alone (the plain proxy's place), the
// same behind the tracker for a request without a tracked cookie, and with one (a keyed
// hash and a lookup in the revoked set). No timing is asserted: read the ns/op side by side.
func BenchmarkProxyPath(b *testing.B) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	tr, err := New(Options{LoginPath: "/login", Cookies: []string{"session"}, Secret: bytes.Repeat([]byte("k"), 32),
		Users: resettest.NewUsers(), Store: resettest.NewMemStore()})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10000 { // a realistic revoked set
		tr.revoked[tr.key("session", string(rune(i)))] = time.Now().Add(time.Hour)
	}
	wrapped := tr.Wrap(app)
	for _, bc := range []struct {
		name   string
		h      http.Handler
		cookie string
	}{
		{"plain", app, "theme=dark; session=eyJ1c2VyX2lkIjoxfQ.Zz9xYw.abcdefghijklmnopqrstuvwxyz"},
		{"tracked/no session cookie", wrapped, "theme=dark; lang=en"},
		{"tracked/session cookie", wrapped, "theme=dark; session=eyJ1c2VyX2lkIjoxfQ.Zz9xYw.abcdefghijklmnopqrstuvwxyz"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/page", nil)
			req.Header.Set("Cookie", bc.cookie)
			b.ReportAllocs()
			for b.Loop() {
				bc.h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
