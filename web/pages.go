package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"resetgate/i18n"
	"resetgate/reset"
)

var pageNames = []string{"request", "sent", "code", "new", "done", "invalid", "error", "wasntme"}

// pageSet holds each page's template by name ("request"), and by name and language
// ("request.de") where an override directory has one for that language.
type pageSet map[string]*template.Template

// page returns the template of page name for language tag.
func (ps pageSet) page(name, tag string) *template.Template {
	if t, ok := ps[name+"."+tag]; ok {
		return t
	}
	return ps[name]
}

// pageFuncs are the templates' functions: asset URLs, and the markup catalogue messages take
// as values ({{.L.HTML "new.account" "email" (strong .Email)}}), each escaping what it is
// given.
func pageFuncs(assets map[string]string) template.FuncMap {
	return template.FuncMap{
		"asset": func(name string) (string, error) {
			if u, ok := assets[name]; ok {
				return u, nil
			}
			return "", fmt.Errorf("no static file %q", name)
		},
		"strong": func(s string) template.HTML {
			return template.HTML("<strong>" + template.HTMLEscapeString(s) + "</strong>")
		},
		// link is an <a> to a local path or an http(s) URL; anything else (javascript:, a
		// scheme-relative //host) fails the render, since the markup skips html/template's
		// own URL filter.
		"link": func(href, text string) (template.HTML, error) {
			u, err := url.Parse(href)
			local := strings.HasPrefix(href, "/") && !strings.HasPrefix(href, "//") && !strings.HasPrefix(href, `/\`)
			if err != nil || !local && u.Scheme != "http" && u.Scheme != "https" {
				return "", fmt.Errorf("link to %q: not a local path or an http(s) URL", href)
			}
			return template.HTML(`<a href="` + template.HTMLEscapeString(href) + `">` + template.HTMLEscapeString(text) + "</a>"), nil
		},
	}
}

// parsePages parses every page with the layout, taking each file from override when it has
// one and from the embedded templates otherwise; override may also hold a page for one
// language (request.de.html, layout.de.html). Every page is rendered once in every offered
// language, so that a broken override fails at start-up (or on reload), not in front of a user.
func parsePages(override fs.FS, assets map[string]string, langs *i18n.Catalog) (pageSet, error) {
	builtin, _ := fs.Sub(embedded, "templates")
	read := func(name string, required bool) ([]byte, error) {
		if override != nil {
			b, err := fs.ReadFile(override, name)
			if err == nil {
				return b, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
		b, err := fs.ReadFile(builtin, name)
		if !required && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return b, err
	}
	funcs := pageFuncs(assets)
	layout, err := read("layout.html", true)
	if err != nil {
		return nil, fmt.Errorf("web: template layout.html: %w", err)
	}
	ps := pageSet{}
	parse := func(key string, layout, src []byte) error {
		t, err := template.New(key).Funcs(funcs).Option("missingkey=error").Parse(string(layout))
		if err == nil {
			_, err = t.Parse(string(src))
		}
		if err != nil {
			return fmt.Errorf("web: template %s.html: %w", key, err)
		}
		ps[key] = t
		return nil
	}
	for _, name := range pageNames {
		src, err := read(name+".html", true)
		if err != nil {
			return nil, fmt.Errorf("web: template %s.html: %w", name, err)
		}
		if err := parse(name, layout, src); err != nil {
			return nil, err
		}
		for _, tag := range langs.Tags() {
			own, err := read(name+"."+tag+".html", false)
			if err != nil {
				return nil, fmt.Errorf("web: template %s.%s.html: %w", name, tag, err)
			}
			ownLayout, err := read("layout."+tag+".html", false)
			if err != nil {
				return nil, fmt.Errorf("web: template layout.%s.html: %w", tag, err)
			}
			if own == nil && ownLayout == nil {
				continue
			}
			if own == nil {
				own = src
			}
			if ownLayout == nil {
				ownLayout = layout
			}
			if err := parse(name+"."+tag, ownLayout, own); err != nil {
				return nil, err
			}
		}
	}
	for _, l := range langs.Offered() {
		for _, name := range pageNames {
			sample := page{L: l, Title: "t", Site: "s", Brand: "b", Prefix: "/p", Rules: reset.PasswordRules{Min: 8, Max: 128},
				Languages: []langChoice{{Tag: l.Tag(), Name: l.Name(), Href: "/p?lang=" + l.Tag(), Current: true}}}
			if err := ps.page(name, l.Tag()).ExecuteTemplate(new(bytes.Buffer), "layout", sample); err != nil {
				return nil, fmt.Errorf("web: template %s.html in %s: %w", name, l.Tag(), err)
			}
		}
	}
	return ps, nil
}

// page is what every template sees. Handlers fill in the unexported fields with catalogue
// keys and durations; render puts them into words in the request's language.
type page struct {
	// L is the page's language: {{.L.Text "key" "name" value…}} writes a message in it,
	// {{.L.Tag}} and {{.L.Dir}} go on <html>. Languages are the switcher's choices, none
	// when only one language is offered.
	L         *i18n.Lang
	Languages []langChoice
	Title     string
	Site      string
	Prefix    string
	Email     string   // request form: the submitted value; new form: the account's address
	Problems  []string // what to correct, shown above the form
	Rules     reset.PasswordRules
	Valid     string // how long links work
	Flash     string
	Message   string // error page
	// RetryAfter is how long to wait, on the error page for 429.
	RetryAfter string
	Script     bool // include form.js
	// Challenge is the proof of work or captcha the request form asks for; nil: none.
	Challenge *challengeView
	// SignIn is the app's sign-in page, empty when none is known; the templates then send
	// users to the app's home page, "/".
	SignIn string
	// Usernames: the request form takes a username as well as an address.
	Usernames bool
	// State is the "this wasn't me" page's: confirm, done, already, or (empty) invalid; Link
	// is the sealed link the confirm form posts back.
	State, Link string
	// Brand, Logo, Theme and Stylesheets are [ui]: the header's name, the app's logo, whether
	// theme.css exists, and the app's stylesheets.
	Brand       string
	Logo        string
	Theme       bool
	Stylesheets []string
	// SessionsEnded: a completed reset ends the account's other sign-ins (session tracking).
	SessionsEnded bool
	// Codes: reset mails carry a typed code, entered on the code page.
	Codes bool

	title    string          // catalogue key of Title
	message  string          // catalogue key of Message
	problems []reset.Problem // become Problems
	valid    time.Duration   // becomes Valid
	retry    time.Duration   // becomes RetryAfter
}

// langChoice is one entry of the language switcher.
type langChoice struct {
	Tag, Name, Href string
	Current         bool
}

// words puts p's keys and durations into words in p.L.
func (p *page) words() {
	if p.title != "" {
		p.Title = p.L.Text(p.title)
	}
	if p.message != "" {
		p.Message = p.L.Text(p.message)
	}
	for _, pr := range p.problems {
		p.Problems = append(p.Problems, p.L.Text(pr.Key, pr.Args...))
	}
	if p.valid > 0 {
		p.Valid = p.L.Duration(p.valid)
	}
	if p.retry > 0 {
		p.RetryAfter = p.L.Wait(p.retry)
	}
}

// problem is the one-item problem list of a form refused for a reason of web's own.
func problem(key string, args ...any) []reset.Problem {
	return []reset.Problem{{Key: key, Args: args}}
}

// render writes the page with the given status. Templates render into a buffer first, so a
// template error becomes a clean 500 page instead of half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.L = h.lang(r)
	p.words()
	p.Languages = h.switcher(r, p.L)
	w.Header().Set("Content-Language", p.L.Tag())
	p.Site, p.Prefix, p.SignIn = h.o.Site, h.o.Prefix, h.o.SignInURL
	p.SessionsEnded = h.o.Service.TracksSessions()
	p.Usernames = h.o.Service.AcceptsUsernames()
	p.Codes = h.o.Service.CodesEnabled()
	p.Brand, p.Logo, p.Theme, p.Stylesheets = h.o.Brand, h.o.LogoURL, h.theme != nil, h.o.Stylesheets
	t := (*h.pages.Load()).page(name, p.L.Tag())
	if h.o.Frame != nil {
		body, csp, ok, err := h.framedPage(t, p)
		if err == nil && ok {
			w.Header().Set("Content-Security-Policy", csp)
			h.write(w, status, body)
			return
		}
		if err != nil {
			h.log.ErrorContext(r.Context(), "page failed to render", "page", name, "err", err)
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		h.log.ErrorContext(r.Context(), "page failed to render", "page", name, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintln(w, p.L.Text("error.unavailable.message"))
		return
	}
	h.write(w, status, buf.Bytes())
}

func (h *Handler) write(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// errorPages is the one table from status to what the user reads: catalogue keys.
var errorPages = map[int]struct{ title, message string }{
	http.StatusBadRequest:            {"error.bad_request.title", "error.bad_request.message"},
	http.StatusForbidden:             {"error.forbidden.title", "error.forbidden.message"},
	http.StatusNotFound:              {"error.not_found.title", "error.not_found.message"},
	http.StatusMethodNotAllowed:      {"error.method.title", "error.method.message"},
	http.StatusRequestEntityTooLarge: {"error.too_large.title", "error.too_large.message"},
	http.StatusConflict:              {"error.conflict.title", "error.conflict.message"},
	http.StatusTooManyRequests:       {"error.too_many.title", "error.too_many.message"},
	http.StatusInternalServerError:   {"error.internal.title", "error.internal.message"},
	http.StatusServiceUnavailable:    {"error.unavailable.title", "error.unavailable.message"},
}

func (h *Handler) handleError(status int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.respondError(w, r, status, "", 0)
	})
}

func (h *Handler) handleMethodNotAllowed() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allow := "GET, HEAD"
		if r.URL.Path == h.o.Prefix || r.URL.Path == h.o.Prefix+"/new" || r.URL.Path == h.o.Prefix+"/wasnt-me" || r.URL.Path == h.o.Prefix+"/code" {
			allow = "GET, HEAD, POST"
		}
		w.Header().Set("Allow", allow)
		h.respondError(w, r, http.StatusMethodNotAllowed, "", 0)
	})
}

// respondError writes the error page for status; message, a catalogue key, overrides the
// table's text.
func (h *Handler) respondError(w http.ResponseWriter, r *http.Request, status int, message string, retry time.Duration) {
	e, ok := errorPages[status]
	if !ok {
		e = errorPages[http.StatusInternalServerError]
	}
	if message == "" {
		message = e.message
	}
	p := page{title: e.title, message: message}
	if retry > 0 {
		secs := int(retry.Round(time.Second) / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		p.retry = retry
	}
	h.render(w, r, status, "error", p)
}

// respondServiceError maps the domain's errors to pages: the one table of error to status.
func (h *Handler) respondServiceError(w http.ResponseWriter, r *http.Request, err error) {
	var limited *reset.RateLimitError
	switch {
	case errors.As(err, &limited):
		h.respondError(w, r, http.StatusTooManyRequests, "", limited.RetryAfter)
	case errors.Is(err, reset.ErrTokenInvalid):
		h.forget(w, r)
		http.Redirect(w, r, h.o.Prefix+"/invalid", http.StatusSeeOther)
	case errors.Is(err, reset.ErrUnavailable):
		h.respondError(w, r, http.StatusServiceUnavailable, "", 0)
	case errors.Is(err, reset.ErrNotResettable):
		// Reached only with a valid link in hand, so it tells a stranger nothing (issue 15).
		h.forget(w, r)
		h.respondError(w, r, http.StatusConflict, "", 0)
	default:
		h.log.ErrorContext(r.Context(), "unexpected error", "path", r.URL.Path, "err", err)
		h.respondError(w, r, http.StatusInternalServerError, "", 0)
	}
}
