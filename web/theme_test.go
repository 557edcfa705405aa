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

func TestCheckAccent(t *testing.T) {
	for _, c := range []struct {
		color string
		fails []string // the pairs named in the error; nil: accepted
	}{
		{"", nil},
		{"#1a56db", nil},
		{"#0b5fff", nil},
		{"#595959", nil},
		// 4.54:1 on white passes, but the brand name sits on #f4f5f7 (4.16:1).
		{"#767676", []string{"page background (#f4f5f7) has 4.16:1"}},
		{"#777777", []string{"white button text on it has 4.48:1", "on the card (#ffffff) have 4.48:1", "(#f4f5f7) has 4.11:1"}},
		{"#ff0000", []string{"white button text on it has 4.00:1"}},
		{"#ffff00", []string{"white button text on it has 1.07:1"}},
		{"blue", []string{`"blue" is not a colour`}},
	} {
		err := web.CheckAccent(c.color)
		if c.fails == nil {
			if err != nil {
				t.Errorf("CheckAccent(%q) = %v, want nil", c.color, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("CheckAccent(%q) = nil, want an error naming %q", c.color, c.fails)
			continue
		}
		for _, f := range c.fails {
			if !strings.Contains(err.Error(), f) {
				t.Errorf("CheckAccent(%q) = %v, want it to say %q", c.color, err, f)
			}
		}
	}
}

func TestCheckLocalPath(t *testing.T) {
	for _, s := range []string{"/static/app.css", "/logo.png?v=2", "/a/b.css"} {
		if err := web.CheckLocalPath(s, "/pwreset"); err != nil {
			t.Errorf("CheckLocalPath(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range []string{"", "static/app.css", "//cdn.example.com/a.css", "https://cdn.example.com/a.css", `/\evil.com/a.css`,
		"/pwreset/static/style.css", "/pwreset", "/a b.css", `/a".css`, "javascript:alert(1)"} {
		if err := web.CheckLocalPath(s, "/pwreset"); err == nil {
			t.Errorf("CheckLocalPath(%q) = nil, want an error", s)
		}
	}
}

func TestThemedPages(t *testing.T) {
	s := newSite(t, func(_ *reset.Options, o *web.Options) {
		o.Site, o.Brand, o.LogoURL, o.AccentColor = "Example App", "Example", "/static/logo.png", "#0b5fff"
		o.Stylesheets = []string{"/static/app.css", "/static/extra.css"}
	})
	c := s.client(t)
	resp, body := s.do(t, c, "GET", "/pwreset", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /pwreset = %d", resp.StatusCode)
	}
	checkSecurityHeaders(t, resp)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self';") || !strings.Contains(csp, "img-src 'self';") {
		t.Errorf("Content-Security-Policy = %q, want same-origin styles and images only", csp)
	}
	if !strings.Contains(body, `<a class="brand" href="/"><img class="logo" src="/static/logo.png" alt="">Example</a>`) {
		t.Errorf("page has no logo beside the brand:\n%s", body)
	}
	if !strings.Contains(body, "<title>Forgot your password? · Example App</title>") {
		t.Errorf("the title should keep site_name:\n%s", body)
	}
	// resetgate's stylesheet, the theme, then the app's, in that order (later ones win).
	links := regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)">`).FindAllStringSubmatch(body, -1)
	var hrefs []string
	for _, l := range links {
		hrefs = append(hrefs, l[1])
	}
	if len(hrefs) != 4 || !strings.HasPrefix(hrefs[0], "/pwreset/static/style.css?v=") || !strings.HasPrefix(hrefs[1], "/pwreset/static/theme.css?v=") ||
		hrefs[2] != "/static/app.css" || hrefs[3] != "/static/extra.css" {
		t.Fatalf("stylesheets = %q, want style.css, theme.css, /static/app.css, /static/extra.css", hrefs)
	}
	resp, css := s.do(t, c, "GET", hrefs[1], "")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") ||
		!strings.Contains(css, "--rg-accent: #0b5fff;") || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("GET %s = %d %q:\n%s", hrefs[1], resp.StatusCode, resp.Header, css)
	}
}

func TestPlainPagesHaveNoTheme(t *testing.T) {
	s := newSite(t, func(_ *reset.Options, o *web.Options) { o.Site = "Example App" })
	c := s.client(t)
	_, body := s.do(t, c, "GET", "/pwreset", "")
	if strings.Contains(body, "theme.css") || strings.Contains(body, "<img") || !strings.Contains(body, `<a class="brand" href="/">Example App</a>`) {
		t.Errorf("plain page:\n%s", body)
	}
	if resp, _ := s.do(t, c, "GET", "/pwreset/static/theme.css", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET theme.css without an accent = %d, want 404", resp.StatusCode)
	}
}

func TestThemeOptionsRefused(t *testing.T) {
	for name, mod := range map[string]func(*web.Options){
		"low-contrast accent":   func(o *web.Options) { o.AccentColor = "#777777" },
		"cross-origin logo":     func(o *web.Options) { o.LogoURL = "https://cdn.example.com/logo.png" },
		"protocol-relative css": func(o *web.Options) { o.Stylesheets = []string{"//cdn.example.com/a.css"} },
	} {
		o := web.Options{Service: &reset.Service{}}
		s := newSite(t, nil) // for a valid PublicURL and Upstream
		o.PublicURL, o.Upstream = mustURL(t, s.srv.URL), http.NotFoundHandler()
		o.SessionKeys = [2][]byte{[]byte(strings.Repeat("a", 64)), []byte(strings.Repeat("b", 32))}
		mod(&o)
		if _, err := web.New(o); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// fakeFrame wraps content in a fixed page, or has no frame when off.
type fakeFrame struct{ off bool }

func (f fakeFrame) Frame(title string, head, content []byte) ([]byte, []string, bool) {
	if f.off {
		return nil, nil, false
	}
	return []byte("<html><head><title>" + title + "</title>" + string(head) + "</head><body><nav>app nav</nav><main>" + string(content) + "</main></body></html>"),
		[]string{"'sha256-abc='"}, true
}

func TestFramedPages(t *testing.T) {
	s := newSite(t, func(_ *reset.Options, o *web.Options) {
		o.Site, o.Frame, o.Stylesheets = "Example App", fakeFrame{}, []string{"/static/app.css"}
	})
	c := s.client(t)
	resp, body := s.do(t, c, "GET", "/pwreset", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /pwreset = %d", resp.StatusCode)
	}
	checkSecurityHeaders(t, resp)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self' 'sha256-abc=';") || !strings.Contains(csp, "script-src 'self';") {
		t.Errorf("Content-Security-Policy = %q, want the frame's style hashes", csp)
	}
	for _, want := range []string{"<title>Forgot your password? · Example App</title>", "<nav>app nav</nav>",
		`<main><div class="resetgate-page" lang="en" dir="ltr">`, `<form method="post" action="/pwreset"`, `/pwreset/static/wrap.css?v=`, `href="/static/app.css"`} {
		if !strings.Contains(body, want) {
			t.Errorf("framed page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, `class="card"`) || strings.Contains(body, "style.css") {
		t.Errorf("framed page carries resetgate's own layout:\n%s", body)
	}
	if resp, _ := s.do(t, c, "GET", "/pwreset/static/nope.css", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /pwreset/static/nope.css = %d, want the framed 404", resp.StatusCode)
	}

	plain := newSite(t, func(_ *reset.Options, o *web.Options) { o.Frame = fakeFrame{off: true} })
	resp, body = plain.do(t, plain.client(t), "GET", "/pwreset", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `class="card"`) || strings.Contains(body, "app nav") {
		t.Errorf("without a frame: %d\n%s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "sha256") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}
