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
	Valid         string // how long the link works, e.g. "1 hour"
	IP            string // the client address of the request
	Time          string // when, in UTC, e.g. "Mon, 02 Jan 2006 15:04 UTC"
	// WasntMe is the "this wasn't me" link (changed notice only), working for WasntMeValid
	// ("7 days"); empty in the reset mail.
	WasntMe, WasntMeValid string
	// SessionsEnded says that the reset ended the account's other sign-ins (session
	// tracking is on); "changed" mail only.
	SessionsEnded bool
}

// MailTemplates renders the two messages resetgate sends: "reset" (the link) and "changed"
// (the notice after a reset). Each has a text template, reset.txt / changed.txt, defining
// "subject" and "body", and an HTML one, reset.html / changed.html, defining "body".
type MailTemplates struct {
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

// LoadMailTemplates parses the built-in templates, then any file of the same name in dir (when
// dir is not nil) in their place, so operators can restyle the mail without rebuilding. It
// fails on the first template that does not parse or does not render with sample data.
func LoadMailTemplates(dir fs.FS) (*MailTemplates, error) {
	builtin, _ := fs.Sub(builtinMail, "mailtmpl")
	mt := &MailTemplates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	for _, kind := range []string{"reset", "changed"} {
		for _, ext := range []string{".txt", ".html"} {
			name := kind + ext
			src, err := fs.ReadFile(builtin, name)
			if dir != nil {
				if custom, cerr := fs.ReadFile(dir, name); cerr == nil {
					src, err = custom, nil
				} else if !errors.Is(cerr, fs.ErrNotExist) {
					return nil, fmt.Errorf("mail template %s: %w", name, cerr)
				}
			}
			if err != nil {
				return nil, fmt.Errorf("mail template %s: %w", name, err)
			}
			if ext == ".txt" {
				t, err := texttemplate.New(name).Option("missingkey=error").Parse(string(src))
				if err != nil {
					return nil, fmt.Errorf("mail template %s: %w", name, err)
				}
				mt.text[kind] = t
			} else {
				t, err := htmltemplate.New(name).Option("missingkey=error").Parse(string(src))
				if err != nil {
					return nil, fmt.Errorf("mail template %s: %w", name, err)
				}
				mt.html[kind] = t
			}
		}
		sample := MailData{Site: "Example", Brand: "Example", Logo: "https://example.com/logo.png", Accent: DefaultAccentColor, Name: "Ada", Email: "ada@example.com", Link: "https://example.com/pwreset/x",
			Code: "ABCD-EFGH", CodeURL: "https://example.com/pwreset/code",
			ResetURL: "https://example.com/pwreset", Valid: "1 hour", WasntMe: "https://example.com/pwreset/wasnt-me/x", WasntMeValid: "7 days", IP: "192.0.2.1", Time: "Mon, 02 Jan 2006 15:04 UTC"}
		if _, err := mt.render(kind, "nobody@example.com", sample); err != nil {
			return nil, err
		}
	}
	return mt, nil
}

// render builds the message kind ("reset" or "changed") to the address to.
func (mt *MailTemplates) render(kind, to string, d MailData) (Message, error) {
	var subject, text, html bytes.Buffer
	t := mt.text[kind]
	if err := t.ExecuteTemplate(&subject, "subject", d); err != nil {
		return Message{}, fmt.Errorf("mail template %s.txt: subject: %w", kind, err)
	}
	if err := t.ExecuteTemplate(&text, "body", d); err != nil {
		return Message{}, fmt.Errorf("mail template %s.txt: body: %w", kind, err)
	}
	if err := mt.html[kind].ExecuteTemplate(&html, "body", d); err != nil {
		return Message{}, fmt.Errorf("mail template %s.html: body: %w", kind, err)
	}
	// A subject is one header line: folding it here keeps a template's stray newline from
	// becoming a header injection (SECURITY.md RQ-HDR-05).
	subj := strings.Join(strings.Fields(subject.String()), " ")
	return Message{To: to, Subject: subj, Text: text.String(), HTML: html.String()}, nil
}
