package reset

import (
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"resetgate/i18n"
)

// Both mails render in every shipped language, with no message missing and no placeholder
// left, marked with their language.
func TestMailsInEveryLanguage(t *testing.T) {
	langs := testLanguages(t)
	mt, err := LoadMailTemplates(nil, langs)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := i18n.Keys()
	if err != nil {
		t.Fatal(err)
	}
	leftover := regexp.MustCompile(`\{[a-z_]+\}`)
	for _, tag := range langs.Tags() {
		l := langs.Language(tag)
		for _, d := range []MailData{
			{Name: "Ada", Code: "ABCD-EFGH", CodeURL: "https://example.com/pwreset/code", SessionsEnded: true,
				WasntMe: "https://example.com/pwreset/wasnt-me/x", WasntMeValid: l.Duration(7 * 24 * time.Hour)},
			{},
		} {
			d.L, d.Site, d.Brand, d.Accent, d.Email = l, "Example Shop", "Example Shop", DefaultAccentColor, "ada@example.com"
			d.Link, d.ResetURL, d.Valid, d.IP, d.Time = "https://example.com/pwreset/x", "https://example.com/pwreset", l.Duration(time.Hour), "192.0.2.1", l.Time(time.Now())
			for _, kind := range mailKinds {
				m, err := mt.render(kind, "ada@example.com", d)
				if err != nil {
					t.Fatalf("%s %s: %v", tag, kind, err)
				}
				if m.Language != tag || !strings.Contains(m.HTML, `<html lang="`+tag+`" dir="`+l.Dir()+`">`) {
					t.Errorf("%s %s: Language %q, or no <html lang dir>", tag, kind, m.Language)
				}
				all := m.Subject + "\n" + m.Text + "\n" + m.HTML
				for _, key := range keys {
					if strings.Contains(all, key+"\n") || strings.Contains(all, ">"+key+"<") || strings.Contains(all, " "+key+" ") || strings.HasPrefix(all, key) {
						t.Errorf("%s %s: message %s is missing", tag, kind, key)
					}
				}
				if p := leftover.FindString(all); p != "" {
					t.Errorf("%s %s: placeholder %s left unfilled", tag, kind, p)
				}
			}
		}
	}
}

// A mail goes out in the account's own language when the app stores one, else in the page's.
func TestMailLanguagePicked(t *testing.T) {
	mt, err := LoadMailTemplates(nil, testLanguages(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ user, page, want string }{
		{"", "fr", "fr"}, {"de", "fr", "de"}, {"pt_BR", "", "pt-BR"}, {"", "", "en"}, {"", "xx", "en"}, {"", "pt", "pt-BR"},
	} {
		if got := mt.language(User{Language: c.user}, c.page).Tag(); got != c.want {
			t.Errorf("user %q, page %q: %s, want %s", c.user, c.page, got, c.want)
		}
	}
}

// An operator's template for one language is used for it, the shared one for the others.
func TestMailTemplateForOneLanguage(t *testing.T) {
	dir := fstest.MapFS{"reset.de.txt": {Data: []byte(`{{define "subject"}}Eigener Betreff{{end}}{{define "body"}}{{.Link}}{{end}}`)}}
	mt, err := LoadMailTemplates(dir, testLanguages(t))
	if err != nil {
		t.Fatal(err)
	}
	for tag, want := range map[string]string{"de": "Eigener Betreff", "fr": mt.langs.Language("fr").Text("mail.reset.subject", "site", "S")} {
		m, err := mt.render("reset", "a@example.com", MailData{L: mt.langs.Language(tag), Site: "S", Link: "https://example.com/x", Accent: DefaultAccentColor})
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != want {
			t.Errorf("%s: subject %q, want %q", tag, m.Subject, want)
		}
	}
}
