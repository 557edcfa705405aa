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

// What a user reads when the request form is refused: each problem in its own words
// (issue 19), on the form again with status 400.
func TestRequestFormProblems(t *testing.T) {
	s := newSite(t, nil)
	long := strings.Repeat("a", 300-len("@example.com")) + "@example.com"
	tests := []struct {
		name, body, wantProblem, notProblem string
	}{
		{"200 KB body", "email=" + strings.Repeat("a", 200<<10), "That request was too large", "Enter one e-mail address"},
		{"body just over the cap", "email=" + strings.Repeat("a", web.MaxBodyBytes), "That request was too large", "Enter one e-mail address"},
		{"300-character address", "email=" + long, "too long", "such as name@example.com"},
		{"255-character address", "email=" + strings.Repeat("a", 255-len("@example.com")) + "@example.com", "too long", "such as name@example.com"},
		{"two addresses", "email=a%40example.com&email=b%40example.com", "Enter one e-mail address", "too large"},
		{"no address", "", "Enter one e-mail address", "too large"},
		{"not an address", "email=alice", "such as name@example.com", "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := s.do(t, s.client(t), "POST", "/pwreset", tt.body)
			if resp.StatusCode != 400 {
				t.Fatalf("POST /pwreset (%s) = %d, want 400\n%s", tt.name, resp.StatusCode, body)
			}
			if !strings.Contains(body, tt.wantProblem) {
				t.Errorf("page lacks %q:\n%s", tt.wantProblem, body)
			}
			if strings.Contains(body, tt.notProblem) {
				t.Errorf("page says %q, which is not the problem:\n%s", tt.notProblem, body)
			}
			if !strings.Contains(body, `name="email"`) {
				t.Errorf("the form is not shown again")
			}
			if len(body) > 16<<10 {
				t.Errorf("the page is %d bytes: the submitted value must not be echoed in full", len(body))
			}
		})
	}
	s.drain()
	if n := len(s.mailer.Sent()); n != 0 {
		t.Errorf("refused forms sent %d mails", n)
	}
}

func TestOversizedPasswordForm(t *testing.T) {
	s := newSite(t, nil)
	c := s.client(t)
	s.do(t, c, "GET", s.linkPath(t, c), "")
	resp, body := s.do(t, c, "POST", "/pwreset/new", "password="+strings.Repeat("a", 200<<10)+"&password2=x")
	if resp.StatusCode != 400 || !strings.Contains(body, "That request was too large") {
		t.Errorf("200 KB password form = %d, want 400 \"That request was too large\":\n%s", resp.StatusCode, body)
	}
}

var hrefRE = regexp.MustCompile(`<a class="(brand|button)" href="([^"]*)">([^<]*)</a>|<p class="back">[^<]*<a href="([^"]*)">([^<]*)</a>`)

// links returns the page's brand, way-back and button links by kind: "brand", "back", "button".
func links(body string) map[string]string {
	out := map[string]string{}
	for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
		if m[1] != "" {
			out[m[1]] = m[2] + " " + m[3]
		} else {
			out["back"] = m[4] + " " + m[5]
		}
	}
	return out
}

// The pages lead back to the app: the brand to its home page, the request form and the done
// page to its sign-in page when one is known (issue 19).
func TestWaysBackToTheApp(t *testing.T) {
	tests := []struct {
		name, signIn, page, wantKind, wantLink string
	}{
		{"brand links home", "", "/pwreset", "brand", "/ 127.0.0.1"},
		{"brand links home on the done page", "/login", "/pwreset/done", "brand", "/ 127.0.0.1"},
		{"request form back to sign in", "/login", "/pwreset", "back", "/login Back to sign in"},
		{"request form back home without a sign-in page", "", "/pwreset", "back", "/ Back to 127.0.0.1"},
		{"done button to sign in", "/login?from=reset", "/pwreset/done", "button", "/login?from=reset Sign in to 127.0.0.1"},
		{"done button home without a sign-in page", "", "/pwreset/done", "button", "/ Go to 127.0.0.1"},
		{"error page keeps its own button", "/login", "/pwreset/nope/x", "button", "/pwreset Back to password reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSite(t, func(_ *reset.Options, wo *web.Options) { wo.SignInURL = tt.signIn })
			_, body := s.do(t, s.client(t), "GET", tt.page, "")
			got := links(body)[tt.wantKind]
			if got != tt.wantLink {
				t.Errorf("GET %s: %s link = %q, want %q\n%s", tt.page, tt.wantKind, got, tt.wantLink, body)
			}
		})
	}
}

func TestSignInURLMustBeLocal(t *testing.T) {
	for _, bad := range []string{"https://evil.example/login", "//evil.example/", `/\evil.example`, "javascript:alert(1)", "login"} {
		_, err := web.New(web.Options{Service: &reset.Service{}, PublicURL: &url.URL{Scheme: "https", Host: "app.example.com"},
			Upstream: http.NotFoundHandler(), SessionKeys: [2][]byte{make([]byte, 64), make([]byte, 32)}, SignInURL: bad})
		if err == nil {
			t.Errorf("web.New(SignInURL %q) = nil, want an error", bad)
		}
	}
}
