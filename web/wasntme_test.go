package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var wasntMePathRE = regexp.MustCompile(`/pwreset/wasnt-me/[A-Za-z0-9_-]+`)

// wasntMePath resets alice's password through the pages and returns the path of the "this
// wasn't me" link in the notice.
func (s *site) wasntMePath(t *testing.T) string {
	t.Helper()
	c := s.client(t)
	link := s.linkPath(t, c)
	s.do(t, c, "GET", link, "")
	if resp, body := s.do(t, c, "POST", "/pwreset/new", "password=cobalt+lantern+orchard&password2=cobalt+lantern+orchard"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /pwreset/new = %d:\n%s", resp.StatusCode, body)
	}
	s.drain()
	sent := s.mailer.Sent()
	p := wasntMePathRE.FindString(sent[len(sent)-1].Text)
	if p == "" {
		t.Fatalf("the notice has no this-wasn't-me link:\n%s", sent[len(sent)-1].Text)
	}
	return p
}

func TestWasntMePages(t *testing.T) {
	s := newSite(t, nil)
	c := s.client(t)
	path := s.wasntMePath(t)
	raw := strings.TrimPrefix(path, "/pwreset/wasnt-me/")
	form := "link=" + url.QueryEscape(raw)
	pending := s.linkPath(t, c) // a reset link still waiting, say the intruder's
	mails := len(s.mailer.Sent())

	tests := []struct {
		name, method, path, body string
		hdr                      []string
		wantStatus               int
		wantBody                 string
	}{
		{"opening shows what confirming does", "GET", path, "", nil, 200, `<input type="hidden" name="link" value="` + raw + `">`},
		{"HEAD", "HEAD", path, "", nil, 200, ""},
		{"opening again changes nothing", "GET", path, "", nil, 200, "Secure my account"},
		{"a forged link", "GET", path[:len(path)-3] + "AAA", "", nil, 200, "no longer valid"},
		{"an escaped spelling", "GET", "/pwreset/wasnt-me/%41", "", nil, 404, ""},
		{"cross-origin confirmation refused", "POST", "/pwreset/wasnt-me", form, []string{"Sec-Fetch-Site", "cross-site"}, 403, "Request refused"},
		{"no link field", "POST", "/pwreset/wasnt-me", "", nil, 400, "Open the link in the e-mail again"},
		{"two link fields", "POST", "/pwreset/wasnt-me", form + "&" + form, nil, 400, ""},
		{"forged link posted", "POST", "/pwreset/wasnt-me", "link=AAAA" + url.QueryEscape(raw[4:]), nil, 200, "no longer valid"},
		{"PUT", "PUT", "/pwreset/wasnt-me", "", nil, 405, ""},
		{"still confirmable after all that", "GET", path, "", nil, 200, "Secure my account"},
		{"confirm", "POST", "/pwreset/wasnt-me", form, nil, 200, "A fresh link to choose a new password is on its way"},
		{"confirm again", "POST", "/pwreset/wasnt-me", form, nil, 200, "This is already done"},
		{"open after confirming", "GET", path, "", nil, 200, "This is already done"},
	}
	confirmed := false
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := s.do(t, c, tt.method, tt.path, tt.body, tt.hdr...)
			confirmed = confirmed || tt.name == "confirm"
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s = %d, want %d\n%s", tt.method, tt.path, resp.StatusCode, tt.wantStatus, body)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body lacks %q:\n%s", tt.wantBody, body)
			}
			if resp.StatusCode < 300 && (resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer") {
				t.Errorf("security headers missing: %v", resp.Header)
			}
			if tt.method == "PUT" && resp.Header.Get("Allow") != "GET, HEAD, POST" {
				t.Errorf("Allow = %q, want GET, HEAD, POST", resp.Header.Get("Allow"))
			}
			if !confirmed {
				s.drain()
				if n := len(s.mailer.Sent()); n != mails {
					t.Errorf("%d mails sent before the confirmation, want none", n-mails)
				}
			}
		})
	}

	// The confirmation voided the waiting link and mailed a fresh one that works.
	if resp, _ := s.do(t, c, "GET", pending, ""); resp.Header.Get("Location") != "/pwreset/invalid" {
		t.Errorf("the pending link still opens (→ %q) after the confirmation", resp.Header.Get("Location"))
	}
	s.drain()
	sent := s.mailer.Sent()[mails:]
	if len(sent) != 1 || sent[0].Link == "" {
		t.Fatalf("mails after the confirmation = %d, want one fresh link", len(sent))
	}
	fresh, _ := url.Parse(sent[0].Link)
	if resp, _ := s.do(t, s.client(t), "GET", fresh.Path, ""); resp.Header.Get("Location") != "/pwreset/new" {
		t.Errorf("the fresh link → %q, want /pwreset/new", resp.Header.Get("Location"))
	}
}
