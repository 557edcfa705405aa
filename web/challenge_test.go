package web_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"resetgate/challenge"
	"resetgate/reset"
	"resetgate/web"
)

// challengeSite is a site whose request form asks for a proof of work always.
func challengeSite(t *testing.T) *site {
	t.Helper()
	return newSite(t, func(ro *reset.Options, wo *web.Options) {
		p, err := challenge.NewPoW(challenge.PoWOptions{Key: make([]byte, 32), MaxNumber: 5000, Uses: ro.Store})
		if err != nil {
			t.Fatal(err)
		}
		if wo.Challenge, err = challenge.New(challenge.Options{Mode: challenge.Always, PoW: p}); err != nil {
			t.Fatal(err)
		}
	})
}

var powRe = regexp.MustCompile(`data-pow="([^"]+)"`)

// solveForm reads the challenge off a rendered request form and solves it.
func solveForm(t *testing.T, body string) string {
	t.Helper()
	m := powRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no proof-of-work challenge on the form:\n%s", body)
	}
	var c challenge.Challenge
	if err := jsonUnmarshal(html.UnescapeString(m[1]), &c); err != nil {
		t.Fatal(err)
	}
	s, err := challenge.Solve(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestChallengeOnRequestForm(t *testing.T) {
	s := challengeSite(t)
	c := s.client(t)
	resp, body := s.do(t, c, "GET", "/pwreset", "")
	if resp.StatusCode != http.StatusOK || !powRe.MatchString(body) || !strings.Contains(body, "<noscript>") || !strings.Contains(body, "/pwreset/static/pow.js?v=") {
		t.Fatalf("GET /pwreset = %d without the challenge, its script or a <noscript> note:\n%s", resp.StatusCode, body)
	}
	checkSecurityHeaders(t, resp)

	// Without a solution (no JavaScript, or a script): the form again, saying what to do, and
	// nothing queued, for a known and an unknown address alike.
	var first string
	for _, email := range []string{"alice@example.com", "nobody@example.com"} {
		resp, body = s.do(t, c, "POST", "/pwreset", "email="+url.QueryEscape(email))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Turn JavaScript on") {
			t.Fatalf("POST %s without a solution = %d, want 400 and what to do:\n%s", email, resp.StatusCode, body)
		}
		page := powRe.ReplaceAllString(strings.ReplaceAll(body, url.QueryEscape(email), ""), "")
		page = strings.ReplaceAll(page, html.EscapeString(email), "")
		if first == "" {
			first = page
		} else if page != first {
			t.Errorf("the refusal differs for a known and an unknown address")
		}
	}
	resp, body = s.do(t, c, "POST", "/pwreset", "email=alice%40example.com&altcha=bm9wZQ%3D%3D")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "did not finish") {
		t.Errorf("POST with a wrong solution = %d, want 400 and a retry note:\n%s", resp.StatusCode, body)
	}
	s.drain()
	if n := len(s.mailer.Sent()); n != 0 {
		t.Fatalf("%d mails sent for unsolved requests, want 0", n)
	}

	// Solved: the usual answer, for known and unknown addresses alike; the solution works once.
	for _, email := range []string{"alice@example.com", "nobody@example.com"} {
		_, form := s.do(t, c, "GET", "/pwreset", "")
		sol := solveForm(t, form)
		body := "email=" + url.QueryEscape(email) + "&altcha=" + url.QueryEscape(sol)
		resp, _ = s.do(t, c, "POST", "/pwreset", body)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/pwreset/sent" {
			t.Fatalf("POST %s with a solution = %d → %q, want 303 → /pwreset/sent", email, resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, _ = s.do(t, c, "POST", "/pwreset", body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s with a used solution = %d, want 400", email, resp.StatusCode)
		}
	}
	s.drain()
	if sent := s.mailer.Sent(); len(sent) != 1 || sent[0].To != "alice@example.com" {
		t.Errorf("mails = %+v, want one to alice", sent)
	}
}

func TestChallengeOffLeavesTheFormAlone(t *testing.T) {
	s := newSite(t, nil)
	_, body := s.do(t, s.client(t), "GET", "/pwreset", "")
	if strings.Contains(body, "data-pow") || strings.Contains(body, "<noscript>") {
		t.Errorf("the form carries a challenge with none configured:\n%s", body)
	}
}

// captchaSite shows Turnstile, checked against fake (a siteverify stand-in).
func captchaSite(t *testing.T, fake *httptest.Server) *site {
	t.Helper()
	return newSite(t, func(ro *reset.Options, wo *web.Options) {
		c, err := challenge.NewCaptcha(challenge.CaptchaOptions{Provider: "turnstile", SiteKey: "0xSITE", Secret: "0xSECRET", VerifyURL: fake.URL, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if wo.Challenge, err = challenge.New(challenge.Options{Mode: challenge.Always, Captcha: c}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCaptchaOnRequestForm(t *testing.T) {
	up := true
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("secret") == "0xSECRET" && r.PostForm.Get("response") == "tok-ok" {
			io.WriteString(w, `{"success":true,"error-codes":[]}`)
			return
		}
		io.WriteString(w, `{"success":false,"error-codes":["invalid-input-response"]}`)
	}))
	t.Cleanup(fake.Close)
	s := captchaSite(t, fake)
	c := s.client(t)
	resp, body := s.do(t, c, "GET", "/pwreset", "")
	if !strings.Contains(body, `class="field cf-turnstile" data-sitekey="0xSITE"`) || !strings.Contains(body, "https://challenges.cloudflare.com/turnstile/v0/api.js") {
		t.Fatalf("the form shows no Turnstile widget:\n%s", body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self' https://challenges.cloudflare.com") || !strings.Contains(csp, "frame-src https://challenges.cloudflare.com") {
		t.Errorf("the form's CSP does not allow the widget: %q", csp)
	}
	if resp, _ := s.do(t, c, "GET", "/pwreset/sent", ""); strings.Contains(resp.Header.Get("Content-Security-Policy"), "cloudflare") {
		t.Error("a page without the widget allows its origins")
	}
	for _, tc := range []struct {
		name, token string
		up          bool
		status      int
		text        string
	}{
		{"no token", "", true, http.StatusBadRequest, "complete the check"},
		{"refused token", "tok-bad", true, http.StatusBadRequest, "complete the check"},
		{"provider down", "tok-ok", false, http.StatusServiceUnavailable, "try again in a minute"},
		{"good token", "tok-ok", true, http.StatusSeeOther, ""},
	} {
		up = tc.up
		form := "email=alice%40example.com"
		if tc.token != "" {
			form += "&cf-turnstile-response=" + tc.token
		}
		resp, body := s.do(t, c, "POST", "/pwreset", form)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.text) {
			t.Errorf("%s: POST = %d, want %d with %q:\n%s", tc.name, resp.StatusCode, tc.status, tc.text, body)
		}
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// Each provider's widget is on the form with its script, and its origins are in the form's
// CSP only.
func TestCaptchaWidgets(t *testing.T) {
	for name, p := range challenge.Providers {
		s := newSite(t, func(ro *reset.Options, wo *web.Options) {
			c, err := challenge.NewCaptcha(challenge.CaptchaOptions{Provider: name, SiteKey: "KEY", Secret: "S"})
			if err != nil {
				t.Fatal(err)
			}
			if wo.Challenge, err = challenge.New(challenge.Options{Mode: challenge.Always, Captcha: c}); err != nil {
				t.Fatal(err)
			}
		})
		resp, body := s.do(t, s.client(t), "GET", "/pwreset", "")
		script := `<script src="` + p.Script + `"`
		if p.Module {
			script += ` type="module"`
		}
		if !strings.Contains(body, `class="field `+p.Class+`" data-sitekey="KEY"`) || !strings.Contains(body, script) {
			t.Errorf("%s: the form lacks the widget or %s:\n%s", name, script, body)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for d, src := range p.CSP {
			if !strings.Contains(csp, d+" ") || !strings.Contains(csp, src) {
				t.Errorf("%s: CSP %q lacks %s %s", name, csp, d, src)
			}
		}
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q lost the base policy", name, csp)
		}
	}
}
