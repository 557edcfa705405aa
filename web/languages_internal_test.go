package web

import (
	"bytes"
	"html/template"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"resetgate/i18n"
	"resetgate/reset"
)

// Every shipped language renders every page, in every state a page has, with no message
// missing: a missing key would show as the key itself, a placeholder left unfilled as {name}.
func TestEveryLanguageRendersEveryPage(t *testing.T) {
	c, err := i18n.Load(i18n.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := i18n.Keys()
	if err != nil {
		t.Fatal(err)
	}
	static, _ := fs.Sub(embedded, "static")
	assets := map[string]string{"theme.css": "/t.css"}
	names, _ := fs.Glob(static, "*")
	for _, n := range names {
		assets[n] = "/" + n
	}
	ps, err := parsePages(nil, assets, c)
	if err != nil {
		t.Fatal(err)
	}
	type state struct {
		page string
		p    page
	}
	problems := []reset.Problem{{Key: "password.too_short", Args: []any{"n", 8, "count", 3}}, {Key: "password.mismatch"}}
	states := []state{
		{"request", page{title: "request.title"}},
		{"request", page{title: "request.title", Usernames: true, problems: problems, Email: "x"}},
		{"request", page{title: "request.title", Challenge: &challengeView{PoW: "{}"}}},
		{"request", page{title: "request.title", Challenge: &challengeView{Class: "cf-turnstile", SiteKey: "k", Script: "https://challenges.cloudflare.com/x.js"}}},
		{"request", page{title: "request.title", SignIn: "/login"}},
		{"sent", page{title: "sent.title", valid: time.Hour, Codes: true}},
		{"sent", page{title: "sent.title", valid: 90 * time.Minute}},
		{"code", page{title: "code.title", valid: time.Hour, problems: problem(codeWrong, "n", reset.CodeAttempts)}},
		{"new", page{title: "new.title", Email: "a@example.com", Rules: reset.PasswordRules{Min: 8, Max: 128}, problems: problems}},
		{"new", page{title: "new.title", Email: "a@example.com", Rules: reset.PasswordRules{Min: 8, Max: 128, MaxBytes: 72}}},
		{"done", page{title: "done.title", Flash: "changed", SessionsEnded: true, SignIn: "/login"}},
		{"done", page{title: "done.plain_title"}},
		{"invalid", page{title: "invalid.title"}},
		{"error", page{title: "error.too_many.title", message: "error.too_many.message", retry: 5 * time.Minute}},
		{"error", page{title: "error.not_found.title", message: "error.not_found.message"}},
		{"wasntme", page{title: "wasntme.title", State: "confirm", Link: "x"}},
		{"wasntme", page{title: "wasntme.done_title", State: "done"}},
		{"wasntme", page{title: "wasntme.already_title", State: "already"}},
		{"wasntme", page{title: "invalid.title", valid: 7 * 24 * time.Hour}},
	}
	leftover := regexp.MustCompile(`\{[a-z_]+\}`)
	for _, l := range c.Offered() {
		for _, st := range states {
			p := st.p
			p.L, p.Site, p.Brand, p.Prefix = l, "Example Shop", "Example Shop", "/pwreset"
			p.Languages = []langChoice{{Tag: l.Tag(), Name: l.Name(), Href: "/pwreset?lang=" + l.Tag(), Current: true}, {Tag: "en", Name: "English", Href: "/pwreset?lang=en"}}
			p.words()
			var b bytes.Buffer
			if err := ps.page(st.page, l.Tag()).ExecuteTemplate(&b, "layout", p); err != nil {
				t.Fatalf("%s %s: %v", l.Tag(), st.page, err)
			}
			body := b.String()
			if !strings.Contains(body, `<html lang="`+l.Tag()+`" dir="`+l.Dir()+`">`) {
				t.Errorf("%s %s: no <html lang dir>", l.Tag(), st.page)
			}
			for _, key := range keys {
				if strings.Contains(body, ">"+key+"<") || strings.Contains(body, `"`+key+`"`) || strings.Contains(body, " "+key+" ") {
					t.Errorf("%s %s: message %s is missing", l.Tag(), st.page, key)
				}
			}
			if m := leftover.FindString(body); m != "" {
				t.Errorf("%s %s: placeholder %s left unfilled", l.Tag(), st.page, m)
			}
		}
	}
}

func TestLinkRefusesWhatIsNoPageAddress(t *testing.T) {
	link := pageFuncs(nil)["link"].(func(string, string) (template.HTML, error))
	for href, ok := range map[string]bool{"/pwreset": true, "/pwreset/code": true, "https://app.example/login": true,
		"javascript:alert(1)": false, "//evil.example/": false, `/\evil.example`: false, "data:text/html,x": false} {
		if _, err := link(href, "x"); (err == nil) != ok {
			t.Errorf("link(%q) = %v, want ok %v", href, err, ok)
		}
	}
}
