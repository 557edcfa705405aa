package reset

import (
	"strings"
	"testing"
)

// The HTML mail wears [ui]: the brand or the logo in its header and the accent on its button
// and links; the text mail stays plain.
func TestMailBrand(t *testing.T) {
	mt, err := LoadMailTemplates(nil, testLanguages(t))
	if err != nil {
		t.Fatal(err)
	}
	d := MailData{L: mt.langs.Language("en"), Site: "Example App", Brand: "Example", Accent: "#0b5fff", Name: "Ada", Email: "ada@example.com",
		Link: "https://example.com/pwreset/" + strings.Repeat("x", 43), ResetURL: "https://example.com/pwreset", Valid: "1 hour",
		IP: "192.0.2.1", Time: "Mon, 02 Jan 2006 15:04 UTC"}
	for _, kind := range []string{"reset", "changed"} {
		m, err := mt.render(kind, "ada@example.com", d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.HTML, "color:#0b5fff") && !strings.Contains(m.HTML, "background:#0b5fff") {
			t.Errorf("%s.html does not use the accent #0b5fff:\n%s", kind, m.HTML)
		}
		if strings.Contains(m.HTML, DefaultAccentColor) || strings.Contains(m.HTML, "ZgotmplZ") {
			t.Errorf("%s.html keeps the default accent or escaped a value away:\n%s", kind, m.HTML)
		}
		if !strings.Contains(m.HTML, `font-weight:700;color:#1f2328;">Example</td>`) {
			t.Errorf("%s.html has no brand in its header:\n%s", kind, m.HTML)
		}
		if strings.Contains(m.Text, "#0b5fff") || strings.Contains(m.Text, "<") {
			t.Errorf("%s.txt is not plain:\n%s", kind, m.Text)
		}
	}
	d.Logo = "https://example.com/static/logo.png"
	m, err := mt.render("reset", "ada@example.com", d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.HTML, `<img src="https://example.com/static/logo.png" alt=""`) {
		t.Errorf("reset.html has no logo:\n%s", m.HTML)
	}
}

func TestServiceMailLook(t *testing.T) {
	base := Options{Site: "Example App", PublicURL: "https://example.com"}
	for _, c := range []struct {
		accent, logo string
		ok           bool
	}{
		{"", "", true}, {"#0b5fff", "https://example.com/logo.png", true}, {"#abc", "", true},
		{"red", "", false}, {"#0b5fff;background:url(x)", "", false}, {"", "/logo.png", false}, {"", "javascript:alert(1)", false},
	} {
		o := base
		o.AccentColor, o.LogoURL = c.accent, c.logo
		err := checkLook(&o)
		if (err == nil) != c.ok {
			t.Errorf("accent %q, logo %q: %v, want ok %v", c.accent, c.logo, err, c.ok)
		}
		if err == nil && (o.Brand != "Example App" || o.AccentColor == "") {
			t.Errorf("accent %q: defaults Brand %q, AccentColor %q", c.accent, o.Brand, o.AccentColor)
		}
	}
}
