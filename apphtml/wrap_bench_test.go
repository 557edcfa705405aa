package apphtml_test

import (
	"context"
	"testing"
)

// BenchmarkWrapFrame: what wearing the app's look costs a reset page once the app's page has
// been fetched and cut (Refresh runs in the background, not per request): one copy of the
// frame's four parts around the page's title, head and content. No timing is asserted.
func BenchmarkWrapFrame(b *testing.B) {
	a := newApp(b, readFile(b, "wrap-app.html"))
	w := newWrapper(b, a, "/account/login", "main", nil)
	if err := w.Refresh(context.Background()); err != nil {
		b.Fatalf("Refresh = %v", err)
	}
	head, content := []byte(`<link rel="stylesheet" href="/pwreset/static/wrap.css">`), []byte(resetContent)
	b.ReportAllocs()
	for b.Loop() {
		if page, _, ok := w.Frame("Reset your password · <Example>", head, content); !ok || len(page) == 0 {
			b.Fatal("Frame: no frame after a successful refresh")
		}
	}
}
