package web

import (
	"net/http/httptest"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		target string
		want   Route
	}{
		{"/", Upstream},
		{"/login", Upstream},
		{"/pwreset", Reset},
		{"/pwreset/", Reset},
		{"/pwreset/sent", Reset},
		{"/pwreset/static/style.css", Reset},
		{"/pwreset/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ", Reset},
		{"/pwreset?email=x", Reset},
		{"/pwresetx", Upstream},
		{"/pwreset-old", Upstream},
		{"/api/pwreset", Upstream},
		{"/files/a%20b.txt", Upstream},
		{"/a/../login", Upstream},
		{"//pwreset", Refused},
		{"//pwreset/new", Refused},
		{"/pwreset//new", Refused},
		{"/pwreset/../admin", Refused},
		{"/pwreset/./new", Refused},
		{"/pwreset/..", Refused},
		{"/PWRESET", Refused},
		{"/PwReset/new", Refused},
		{"/%2Fpwreset", Refused},
		{"/%70wreset", Refused},
		{"/%2570wreset", Refused},
		{"/pwreset%2Fnew", Refused},
		{"/x/../pwreset", Refused},
		{"/x/%2e%2e/pwreset", Refused},
		{`/x\..\pwreset`, Refused},
		{"/pwreset;jsessionid=1/new", Refused},
		{"/pwreset;x", Refused},
		{"/static/../pwreset/abc", Refused},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "http://example.com"+tt.target, nil)
		if got := Classify("/pwreset", r.URL.Path, r.URL.RawPath); got != tt.want {
			t.Errorf("Classify(%q) = %v, want %v (path %q, raw %q)", tt.target, got, tt.want, r.URL.Path, r.URL.RawPath)
		}
	}
}

func TestClassifyOtherPrefix(t *testing.T) {
	if got := Classify("/account/reset", "/account/reset/new", ""); got != Reset {
		t.Errorf("Classify(/account/reset/new) = %v, want reset", got)
	}
	if got := Classify("/account/reset", "/account/other", ""); got != Upstream {
		t.Errorf("Classify(/account/other) = %v, want upstream", got)
	}
	if got := Classify("/account/reset", "/account//reset", ""); got != Refused {
		t.Errorf("Classify(/account//reset) = %v, want refused", got)
	}
}

func TestClassifyAllocatesNothingForLegacyPaths(t *testing.T) {
	for _, p := range []string{"/", "/login", "/static/app.css", "/api/v1/users/42", "/pwreset/new"} {
		if n := testing.AllocsPerRun(100, func() { Classify("/pwreset", p, "") }); n != 0 {
			t.Errorf("Classify(%q) allocates %v times, want 0", p, n)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"/pwreset", "//pwreset", "/%70wreset", "/a/../pwreset/x", `/pwreset\x`, "pwreset", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got := Classify("/pwreset", p, "")
		// Whatever the spelling, nothing that normalises into the reset area may go upstream.
		if got == Upstream && underPrefix(normalize(p), "/pwreset") {
			t.Errorf("Classify(%q) = upstream, but it normalises to %q", p, normalize(p))
		}
		if got == Reset && !canonical(p) {
			t.Errorf("Classify(%q) = reset for a non-canonical path", p)
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Classify("/pwreset", "/static/js/app.9f8e7d.js", "")
	}
}
