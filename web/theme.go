package web

import (
	"bytes"
	"fmt"
	"html/template"
	"maps"
	"net/url"
	"strings"

	"resetgate/contrast"
)

// Where the pages use the accent colour, and on what (web/static/style.css, light scheme):
// these are the pairs [CheckAccent] holds to WCAG AA. In the dark scheme links and the brand
// keep resetgate's own light colours; only buttons keep the accent, with the same white text.
var accentPairs = []struct {
	what  string
	other contrast.Color
}{
	{"white button text on it has", contrast.MustParse("#ffffff")},
	{"links in it on the card (#ffffff) have", contrast.MustParse("#ffffff")},
	{"the brand name in it on the page background (#f4f5f7) has", contrast.MustParse("#f4f5f7")},
}

// CheckAccent reports whether color ("#rrggbb" or "#rgb") may be the pages' accent colour: it
// must reach WCAG 2.x AA contrast (4.5:1) with every colour it is used with. The error names
// each pair that fails and its ratio. Empty is resetgate's own accent, which passes.
func CheckAccent(color string) error {
	if color == "" {
		return nil
	}
	c, err := contrast.Parse(color)
	if err != nil {
		return err
	}
	var fails []string
	for _, p := range accentPairs {
		if r := contrast.Ratio(c, p.other); r < contrast.AA {
			fails = append(fails, fmt.Sprintf("%s %.2f:1", p.what, r))
		}
	}
	if len(fails) > 0 {
		return fmt.Errorf("%s fails WCAG AA contrast (at least %.1f:1): %s; choose a darker colour", c, contrast.AA, strings.Join(fails, ", "))
	}
	return nil
}

// themeCSS is the stylesheet that applies the accent colour. It is a file of its own rather
// than inline style, so the pages' CSP keeps style-src 'self' (no 'unsafe-inline'). Its custom
// properties are resetgate's own (--rg-…), so that they cannot collide with the app's.
func themeCSS(color string) []byte {
	c := contrast.MustParse(color) // checked by New
	return fmt.Appendf(nil, "/* [ui] accent_color */\n:root { --rg-accent: %s; --rg-accent-hover: %s; }\n"+
		"@media (prefers-color-scheme: light) { :root { --rg-link: %[1]s; --rg-brand-fg: %[1]s; } }\n"+
		"/* wrap mode: the buttons in the app's page */\n"+
		".resetgate-page button, .resetgate-page .button { background: %[1]s; color: #ffffff; border: 0; border-radius: .375rem; padding: .625rem 1.25rem; text-decoration: none; }\n"+
		".resetgate-page button:hover, .resetgate-page .button:hover { background: %[2]s; }\n", c, c.Darken(0.15))
}

// CheckLocalPath reports whether s is a same-origin path of the app, such as "/static/app.css":
// starting with one "/", no scheme or host, no backslash, and not under prefix (those are
// resetgate's own pages, not the app's files).
func CheckLocalPath(s, prefix string) error {
	u, err := url.Parse(s)
	if err != nil || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\"'<> \t\r\n") || u.Host != "" || u.Scheme != "" {
		return fmt.Errorf("%q must be a path on the app's own site such as \"/static/app.css\" (same origin: no scheme, no host)", s)
	}
	if u.Path == prefix || strings.HasPrefix(u.Path, prefix+"/") {
		return fmt.Errorf("%q is under prefix %q: those are resetgate's own pages, not the app's files", s, prefix)
	}
	return nil
}

// Frame puts a page's content into another page around it: wrap mode, where the reset pages
// wear the app's own header, navigation and footer (package apphtml implements it; main
// wires it in). Implementations must be safe for concurrent use.
type Frame interface {
	// Frame returns a complete page with title as its <title>, head (resetgate's stylesheet
	// links, trusted) at the end of its <head> and content (a rendered page body, trusted) as
	// the content of its main element. styleSources are the CSP style-src sources (such as
	// 'sha256-…') the frame's own inline styles need. ok is false when no frame is available
	// right now: the page is then rendered in resetgate's plain layout.
	Frame(title string, head, content []byte) (page []byte, styleSources []string, ok bool)
}

// framedPage renders p's content into the frame; ok false: render the plain layout.
func (h *Handler) framedPage(t *template.Template, p page) (body []byte, csp string, ok bool, err error) {
	var content bytes.Buffer
	fmt.Fprintf(&content, `<div class="resetgate-page" lang="%s" dir="%s">`, p.L.Tag(), p.L.Dir())
	if err := t.ExecuteTemplate(&content, "content", p); err != nil {
		return nil, "", false, err
	}
	content.WriteString(`</div>`)
	if p.Script {
		fmt.Fprintf(&content, `<script src="%s" defer></script>`, template.HTMLEscapeString(h.assets["form.js"]))
	}
	body, styles, ok := h.o.Frame.Frame(p.Title+" · "+p.Site, h.wrapHead, content.Bytes())
	if !ok {
		return nil, "", false, nil
	}
	var extra map[string]string
	if p.Challenge != nil {
		extra = p.Challenge.csp
	}
	return body, pageCSP(styles, extra), true, nil
}

// pageCSP is a framed page's Content-Security-Policy: the pages' own ([csp]) with extra
// style-src sources for the frame's inline styles, and a captcha's sources on the request
// form. Same-origin styles and images only: the app's stylesheets and logo are same-origin by
// [CheckLocalPath]; scripts are resetgate's own (SECURITY.md RQ-HTM-01).
func pageCSP(styles []string, extra map[string]string) string {
	m := maps.Clone(extra)
	if len(styles) > 0 {
		if m == nil {
			m = map[string]string{}
		}
		m["style-src"] = strings.TrimSpace(m["style-src"] + " " + strings.Join(styles, " "))
	}
	return csp(m)
}

// buildWrapHead is what a frame's <head> gets: resetgate's small wrap stylesheet (form
// layout only, so the app's own CSS sets the look), the theme, then the [ui] stylesheets.
func (h *Handler) buildWrapHead() []byte {
	var b bytes.Buffer
	link := func(href string) {
		fmt.Fprintf(&b, `<link rel="stylesheet" href="%s">`, template.HTMLEscapeString(href))
	}
	link(h.assets["wrap.css"])
	if u, ok := h.assets["theme.css"]; ok {
		link(u)
	}
	for _, s := range h.o.Stylesheets {
		link(s)
	}
	return b.Bytes()
}
