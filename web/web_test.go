package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"resetgate/internal/cookiepeek"
	"resetgate/reset"
	"resetgate/reset/resettest"
	"resetgate/web"
)

type plainHasher struct{}

func (plainHasher) Hash(pw string) (string, error) { return "test$" + pw, nil }
func (plainHasher) MaxPasswordBytes() int          { return 0 }
func (plainHasher) Scheme() string                 { return "test" }

type hashers struct{}

func (hashers) For(string, string) (reset.Hasher, error) { return plainHasher{}, nil }

type site struct {
	srv      *httptest.Server
	svc      *reset.Service
	users    *resettest.Users
	store    *resettest.MemStore
	mailer   *resettest.Mailer
	upstream *httptest.Server
	seen     chan *http.Request // requests the upstream received
}

// newSite runs the pages in front of a recording upstream, on an httptest server whose URL is
// also the public URL.
func newSite(t testing.TB, mod func(*reset.Options, *web.Options)) *site {
	t.Helper()
	s := &site{
		users:  resettest.NewUsers(reset.User{ID: "7", Email: "alice@example.com", Name: "Alice", PasswordHash: "test$old"}),
		store:  resettest.NewMemStore(),
		mailer: resettest.NewMailer(),
		seen:   make(chan *http.Request, 16),
	}
	s.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.seen <- r
		w.Header().Set("X-Upstream", "yes")
		io.WriteString(w, "upstream:"+r.URL.RequestURI())
	}))
	t.Cleanup(s.upstream.Close)
	upURL, _ := url.Parse(s.upstream.URL)

	var h *web.Handler
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	public, _ := url.Parse(s.srv.URL)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ro := reset.Options{Languages: resettest.Languages(), Users: s.users, Store: s.store, Mailer: s.mailer, Hashers: hashers{}, PublicURL: s.srv.URL, Logger: log,
		PerIP: reset.Rate{N: 50, Per: time.Hour}}
	wo := web.Options{PublicURL: public, Upstream: forward(upURL), Logger: log,
		SessionKeys: [2][]byte{[]byte(strings.Repeat("a", 64)), []byte(strings.Repeat("b", 32))}}
	if mod != nil {
		mod(&ro, &wo)
	}
	svc, err := reset.New(ro)
	if err != nil {
		t.Fatal(err)
	}
	s.svc = svc
	wo.Service = svc
	if h, err = web.New(wo); err != nil {
		t.Fatal(err)
	}
	return s
}

// forward is a minimal stand-in for the proxy package: it relays the request as is.
func forward(up *url.URL) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host, out.RequestURI, out.Host = up.Scheme, up.Host, "", up.Host
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
}

// client is a browser-like client: it keeps cookies, sends same-origin fetch metadata on
// posts, and does not follow redirects (tests check them).
func (s *site) client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (s *site) do(t *testing.T, c *http.Client, method, path, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (s *site) drain() {
	for s.svc.ProcessOne(context.Background()) {
	}
}

// linkPath asks for a link for alice and returns its path.
func (s *site) linkPath(t *testing.T, c *http.Client) string {
	t.Helper()
	resp, _ := s.do(t, c, "POST", "/pwreset", "email=alice%40example.com")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /pwreset = %d", resp.StatusCode)
	}
	s.drain()
	sent := s.mailer.Sent()
	if len(sent) == 0 {
		t.Fatal("no mail sent")
	}
	u, err := url.Parse(sent[len(sent)-1].Link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

func TestPages(t *testing.T) {
	s := newSite(t, nil)
	c := s.client(t)
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantLocation, wantBody   string
	}{
		{"request form", "GET", "/pwreset", "", 200, "", `name="email"`},
		{"request form HEAD", "HEAD", "/pwreset", "", 200, "", ""},
		{"trailing slash", "GET", "/pwreset/", "", 303, "/pwreset", ""},
		{"known address", "POST", "/pwreset", "email=alice%40example.com", 303, "/pwreset/sent", ""},
		{"unknown address", "POST", "/pwreset", "email=nobody%40example.com", 303, "/pwreset/sent", ""},
		{"not an address", "POST", "/pwreset", "email=alice", 400, "", "such as name@example.com"},
		{"header injection", "POST", "/pwreset", "email=alice%40example.com%0d%0aBcc:eve%40evil.com", 400, "", "such as name@example.com"},
		{"two addresses", "POST", "/pwreset", "email=alice%40example.com&email=eve%40evil.com", 400, "", "Enter one e-mail address"},
		{"array syntax", "POST", "/pwreset", "email[]=alice%40example.com", 400, "", "Enter one e-mail address"},
		{"no field", "POST", "/pwreset", "", 400, "", "Enter one e-mail address"},
		{"sent page", "GET", "/pwreset/sent", "", 200, "", "If an account exists for that address"},
		{"invalid page", "GET", "/pwreset/invalid", "", 200, "", "no longer valid"},
		{"done page", "GET", "/pwreset/done", "", 200, "", "<h1>"},
		{"new without link", "GET", "/pwreset/new", "", 303, "/pwreset/invalid", ""},
		{"unknown token", "GET", "/pwreset/" + strings.Repeat("A", 43), "", 303, "/pwreset/invalid", ""},
		{"malformed token", "GET", "/pwreset/short", "", 303, "/pwreset/invalid", ""},
		{"deeper path", "GET", "/pwreset/a/b", "", 404, "", "Page not found"},
		{"refused spelling", "GET", "//pwreset/new", "", 404, "", "Page not found"},
		{"PUT", "PUT", "/pwreset", "", 405, "", ""},
		{"DELETE on new", "DELETE", "/pwreset/new", "", 405, "", ""},
		{"static", "GET", "/pwreset/static/style.css", "", 200, "", "--rg-accent"},
		{"static missing", "GET", "/pwreset/static/nope.css", "", 404, "", ""},
		{"static directory", "GET", "/pwreset/static/", "", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := s.do(t, c, tt.method, tt.path, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s = %d, want %d\n%s", tt.method, tt.path, resp.StatusCode, tt.wantStatus, body)
			}
			if loc := resp.Header.Get("Location"); loc != tt.wantLocation {
				t.Errorf("Location = %q, want %q", loc, tt.wantLocation)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body lacks %q:\n%s", tt.wantBody, body)
			}
			if resp.Header.Get("X-Upstream") != "" {
				t.Errorf("a reset path reached the upstream")
			}
			if tt.wantStatus == 405 && resp.Header.Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
			if !strings.HasPrefix(tt.path, "/pwreset/static/") || tt.wantStatus != 200 {
				checkSecurityHeaders(t, resp)
			}
		})
	}
}

func checkSecurityHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	want := map[string]string{
		"Cache-Control":          "no-store",
		"Referrer-Policy":        "no-referrer",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "charset=utf-8") {
		t.Errorf("Content-Type = %q, want a charset", ct)
	}
}

func TestStaticIsCachedForGood(t *testing.T) {
	s := newSite(t, nil)
	resp, _ := s.do(t, s.client(t), "GET", "/pwreset/static/style.css", "")
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("Cache-Control = %q", cc)
	}
}

func TestWholeFlow(t *testing.T) {
	s := newSite(t, nil)
	c := s.client(t)
	link := s.linkPath(t, c)

	resp, _ := s.do(t, c, "GET", link, "")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/pwreset/new" {
		t.Fatalf("GET link = %d → %q, want 303 → /pwreset/new", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := s.do(t, c, "GET", "/pwreset/new", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `name="password2"`) || !strings.Contains(body, "alice@example.com") {
		t.Fatalf("GET new = %d\n%s", resp.StatusCode, body)
	}
	resp, body = s.do(t, c, "POST", "/pwreset/new", "password=short&password2=short")
	if resp.StatusCode != 422 || !strings.Contains(body, "at least 8") {
		t.Fatalf("weak password = %d\n%s", resp.StatusCode, body)
	}
	// Account ids in the form are ignored: the token decides (RQ-RST-03).
	resp, _ = s.do(t, c, "POST", "/pwreset/new", "password=long+enough+secret&password2=long+enough+secret&uid=1&email=eve%40evil.com")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/pwreset/done" {
		t.Fatalf("POST new = %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := s.users.Hash("7"); got != "test$long enough secret" {
		t.Errorf("hash = %q", got)
	}
	_, body = s.do(t, c, "GET", "/pwreset/done", "")
	if !strings.Contains(body, "Your password was changed") {
		t.Errorf("done page right after the reset does not say the password was changed:\n%s", body)
	}
	if _, body = s.do(t, c, "GET", "/pwreset/done", ""); strings.Contains(body, "Your password was changed") {
		t.Errorf("the done page claims a change when visited again (the flash must be used once)")
	}
	resp, _ = s.do(t, c, "GET", link, "")
	if resp.Header.Get("Location") != "/pwreset/invalid" {
		t.Errorf("used link → %q, want /pwreset/invalid", resp.Header.Get("Location"))
	}
	resp, _ = s.do(t, c, "POST", "/pwreset/new", "password=another+long+secret&password2=another+long+secret")
	if resp.Header.Get("Location") != "/pwreset/invalid" {
		t.Errorf("second POST → %q, want /pwreset/invalid", resp.Header.Get("Location"))
	}
}

func TestAfterResetURL(t *testing.T) {
	s := newSite(t, func(_ *reset.Options, wo *web.Options) { wo.AfterResetURL = "/login?reset=1" })
	c := s.client(t)
	s.do(t, c, "GET", s.linkPath(t, c), "")
	resp, _ := s.do(t, c, "POST", "/pwreset/new", "password=long+enough+secret&password2=long+enough+secret")
	if loc := resp.Header.Get("Location"); loc != "/login?reset=1" {
		t.Errorf("Location = %q, want /login?reset=1", loc)
	}
}

func TestAfterResetURLMustBeLocal(t *testing.T) {
	for _, bad := range []string{"https://evil.example/", "//evil.example/", `/\evil.example`, "javascript:alert(1)", "login"} {
		_, err := web.New(web.Options{Service: &reset.Service{}, PublicURL: &url.URL{Scheme: "https", Host: "app.example.com"},
			Upstream: http.NotFoundHandler(), SessionKeys: [2][]byte{make([]byte, 64), make([]byte, 32)}, AfterResetURL: bad})
		if err == nil {
			t.Errorf("web.New(AfterResetURL %q) = nil, want an error", bad)
		}
	}
}

func TestLinkGETConsumesNothing(t *testing.T) {
	s := newSite(t, nil)
	c := s.client(t)
	link := s.linkPath(t, c)
	for range 3 { // a mail scanner prefetching the link
		s.do(t, s.client(t), "GET", link, "")
		s.do(t, s.client(t), "HEAD", link, "")
	}
	s.do(t, c, "GET", link, "")
	resp, _ := s.do(t, c, "POST", "/pwreset/new", "password=long+enough+secret&password2=long+enough+secret")
	if resp.Header.Get("Location") != "/pwreset/done" {
		t.Errorf("after prefetches the link no longer worked: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	s := newSite(t, nil)
	c := s.client(t)
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "", "Origin", "https://evil.example"},
	} {
		resp, _ := s.do(t, c, "POST", "/pwreset", "email=alice%40example.com", hdr...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-origin POST with %v = %d, want 403", hdr, resp.StatusCode)
		}
	}
	s.drain()
	if n := len(s.mailer.Sent()); n != 0 {
		t.Errorf("cross-origin posts sent %d mails", n)
	}
}

func TestRateLimitedPage(t *testing.T) {
	s := newSite(t, func(ro *reset.Options, _ *web.Options) { ro.PerIP = reset.Rate{N: 1, Per: time.Hour} })
	c := s.client(t)
	s.do(t, c, "POST", "/pwreset", "email=a%40example.com")
	resp, body := s.do(t, c, "POST", "/pwreset", "email=a%40example.com")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many") {
		t.Errorf("over the limit = %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestOversizedBody(t *testing.T) {
	s := newSite(t, nil)
	body := "email=" + strings.Repeat("a", web.MaxBodyBytes) + "%40example.com"
	resp, _ := s.do(t, s.client(t), "POST", "/pwreset", body)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("oversized body = %d, want 400", resp.StatusCode)
	}
}

func TestJSONBodyRefused(t *testing.T) {
	s := newSite(t, nil)
	resp, _ := s.do(t, s.client(t), "POST", "/pwreset", `{"email":["alice@example.com","eve@evil.com"]}`, "Content-Type", "application/json")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("JSON body = %d, want 400", resp.StatusCode)
	}
}

func TestQueryPollutionRefused(t *testing.T) {
	s := newSite(t, nil)
	resp, _ := s.do(t, s.client(t), "POST", "/pwreset?email=eve%40evil.com", "email=alice%40example.com")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("email in query and body = %d, want 400", resp.StatusCode)
	}
}

func TestLegacyPathsGoUpstreamUntouched(t *testing.T) {
	s := newSite(t, nil)
	for _, p := range []string{"/", "/login?next=%2Fadmin", "/a/../b", "/pwresetx", "/static//app.js", "/x%2Fy"} {
		resp, body := s.do(t, s.client(t), "GET", p, "")
		if resp.Header.Get("X-Upstream") != "yes" {
			t.Errorf("GET %s did not reach the upstream (%d)", p, resp.StatusCode)
			continue
		}
		r := <-s.seen
		if r.RequestURI != p {
			t.Errorf("upstream saw %q, want %q byte for byte", r.RequestURI, p)
		}
		if body != "upstream:"+p {
			t.Errorf("body = %q", body)
		}
	}
}

func TestSessionCookie(t *testing.T) {
	s := newSite(t, nil)
	c := s.client(t)
	link := s.linkPath(t, c)
	resp, _ := s.do(t, c, "GET", link, "")
	var found bool
	for _, ck := range resp.Cookies() {
		if ck.Name == "resetgate" {
			found = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
				t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/", ck)
			}
			if tok := strings.TrimPrefix(link, "/pwreset/"); cookiepeek.Reveals(ck.Value, tok) {
				t.Errorf("the token is readable in the cookie %q once decoded (is it encrypted?)", ck.Value)
			}
		}
	}
	if !found {
		t.Fatalf("no session cookie set")
	}
}
