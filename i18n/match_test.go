package i18n

import (
	"net/http"
	"strings"
	"testing"
)

func TestMatchAcceptLanguage(t *testing.T) {
	c := mustLoad(t, Options{})
	tests := []struct{ header, want string }{
		{"", "en"},
		{"de", "de"},
		{"de-DE,de;q=0.9,en;q=0.8", "de"},
		{"en-GB,en;q=0.9", "en"},
		{"fr-CA;q=0.5, es;q=0.9", "es"},
		{"xx, de;q=0.1", "de"},
		{"pt-BR", "pt-BR"},
		{"pt-PT", "pt-PT"},
		{"pt", "pt-BR"},
		{"pt-AO", "pt-PT"},
		{"zh-CN", "zh-Hans"},
		{"zh-SG", "zh-Hans"},
		{"zh-TW", "zh-Hant"},
		{"zh-HK", "zh-Hant"},
		{"zh", "zh-Hans"},
		{"no", "nb"},
		{"nb-NO", "nb"},
		{"he-IL", "he"},
		{"iw", "he"},
		{"ar-EG", "ar"},
		{"ja-JP", "ja"},
		{"sr, hr;q=0.5", "en"},
		{"*", "en"},
		{";;;garbage", "en"},
		{"de;q=0", "en"},
		{"de;Q=0, fr", "fr"},
		{"de;x=1;q=0, fr", "fr"},
		{"fr;q=0.5, de;q=2", "fr"},
		{strings.Repeat("xx-bad-tag-that-is-long,", 40) + "de", "en"},
	}
	for _, tt := range tests {
		if got := c.Match(tt.header).Tag(); got != tt.want {
			t.Errorf("Match(%q) = %s, want %s", tt.header, got, tt.want)
		}
	}
}

func TestPickPrefersTheCookie(t *testing.T) {
	c := mustLoad(t, Options{})
	r, _ := http.NewRequest("GET", "/pwreset", nil)
	r.Header.Set("Accept-Language", "de")
	if got := c.Pick(r, false).Tag(); got != "de" {
		t.Errorf("no cookie: %s, want de", got)
	}
	r.AddCookie(&http.Cookie{Name: CookieName(false), Value: "ja"})
	if got := c.Pick(r, false).Tag(); got != "ja" {
		t.Errorf("cookie ja: %s, want ja", got)
	}
	// Over https only the __Host- cookie counts: the plain one could be planted over http.
	if got := c.Pick(r, true).Tag(); got != "de" {
		t.Errorf("https, plain cookie ja: %s, want de (Accept-Language)", got)
	}
	r.Header.Del("Cookie")
	r.AddCookie(&http.Cookie{Name: CookieName(true), Value: "ja"})
	if got := c.Pick(r, true).Tag(); got != "ja" {
		t.Errorf("https, __Host- cookie ja: %s, want ja", got)
	}
	r.Header.Del("Cookie")
	r.AddCookie(&http.Cookie{Name: CookieName(false), Value: "not-offered"})
	if got := c.Pick(r, false).Tag(); got != "de" {
		t.Errorf("cookie for no offered language: %s, want de (Accept-Language)", got)
	}
	// Only the offered languages are matched: fr is not one here.
	c = mustLoad(t, Options{Languages: []string{"en", "de"}})
	r.Header.Set("Accept-Language", "fr")
	if got := c.Pick(r, false).Tag(); got != "en" {
		t.Errorf("fr not offered: %s, want en", got)
	}
}

// Any header picks an offered language, never nil and never a panic.
func FuzzMatch(f *testing.F) {
	c, err := Load(Options{})
	if err != nil {
		f.Fatal(err)
	}
	for _, h := range []string{"", "de-DE,de;q=0.9", "*;q=0", "zh-Hant-TW;q=0.8, x-klingon", "en;q=abc", ",,;;"} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if l := c.Match(h); l == nil || c.Get(l.Tag()) != l {
			t.Fatalf("Match(%q) = %v, not an offered language", h, l)
		}
	})
}
