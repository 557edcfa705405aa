package reset

import (
	"strings"
	"testing"

	"resetgate/i18n"
)

// testLanguages are the shipped catalogues behind the domain's interface, as main wires them.
func testLanguages(t *testing.T) Languages {
	t.Helper()
	c, err := i18n.Load(i18n.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return catalogue{c}
}

type catalogue struct{ *i18n.Catalog }

func (c catalogue) Language(tag string) Language { return c.Catalog.Language(tag) }

// Plain-text mail is read in clients that wrap lines themselves; a line break inside a
// sentence shows as a ragged break mid-sentence on narrow screens (issue 19). Each paragraph
// of the built-in text templates is therefore one line.
func TestMailTextParagraphsAreOneLineEach(t *testing.T) {
	mt, err := LoadMailTemplates(nil, testLanguages(t))
	if err != nil {
		t.Fatal(err)
	}
	d := MailData{L: mt.langs.Language("en"), Site: "Example App", Name: "Ada", Email: "ada@example.com", Link: "https://example.com/pwreset/" + strings.Repeat("x", 43),
		ResetURL: "https://example.com/pwreset", Valid: "1 hour", IP: "192.0.2.1", Time: "Mon, 02 Jan 2006 15:04 UTC",
		WasntMe: "https://example.com/pwreset/wasnt-me/" + strings.Repeat("y", 80), WasntMeValid: "7 days"}
	for _, kind := range []string{"reset", "changed"} {
		t.Run(kind, func(t *testing.T) {
			m, err := mt.render(kind, "ada@example.com", d)
			if err != nil {
				t.Fatal(err)
			}
			for _, para := range strings.Split(strings.TrimSpace(m.Text), "\n\n") {
				if strings.Contains(para, "\n") {
					t.Errorf("%s.txt: a paragraph is broken across lines:\n%s", kind, para)
				}
				if strings.TrimSpace(para) != para || para == "" {
					t.Errorf("%s.txt: paragraph %q has stray white space or blank lines", kind, para)
				}
			}
			if !strings.HasPrefix(m.Text, "Hello Ada,\n\n") {
				t.Errorf("%s.txt starts %q, want the greeting on its own line", kind, m.Text[:min(len(m.Text), 20)])
			}
		})
	}
}
