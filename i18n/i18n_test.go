package i18n

import (
	"html/template"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// The languages the first release of the catalogues promises (issue 13).
var promised = []string{"en", "de", "fr", "es", "it", "pt-BR", "pt-PT", "nl", "pl", "cs", "sv", "da", "nb", "fi",
	"tr", "ru", "uk", "el", "ja", "ko", "zh-Hans", "zh-Hant", "ar", "he", "hi", "id", "vi"}

func mustLoad(t *testing.T, o Options) *Catalog {
	t.Helper()
	c, err := Load(o)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestShippedCataloguesAreComplete(t *testing.T) {
	c := mustLoad(t, Options{})
	for _, tag := range Shipped() {
		if missing := c.Missing[tag]; len(missing) > 0 {
			t.Errorf("%s.toml lacks %d keys: %s", tag, len(missing), strings.Join(missing, ", "))
		}
	}
	for _, tag := range promised {
		if c.Get(tag) == nil {
			t.Errorf("language %s is not shipped", tag)
		}
	}
}

func TestEveryLanguageNamesItselfAndItsDirection(t *testing.T) {
	c := mustLoad(t, Options{})
	for _, l := range c.Offered() {
		want := "ltr"
		if l.Tag() == "ar" || l.Tag() == "he" {
			want = "rtl"
		}
		if l.Dir() != want {
			t.Errorf("%s: Dir() = %q, want %q", l.Tag(), l.Dir(), want)
		}
		if l.Tag() != Source && l.Name() == c.Get(Source).Name() {
			t.Errorf("%s: language.name is still %q", l.Tag(), l.Name())
		}
	}
}

// A translation that is still the English text is a key nobody translated. Names, codes and
// a few words that are the same in many languages are allowed.
func TestTranslationsAreNotEnglish(t *testing.T) {
	c := mustLoad(t, Options{})
	en := c.Get(Source)
	same := map[string]bool{"code.label": true, "app_down.code": true, "date.format": true, "mail.hello_anonymous": true}
	for _, l := range c.Offered() {
		if l == en {
			continue
		}
		var untranslated []string
		for key, e := range l.msgs {
			text, source := e.text, en.msgs[key].text
			if e.forms != nil {
				text, source = e.forms["other"], en.msgs[key].forms["other"]
			}
			if same[key] || text == "" {
				continue
			}
			if text == source && len(strings.Fields(text)) > 2 {
				untranslated = append(untranslated, key)
			}
		}
		if len(untranslated) > 0 {
			t.Errorf("%s: still in English: %s", l.Tag(), strings.Join(untranslated, ", "))
		}
	}
}

// Every count a page can show must find its plural form in every language.
func TestPluralFormsCoverEveryCount(t *testing.T) {
	c := mustLoad(t, Options{})
	for _, l := range c.Offered() {
		for _, n := range []int{0, 1, 2, 3, 5, 11, 21, 22, 25, 72, 101, 128, 254} {
			for _, key := range []string{"duration.minutes", "duration.hours", "duration.days", "form.email_too_long", "password.too_short"} {
				got := l.Text(key, "n", n, "count", 3)
				if strings.Contains(got, "{") || got == key {
					t.Errorf("%s: Text(%q, n=%d) = %q", l.Tag(), key, n, got)
				}
			}
		}
	}
}

func TestFormats(t *testing.T) {
	c := mustLoad(t, Options{Languages: []string{"en"}})
	en := c.Default()
	at := time.Date(2026, 3, 4, 9, 5, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct{ got, want string }{
		{en.Duration(time.Hour), "1 hour"},
		{en.Duration(90 * time.Minute), "90 minutes"},
		{en.Duration(7 * 24 * time.Hour), "7 days"},
		{en.Duration(24 * time.Hour), "1 day"},
		{en.Duration(30 * time.Second), "1 minute"},
		{en.Wait(10 * time.Second), "1 minute"},
		{en.Wait(61 * time.Minute), "2 hours"},
		{en.Wait(59*time.Minute + time.Second), "1 hour"},
		{en.Time(at), "4 March 2026, 08:05 UTC"},
		{en.Text("form.email_too_long", "n", 1), "That e-mail address is too long: an address has at most 1 character."},
		{en.Text("mail.reset.subject", "site", "<Shop>"), "Reset your <Shop> password"},
		{string(en.HTML("mail.reset.subject", "site", "<Shop>")), "Reset your &lt;Shop&gt; password"},
		{en.Text("no.such.key"), "no.such.key"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

func TestOverridesAndAddedLanguages(t *testing.T) {
	dir := fstest.MapFS{
		"de.toml": {Data: []byte("[request]\ntitle = \"Kennwort vergessen?\"\n")},
		"eo.toml": {Data: []byte("[language]\nname = \"Esperanto\"\ndir = \"ltr\"\n\n[request]\ntitle = \"Ĉu vi forgesis vian pasvorton?\"\n")},
	}
	c := mustLoad(t, Options{Dir: dir, Languages: []string{"en", "de", "eo"}})
	if got := c.Get("de").Text("request.title"); got != "Kennwort vergessen?" {
		t.Errorf("override: %q", got)
	}
	if got := c.Get("de").Text("request.submit"); got == c.Get("en").Text("request.submit") {
		t.Errorf("override lost the shipped keys: %q", got)
	}
	eo := c.Get("eo")
	if got := eo.Text("request.submit"); got != c.Get("en").Text("request.submit") {
		t.Errorf("added language does not fall back to the default: %q", got)
	}
	if len(c.Missing["eo"]) == 0 || len(c.Missing["de"]) != 0 {
		t.Errorf("Missing = %v", c.Missing)
	}
}

func TestLoadReportsEveryMistakeWithItsLine(t *testing.T) {
	dir := fstest.MapFS{"de.toml": {Data: []byte(
		"[request]\ntitel = \"Kennwort vergessen?\"\n" +
			"submit = \"Link an {adress} senden\"\n" +
			"[duration]\nhours.one = \"{n} Stunde\"\n" +
			"hours.few = \"{n} Stunden\"\n" +
			"[sent]\nlead = \"Unterwegs.\"\n")}}
	_, err := Load(Options{Dir: dir})
	if err == nil {
		t.Fatal("Load accepted a broken catalogue")
	}
	for _, want := range []string{
		`de.toml:2: unknown key "request.titel" (did you mean "request.title"?)`,
		`de.toml:3: request.submit has the placeholder {adress}`,
		`de.toml:5: duration.hours lacks the plural form "other"`,
		`de.toml:5: duration.hours.few: de has no plural form "few"`,
		`de.toml:8: sent.lead lacks the placeholder {duration}`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestUnknownLanguagesAndDefaults(t *testing.T) {
	if _, err := Load(Options{Languages: []string{"en", "xx"}}); err == nil || !strings.Contains(err.Error(), `"xx" has no catalogue`) {
		t.Errorf("unknown language: %v", err)
	}
	if _, err := Load(Options{Languages: []string{"de"}}); err == nil || !strings.Contains(err.Error(), "default language") {
		t.Errorf("default not offered: %v", err)
	}
	c := mustLoad(t, Options{Languages: []string{"de", "fr"}, Default: "fr"})
	if c.Default().Tag() != "fr" || c.Tags()[0] != "fr" {
		t.Errorf("default = %s, tags %v", c.Default().Tag(), c.Tags())
	}
}

// In a right-to-left language, values keep their own direction inside the sentence.
func TestRightToLeftValuesAreIsolated(t *testing.T) {
	c := mustLoad(t, Options{})
	he := c.Get("he")
	if he == nil {
		t.Skip("he is not shipped")
	}
	if got := he.Text("mail.reset.code", "code", "ABCD-EFGH"); !strings.Contains(got, " ABCD-EFGH") || strings.ContainsRune(got, 0x2069) {
		t.Errorf("Text = %q, want the code as it is: a copied code must not carry isolates", got)
	}
	if got := string(he.HTML("new.account", "email", template.HTML("<strong>a@example.com</strong>"))); !strings.Contains(got, "<bdi><strong>a@example.com</strong></bdi>") {
		t.Errorf("HTML = %q, want the address in <bdi>", got)
	}
	if got := string(c.Get("en").HTML("new.account", "email", "a@example.com")); strings.Contains(got, "<bdi>") {
		t.Errorf("en HTML = %q isolates", got)
	}
}

// An operator's own language as the default: what it lacks shows in English, never as a key.
func TestAddedDefaultFallsBackToTheSource(t *testing.T) {
	dir := fstest.MapFS{"eo.toml": {Data: []byte("[language]\nname = \"Esperanto\"\ndir = \"ltr\"\n")}}
	c := mustLoad(t, Options{Dir: dir, Languages: []string{"eo", "de"}, Default: "eo"})
	en := mustLoad(t, Options{Languages: []string{"en"}}).Default()
	if got, want := c.Get("eo").Text("request.submit"), en.Text("request.submit"); got != want {
		t.Errorf("eo (default) request.submit = %q, want the English %q", got, want)
	}
	if got := c.Get("de").Text("request.submit"); got == "request.submit" || got == en.Text("request.submit") {
		t.Errorf("de request.submit = %q, want German", got)
	}
}
