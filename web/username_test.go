package web_test

import (
	"strings"
	"testing"

	"resetgate/reset"
	"resetgate/web"
)

// With usernames on, the request form asks for either, and a username reaches the stored
// address; with them off, the form and its problems speak of addresses only.
func TestRequestFormUsernames(t *testing.T) {
	s := newSite(t, func(o *reset.Options, _ *web.Options) { o.Usernames = true })
	s.users.SetUsername("7", "alice")
	_, page := s.do(t, s.client(t), "GET", "/pwreset", "")
	if !strings.Contains(page, "Username or e-mail address") || !strings.Contains(page, `autocomplete="username"`) || strings.Contains(page, `type="email"`) {
		t.Errorf("the request form with usernames on does not ask for a username:\n%s", page)
	}
	resp, body := s.do(t, s.client(t), "POST", "/pwreset", "email=ALICE")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/pwreset/sent" {
		t.Fatalf("POST /pwreset email=ALICE = %d %s, want 303 to /pwreset/sent\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	s.drain()
	if sent := s.mailer.Sent(); len(sent) != 1 || sent[0].To != "alice@example.com" {
		t.Errorf("mail for the username = %+v, want one to the stored address", sent)
	}
	resp, body = s.do(t, s.client(t), "POST", "/pwreset", "email=a%40%40b")
	if resp.StatusCode != 400 || !strings.Contains(body, "Enter your username, or an e-mail address") {
		t.Errorf("POST /pwreset with neither = %d:\n%s", resp.StatusCode, body)
	}

	plain := newSite(t, nil)
	if _, page := plain.do(t, plain.client(t), "GET", "/pwreset", ""); strings.Contains(page, "Username") || !strings.Contains(page, `type="email"`) {
		t.Errorf("the request form with usernames off mentions usernames:\n%s", page)
	}
}
