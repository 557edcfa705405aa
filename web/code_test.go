package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"resetgate/reset"
	"resetgate/web"
)

var mailCode = regexp.MustCompile(`e-mail address: ([0-9A-Z]{4}-[0-9A-Z]{4})`)

// mailedCode asks for a link for alice in its own client and returns the code from the mail.
func (s *site) mailedCode(t *testing.T) string {
	t.Helper()
	s.linkPath(t, s.client(t))
	sent := s.mailer.Sent()
	m := mailCode.FindStringSubmatch(sent[len(sent)-1].Text)
	if m == nil {
		t.Fatalf("reset mail has no code:\n%s", sent[len(sent)-1].Text)
	}
	return m[1]
}

func codeForm(email, code string) string {
	return url.Values{"email": {email}, "code": {code}}.Encode()
}

func TestCodePages(t *testing.T) {
	tests := []struct {
		name, method, path string
		body               func(code string) string
		wantStatus         int
		wantLocation       string
		wantBody           string
	}{
		{"code form", "GET", "/pwreset/code", nil, 200, "", `autocomplete="one-time-code"`},
		{"sent page links to it", "GET", "/pwreset/sent", nil, 200, "", `href="/pwreset/code"`},
		{"right code, typed leniently", "POST", "/pwreset/code", func(c string) string {
			return codeForm("Alice@Example.com", strings.ToLower(strings.Replace(c, "-", " ", 1)))
		}, 303, "/pwreset/new", ""},
		{"wrong code", "POST", "/pwreset/code", func(string) string { return codeForm("alice@example.com", "ZZZZ-ZZZZ") }, 400, "", "That code does not work for this address"},
		{"unknown address", "POST", "/pwreset/code", func(c string) string { return codeForm("nobody@example.com", c) }, 400, "", "That code does not work for this address"},
		{"no code", "POST", "/pwreset/code", func(string) string { return codeForm("alice@example.com", "") }, 400, "", "Enter the code from the e-mail"},
		{"not an address", "POST", "/pwreset/code", func(c string) string { return codeForm("alice", c) }, 400, "", "such as name@example.com"},
		{"field twice", "POST", "/pwreset/code", func(c string) string { return codeForm("alice@example.com", c) + "&code=x" }, 400, "", "Enter your e-mail address and the code"},
		{"PUT", "PUT", "/pwreset/code", nil, 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSite(t, nil)
			code := s.mailedCode(t)
			body := ""
			if tt.body != nil {
				body = tt.body(code)
			}
			c := s.client(t) // another browser than the one that asked
			resp, got := s.do(t, c, tt.method, tt.path, body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s = %d, want %d\n%s", tt.method, tt.path, resp.StatusCode, tt.wantStatus, got)
			}
			if loc := resp.Header.Get("Location"); loc != tt.wantLocation {
				t.Errorf("Location = %q, want %q", loc, tt.wantLocation)
			}
			if !strings.Contains(got, tt.wantBody) {
				t.Errorf("body lacks %q:\n%s", tt.wantBody, got)
			}
			if resp.StatusCode == 400 && strings.Contains(got, code) {
				t.Errorf("the page echoes the code back")
			}
		})
	}
}

func TestCodeContinuesToNewPassword(t *testing.T) {
	s := newSite(t, nil)
	code := s.mailedCode(t)
	c := s.client(t)
	if resp, body := s.do(t, c, "POST", "/pwreset/code", codeForm("alice@example.com", code)); resp.StatusCode != 303 {
		t.Fatalf("POST /pwreset/code = %d\n%s", resp.StatusCode, body)
	}
	if resp, body := s.do(t, c, "GET", "/pwreset/new", ""); resp.StatusCode != 200 || !strings.Contains(body, "alice@example.com") {
		t.Fatalf("GET /pwreset/new = %d\n%s", resp.StatusCode, body)
	}
	resp, _ := s.do(t, c, "POST", "/pwreset/new", "password=correct+horse+battery&password2=correct+horse+battery")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/pwreset/done" {
		t.Fatalf("POST /pwreset/new = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := s.users.Hash("7"); got != "test$correct horse battery" {
		t.Errorf("stored hash = %q", got)
	}
	if resp, _ := s.do(t, s.client(t), "POST", "/pwreset/code", codeForm("alice@example.com", code)); resp.StatusCode != 400 {
		t.Errorf("code used again = %d, want 400", resp.StatusCode)
	}
}

func TestCodePageUnknownLooksIdentical(t *testing.T) {
	s := newSite(t, nil)
	s.mailedCode(t)
	_, known := s.do(t, s.client(t), "POST", "/pwreset/code", codeForm("alice@example.com", "ZZZZ-ZZZZ"))
	_, unknown := s.do(t, s.client(t), "POST", "/pwreset/code", codeForm("alicf@example.com", "ZZZZ-ZZZZ"))
	if strings.ReplaceAll(unknown, "alicf", "alice") != known {
		t.Errorf("the answers differ for a known and an unknown address:\n%s\n----\n%s", known, unknown)
	}
}

func TestCodeCrossOriginRefused(t *testing.T) {
	s := newSite(t, nil)
	code := s.mailedCode(t)
	resp, _ := s.do(t, s.client(t), "POST", "/pwreset/code", codeForm("alice@example.com", code), "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST /pwreset/code = %d, want 403", resp.StatusCode)
	}
}

func TestCodesOffHidesThePage(t *testing.T) {
	s := newSite(t, func(o *reset.Options, _ *web.Options) { o.NoCode = true })
	if resp, _ := s.do(t, s.client(t), "GET", "/pwreset/code", ""); resp.StatusCode != 404 {
		t.Errorf("GET /pwreset/code with codes off = %d, want 404", resp.StatusCode)
	}
	if _, body := s.do(t, s.client(t), "GET", "/pwreset/sent", ""); strings.Contains(body, "/pwreset/code") {
		t.Errorf("sent page links to the code page with codes off")
	}
}
