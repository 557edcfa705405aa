package reset

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/url"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed mailtmpl
var builtinMail embed.FS

// DefaultAccentColor is the HTML mail's button colour when none is configured: the pages' own.
const DefaultAccentColor = "#1a56db"

// accentRe is the only shape of colour the HTML mail takes, so that nothing but a colour can
// reach its style attributes.
var accentRe = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// checkLook fills in and checks the HTML mail's Brand, LogoURL and AccentColor.
func checkLook(o *Options) error {
	if o.Brand == "" {
		o.Brand = o.Site
	}
	if o.AccentColor == "" {
		o.AccentColor = DefaultAccentColor
	}
	if !accentRe.MatchString(o.AccentColor) {
		return fmt.Errorf("reset: accent colour %q must be written as #rrggbb or #rgb", o.AccentColor)
	}
	if o.LogoURL != "" {
		l, err := url.Parse(o.LogoURL)
		if err != nil || (l.Scheme != "http" && l.Scheme != "https") || l.Host == "" || strings.ContainsAny(o.LogoURL, "\"'<> ") {
			return fmt.Errorf("reset: logo URL %q must be an absolute http(s) URL", o.LogoURL)
		}
	}
	return nil
}

// MailData is what the mail templates see.
type MailData struct {
	// L is the mail's language: {{.L.Text "key" "name" value…}} in text templates and
	// {{.L.HTML …}} in HTML ones write a catalogue message in it (see [Language]).
	L      Language
	Site   string // the site's name, e.g. "Example App"
	Brand  string // the name in the HTML mail's header (default Site)
	Logo   string // the app's logo, an absolute URL, shown before Brand; may be empty
	Accent string // the button's colour, "#rrggbb"
	Name   string // the account's name, may be empty
	Email  string // the stored address
	Link   string // the reset link (reset mail only)
	// Code is the typed code, grouped ("ABCD-EFGH"), and CodeURL the page it is typed on,
	// {public_url}{prefix}/code (reset mail only); both empty when codes are off.
	Code, CodeURL string
	ResetURL      string // the request page, {public_url}{prefix}
	Valid         string // how long the link works, in L, e.g. "1 hour"
	IP            string // the client address of the request
	Time          string // when, in UTC, written in L, e.g. "2 January 2006, 15:04 UTC"
	// WasntMe is the "this wasn't me" link (changed notice only), working for WasntMeValid
	// ("7 days"); empty in the reset mail.
	WasntMe, WasntMeValid string
	// SessionsEnded says that the reset ended the account's other sign-ins (session
	// tracking is on); "changed" mail only.
	SessionsEnded bool
}

// MailTemplates renders the two messages resetgate sends: "reset" (the link) and "changed"
// (the notice after a reset), in the offered languages. Each has a text template, reset.txt /
// changed.txt, defining "subject" and "body", and an HTML one, reset.html / changed.html,
// defining "body"; a file such as reset.de.txt is used for one language only.
type MailTemplates struct {
	text  map[string]*texttemplate.Template // by "reset" or "reset.de"
	html  map[string]*htmltemplate.Template
	langs Languages
}

var mailKinds = []string{"reset", "changed"}

// mailFuncs build the markup that catalogue messages take as values ({{.L.HTML "key" "email"
// (strong .Email)}}): each escapes what it is given.
var mailFuncs = htmltemplate.FuncMap{
	"strong": func(s string) htmltemplate.HTML {
		return htmltemplate.HTML("<strong>" + htmltemplate.HTMLEscapeString(s) + "</strong>")
	},
	"code": func(s string) htmltemplate.HTML {
		return htmltemplate.HTML(`<strong style="font-family:ui-monospace,Menlo,Consolas,monospace;font-size:18px;letter-spacing:2px;color:#1f2328;">` +
			htmltemplate.HTMLEscapeString(s) + "</strong>")
	},
	// link is an <a> to an http(s) URL in the accent colour (checked by checkLook).
	"link": func(href, accent, text string) (htmltemplate.HTML, error) {
		if u, err := url.Parse(href); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return "", fmt.Errorf("link to %q: not an http(s) URL", href)
		}
		if !accentRe.MatchString(accent) {
			return "", fmt.Errorf("link colour %q: not a colour", accent)
		}
		return htmltemplate.HTML(`<a href="` + htmltemplate.HTMLEscapeString(href) + `" style="color:` + accent + `;">` +
			htmltemplate.HTMLEscapeString(text) + "</a>"), nil
	},
}

// LoadMailTemplates parses the built-in templates, then any file of the same name in dir (when
// dir is not nil) in their place, so operators can restyle the mail without rebuilding, and
// keeps langs to write them in. It fails on the first template that does not parse, or does
// not render with sample data in every offered language.
func LoadMailTemplates(dir fs.FS, langs Languages) (*MailTemplates, error) {
	if langs == nil {
		return nil, errors.New("reset: mail templates need the languages to write mails in")
	}
	builtin, _ := fs.Sub(builtinMail, "mailtmpl")
	mt := &MailTemplates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}, langs: langs}
	read := func(name string, required bool) ([]byte, error) {
		if dir != nil {
			custom, err := fs.ReadFile(dir, name)
			if err == nil || !errors.Is(err, fs.ErrNotExist) {
				return custom, err
			}
		}
		src, err := fs.ReadFile(builtin, name)
		if !required && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return src, err
	}
	for _, kind := range mailKinds {
		for _, variant := range append([]string{""}, langs.Tags()...) {
			key := kind
			if variant != "" {
				key += "." + variant
			}
			for _, ext := range []string{".txt", ".html"} {
				name := key + ext
				src, err := read(name, variant == "")
				if err != nil {
					return nil, fmt.Errorf("mail template %s: %w", name, err)
				}
				if src == nil {
					continue
				}
				if ext == ".txt" {
					t, err := texttemplate.New(name).Option("missingkey=error").Parse(string(src))
					if err != nil {
						return nil, fmt.Errorf("mail template %s: %w", name, err)
					}
					mt.text[key] = t
				} else {
					t, err := htmltemplate.New(name).Funcs(mailFuncs).Option("missingkey=error").Parse(string(src))
					if err != nil {
						return nil, fmt.Errorf("mail template %s: %w", name, err)
					}
					mt.html[key] = t
				}
			}
		}
		for _, tag := range langs.Tags() {
			l := langs.Language(tag)
			sample := MailData{L: l, Site: "Example", Brand: "Example", Logo: "https://example.com/logo.png", Accent: DefaultAccentColor, Name: "Ada", Email: "ada@example.com", Link: "https://example.com/pwreset/x",
				Code: "ABCD-EFGH", CodeURL: "https://example.com/pwreset/code",
				ResetURL: "https://example.com/pwreset", Valid: l.Duration(time.Hour), WasntMe: "https://example.com/pwreset/wasnt-me/x", WasntMeValid: l.Duration(7 * 24 * time.Hour),
				IP: "192.0.2.1", Time: l.Time(time.Date(2006, 1, 2, 15, 4, 0, 0, time.UTC))}
			if _, err := mt.render(kind, "nobody@example.com", sample); err != nil {
				return nil, err
			}
		}
	}
	return mt, nil
}

// render builds the message kind ("reset" or "changed") to the address to, in d.L, with the
// templates for d.L's language where there are any.
func (mt *MailTemplates) render(kind, to string, d MailData) (Message, error) {
	var subject, text, html bytes.Buffer
	tk, hk := kind, kind
	if _, ok := mt.text[kind+"."+d.L.Tag()]; ok {
		tk = kind + "." + d.L.Tag()
	}
	if _, ok := mt.html[kind+"."+d.L.Tag()]; ok {
		hk = kind + "." + d.L.Tag()
	}
	t := mt.text[tk]
	if err := t.ExecuteTemplate(&subject, "subject", d); err != nil {
		return Message{}, fmt.Errorf("mail template %s.txt: subject: %w", tk, err)
	}
	if err := t.ExecuteTemplate(&text, "body", d); err != nil {
		return Message{}, fmt.Errorf("mail template %s.txt: body: %w", tk, err)
	}
	if err := mt.html[hk].ExecuteTemplate(&html, "body", d); err != nil {
		return Message{}, fmt.Errorf("mail template %s.html: body: %w", hk, err)
	}
	// A subject is one header line: folding it here keeps a template's stray newline from
	// becoming a header injection (SECURITY.md RQ-HDR-05).
	subj := strings.Join(strings.Fields(subject.String()), " ")
	return Message{To: to, Subject: subj, Text: text.String(), HTML: html.String(), Language: d.L.Tag()}, nil
}
