package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"resetgate/reset"
)

var pageNames = []string{"request", "sent", "code", "new", "done", "invalid", "error", "wasntme"}

type pageSet map[string]*template.Template

// parsePages parses every page with the layout, taking each file from override when it has
// one and from the embedded templates otherwise.
func parsePages(override fs.FS, assets map[string]string) (pageSet, error) {
	builtin, _ := fs.Sub(embedded, "templates")
	read := func(name string) ([]byte, error) {
		if override != nil {
			b, err := fs.ReadFile(override, name)
			if err == nil {
				return b, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
		return fs.ReadFile(builtin, name)
	}
	funcs := template.FuncMap{"asset": func(name string) (string, error) {
		if u, ok := assets[name]; ok {
			return u, nil
		}
		return "", fmt.Errorf("no static file %q", name)
	}}
	layout, err := read("layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: template layout.html: %w", err)
	}
	ps := pageSet{}
	for _, name := range pageNames {
		src, err := read(name + ".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s.html: %w", name, err)
		}
		t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(string(layout))
		if err == nil {
			_, err = t.Parse(string(src))
		}
		if err != nil {
			return nil, fmt.Errorf("web: template %s.html: %w", name, err)
		}
		// Render once with sample data so that a broken override fails at start-up (or on
		// reload), not in front of a user.
		if err := t.ExecuteTemplate(new(bytes.Buffer), "layout", page{Title: "t", Site: "s", Brand: "b", Prefix: "/p", Rules: reset.PasswordRules{Min: 8, Max: 128}}); err != nil {
			return nil, fmt.Errorf("web: template %s.html: %w", name, err)
		}
		ps[name] = t
	}
	return ps, nil
}

// page is what every template sees.
type page struct {
	Title      string
	Site       string
	Prefix     string
	Email      string   // request form: the submitted value; new form: the account's address
	Problems   []string // what to correct, shown above the form
	Rules      reset.PasswordRules
	Valid      string // how long links work
	Flash      string
	Message    string // error page
	RetryAfter string // error page, for 429
	Script     bool   // include form.js
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
}

// render writes the page with the given status. Templates render into a buffer first, so a
// template error becomes a clean 500 page instead of half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Site, p.Prefix, p.SignIn = h.o.Site, h.o.Prefix, h.o.SignInURL
	p.SessionsEnded = h.o.Service.TracksSessions()
	p.Usernames = h.o.Service.AcceptsUsernames()
	p.Codes = h.o.Service.CodesEnabled()
	p.Brand, p.Logo, p.Theme, p.Stylesheets = h.o.Brand, h.o.LogoURL, h.theme != nil, h.o.Stylesheets
	t := (*h.pages.Load())[name]
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
		fmt.Fprintln(w, "Something went wrong on our side. Please try again in a minute.")
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

// errorPages is the one table from status to what the user reads.
var errorPages = map[int]struct{ title, message string }{
	http.StatusBadRequest:            {"That did not work", "The form could not be read. Please fill it in again."},
	http.StatusForbidden:             {"Request refused", "This form can only be sent from this site's own pages. Open the page again and resubmit."},
	http.StatusNotFound:              {"Page not found", "There is no page at this address."},
	http.StatusMethodNotAllowed:      {"Not allowed", "This page cannot be used that way."},
	http.StatusRequestEntityTooLarge: {"Too much data", "The form sent more data than a password reset needs."},
	http.StatusConflict:              {"This password cannot be changed here", "Your account keeps its password in a way that this page cannot change, so nothing was changed. Please contact the site's support team to reset it."},
	http.StatusTooManyRequests:       {"Too many attempts", "There were too many attempts from your network in a short time."},
	http.StatusInternalServerError:   {"Something went wrong", "Something went wrong on our side. Nothing was changed."},
	http.StatusServiceUnavailable:    {"Temporarily unavailable", "We could not complete this right now, and nothing was changed. Please try again in a minute."},
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

// respondError writes the error page for status; message overrides the table's text.
func (h *Handler) respondError(w http.ResponseWriter, r *http.Request, status int, message string, retry time.Duration) {
	e, ok := errorPages[status]
	if !ok {
		e = errorPages[http.StatusInternalServerError]
	}
	if message == "" {
		message = e.message
	}
	p := page{Title: e.title, Message: message}
	if retry > 0 {
		secs := int(retry.Round(time.Second) / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		p.RetryAfter = humanWait(retry)
	}
	h.render(w, r, status, "error", p)
}

func humanWait(d time.Duration) string {
	switch {
	case d <= time.Minute:
		return "a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes", int((d+time.Minute-1)/time.Minute))
	case d < 2*time.Hour:
		return "an hour"
	}
	return fmt.Sprintf("%d hours", int((d+time.Hour-1)/time.Hour))
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
