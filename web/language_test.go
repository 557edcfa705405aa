package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"resetgate/i18n"
	"resetgate/reset"
	"resetgate/reset/resettest"
	"resetgate/web"
)

func catalogue(t *testing.T) *i18n.Catalog {
	t.Helper()
	c, err := i18n.Load(i18n.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Pages follow the browser's Accept-Language, say which language they are in, and tell
// caches that they vary by it.
func TestPagesFollowAcceptLanguage(t *testing.T) {
	s := newSite(t, nil)
	c := catalogue(t)
	for _, tt := range []struct{ header, tag, dir string }{
		{"de-DE,de;q=0.9,en;q=0.8", "de", "ltr"}, {"ar-EG", "ar", "rtl"}, {"zh-TW", "zh-Hant", "ltr"}, {"", "en", "ltr"}, {"tlh", "en", "ltr"},
	} {
		resp, body := s.do(t, s.client(t), "GET", "/pwreset", "", "Accept-Language", tt.header)
		if !strings.Contains(body, `<html lang="`+tt.tag+`" dir="`+tt.dir+`">`) {
			t.Errorf("Accept-Language %q: want <html lang=%q dir=%q>:\n%.300s", tt.header, tt.tag, tt.dir, body)
		}
		if want := c.Get(tt.tag).Text("request.submit"); !strings.Contains(body, want) {
			t.Errorf("Accept-Language %q: the button is not %q", tt.header, want)
		}
		if got := resp.Header.Get("Content-Language"); got != tt.tag {
			t.Errorf("Accept-Language %q: Content-Language = %q", tt.header, got)
		}
		if v := resp.Header.Get("Vary"); !strings.Contains(v, "Accept-Language") {
			t.Errorf("Vary = %q", v)
		}
	}
}

// The switcher is plain links: following one remembers the language in a cookie and comes
// back to the same page, which is then in that language whatever the browser asks for.
func TestLanguageSwitcher(t *testing.T) {
	s := newSite(t, nil)
	cl := s.client(t)
	_, body := s.do(t, cl, "GET", "/pwreset/code", "", "Accept-Language", "en")
	if !strings.Contains(body, `<a href="/pwreset/code?lang=he" hreflang="he" lang="he">עברית</a>`) {
		t.Fatalf("no link to Hebrew in the switcher:\n%s", body)
	}
	resp, _ := s.do(t, cl, "GET", "/pwreset/code?lang=he", "", "Accept-Language", "en")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/pwreset/code" {
		t.Fatalf("switch = %d → %q, want 303 → /pwreset/code", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == i18n.CookieName(false) {
			cookie = ck
		}
	}
	if cookie == nil || cookie.Value != "he" || cookie.Path != "/" || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.MaxAge < 86400 {
		t.Fatalf("language cookie = %+v", cookie)
	}
	_, body = s.do(t, cl, "GET", "/pwreset/code", "", "Accept-Language", "de")
	if !strings.Contains(body, `<html lang="he" dir="rtl">`) || !strings.Contains(body, `aria-current="true">עברית</a>`) {
		t.Errorf("after switching, the page is not in Hebrew:\n%.400s", body)
	}
	// A language not offered changes nothing; other query parameters survive.
	resp, _ = s.do(t, cl, "GET", "/pwreset/code?lang=xx&a=1", "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/pwreset/code?a=1" || len(resp.Cookies()) != 0 {
		t.Errorf("unknown language = %d → %q, cookies %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	// With one language offered there is nothing to switch.
	one := newSite(t, func(_ *reset.Options, o *web.Options) {
		c, err := i18n.Load(i18n.Options{Languages: []string{"fr"}, Default: "fr"})
		if err != nil {
			t.Fatal(err)
		}
		o.Languages = c
	})
	_, body = one.do(t, one.client(t), "GET", "/pwreset", "", "Accept-Language", "de")
	if strings.Contains(body, "hreflang") || !strings.Contains(body, `<html lang="fr"`) {
		t.Errorf("one language offered:\n%.400s", body)
	}
}

// A reset mail is in the language of the page it was asked on, the notice in that of the
// page the password was set on, each with its Content-Language; the account's own language
// wins over both.
func TestMailsInThePagesLanguage(t *testing.T) {
	s := newSite(t, nil)
	c := catalogue(t)
	cl := s.client(t)
	resp, _ := s.do(t, cl, "POST", "/pwreset", "email=alice%40example.com", "Accept-Language", "fr-FR")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST = %d", resp.StatusCode)
	}
	s.drain()
	sent := s.mailer.Sent()
	if len(sent) != 1 || sent[0].Language != "fr" || sent[0].Subject != c.Get("fr").Text("mail.reset.subject", "site", "127.0.0.1") {
		t.Fatalf("reset mail: %d sent, language %q, subject %q", len(sent), sent[0].Language, sent[0].Subject)
	}
	link, _ := url.Parse(sent[0].Link)
	s.do(t, cl, "GET", link.Path, "")
	resp, _ = s.do(t, cl, "POST", "/pwreset/new", "password=long+enough+secret&password2=long+enough+secret", "Accept-Language", "ja")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST new = %d", resp.StatusCode)
	}
	s.drain()
	sent = s.mailer.Sent()
	if len(sent) != 2 || sent[1].Language != "ja" || !strings.Contains(sent[1].Text, c.Get("ja").Text("mail.changed.was_you")) {
		t.Fatalf("notice: %d sent, language %q:\n%s", len(sent), sent[len(sent)-1].Language, sent[len(sent)-1].Text)
	}

	s2 := newSite(t, func(o *reset.Options, _ *web.Options) {
		o.Users = resettest.NewUsers(reset.User{ID: "7", Email: "alice@example.com", PasswordHash: "test$old", Language: "pt_BR"})
	})
	s2.do(t, s2.client(t), "POST", "/pwreset", "email=alice%40example.com", "Accept-Language", "de")
	s2.drain()
	if sent := s2.mailer.Sent(); len(sent) != 1 || sent[0].Language != "pt-BR" {
		t.Errorf("account in pt_BR, page in de: %d mails, %v", len(sent), sent)
	}
}

// Static files are the same in every language: caches keep one copy.
func TestStaticFilesDoNotVaryByLanguage(t *testing.T) {
	s := newSite(t, nil)
	resp, _ := s.do(t, s.client(t), "GET", "/pwreset/static/style.css", "", "Accept-Language", "de")
	if v := resp.Header.Get("Vary"); v != "" || resp.Header.Get("Content-Language") != "" {
		t.Errorf("static file: Vary %q, Content-Language %q", v, resp.Header.Get("Content-Language"))
	}
}

// A refused spelling of a reset path never becomes a redirect off the site through ?lang=,
// and its page offers no switcher whose links would (SECURITY.md RQ-RST-06).
func TestLanguageSwitchIsNoOpenRedirect(t *testing.T) {
	s := newSite(t, nil)
	for _, path := range []string{"//evil.example/%252e%252e/pwreset?lang=de", "/pwreset//evil.example?lang=de", "/x/../pwreset?lang=de"} {
		resp, body := s.do(t, s.client(t), "GET", path, "")
		if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, "//") || strings.Contains(loc, "evil") {
			t.Errorf("GET %s: Location %q", path, loc)
		}
		if strings.Contains(body, "hreflang") {
			t.Errorf("GET %s: the refused page has a switcher", path)
		}
	}
	// Vary names both things the language comes from.
	resp, _ := s.do(t, s.client(t), "GET", "/pwreset", "")
	if v := resp.Header.Get("Vary"); !strings.Contains(v, "Accept-Language") || !strings.Contains(v, "Cookie") {
		t.Errorf("Vary = %q", v)
	}
}
