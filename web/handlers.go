package web

import (
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/gorilla/sessions"

	"resetgate/reset"
)

// Session keys. The session cookie is encrypted and authenticated (gorilla/securecookie).
const (
	sessionToken   = "token"   // the raw token, between opening the link and setting the password
	sessionExpires = "expires" // the token's expiry, Unix seconds
)

// flashMaxAge is the lifetime of a session cookie that holds no token, only the "password
// changed" notice read by the next page.
const flashMaxAge = 5 * 60

func (h *Handler) session(r *http.Request) *sessions.Session {
	// A cookie that does not decode (old keys, tampering) yields a fresh, empty session.
	s, _ := h.cookies.Get(r, h.cookie)
	return s
}

// save writes the session cookie. Its Max-Age follows what it holds: while it carries a token,
// the token's remaining lifetime, so the cookie never outlives the link (issue 16, finding 7);
// with only a notice, a few minutes; empty, the cookie is deleted.
func (h *Handler) save(w http.ResponseWriter, r *http.Request, s *sessions.Session) {
	opts := *h.cookies.Options
	switch {
	case s.Values[sessionToken] != nil:
		exp, _ := s.Values[sessionExpires].(int64)
		opts.MaxAge = int(time.Unix(exp, 0).Sub(h.o.Now()) / time.Second)
		if opts.MaxAge <= 0 {
			opts.MaxAge = -1
		}
	case len(s.Values) == 0:
		opts.MaxAge = -1
	default:
		opts.MaxAge = flashMaxAge
	}
	s.Options = &opts
	if err := s.Save(r, w); err != nil {
		h.log.ErrorContext(r.Context(), "session cookie could not be written", "err", err)
	}
}

// forget drops the token from the session, so a dead link is not tried again.
func (h *Handler) forget(w http.ResponseWriter, r *http.Request) {
	s := h.session(r)
	if _, ok := s.Values[sessionToken]; ok {
		delete(s.Values, sessionToken)
		delete(s.Values, sessionExpires)
		h.save(w, r, s)
	}
}

func (h *Handler) handleRequestForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.requestPage(w, r, http.StatusOK, "", nil)
	})
}

func (h *Handler) handleRequest() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := readForm(r, "email")
		switch {
		case errors.Is(err, errTooLarge):
			h.requestProblem(w, r, "", "request.too_large")
			return
		case err != nil:
			h.requestProblem(w, r, "", "request.one_address")
			return
		}
		if !h.passChallenge(w, r, f["email"]) {
			return
		}
		err = h.o.Service.RequestReset(r.Context(), f["email"], h.clientIP(r))
		var limited *reset.RateLimitError
		switch {
		case errors.Is(err, reset.ErrMalformedEmail) && len(f["email"]) > reset.MaxEmailLen:
			// Said apart from "not an address", so the user knows it is not a typo (issue 19).
			h.requestProblem(w, r, "", "form.email_too_long", "n", reset.MaxEmailLen)
		case errors.Is(err, reset.ErrMalformedEmail) && h.o.Service.AcceptsUsernames():
			h.requestProblem(w, r, f["email"], "request.need_identifier")
		case errors.Is(err, reset.ErrMalformedEmail):
			h.requestProblem(w, r, f["email"], "request.need_email")
		case errors.As(err, &limited):
			h.respondError(w, r, http.StatusTooManyRequests, "request.too_many", limited.RetryAfter)
		default:
			// Known, unknown, limited per address, or not even queued: the same answer for
			// all (SECURITY.md RQ-REQ-01).
			http.Redirect(w, r, h.o.Prefix+"/sent", http.StatusSeeOther)
		}
	})
}

// requestProblem shows the request form again, 400, with one problem (a catalogue key and
// its values) and the submitted address (clipped to what the field holds).
func (h *Handler) requestProblem(w http.ResponseWriter, r *http.Request, email, key string, args ...any) {
	h.requestPage(w, r, http.StatusBadRequest, email, problem(key, args...))
}

func (h *Handler) handlePage(name, title string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, http.StatusOK, name, page{title: title, valid: h.o.Service.TokenTTL()})
	})
}

func (h *Handler) handleDone() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := page{title: "done.plain_title"}
		s := h.session(r)
		if flashes := s.Flashes(); len(flashes) > 0 {
			p.Flash, _ = flashes[0].(string)
			p.title = "done.title"
			h.save(w, r, s)
		}
		h.render(w, r, http.StatusOK, "done", p)
	})
}

// handleLink checks the link without consuming it, keeps the token in the encrypted session
// and redirects, so that the token leaves the address bar, the history and any Referer
// (DESIGN.md step 4; SECURITY.md RQ-LNK-06).
func (h *Handler) handleLink() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.openLink(w, r, mux.Vars(r)["token"])
	})
}

// openLink is what opening the link raw does, and what a right code continues with (see
// handleCode): check it, keep it in the session, go on to the new-password form.
func (h *Handler) openLink(w http.ResponseWriter, r *http.Request, raw string) {
	p, err := h.o.Service.CheckToken(r.Context(), raw, h.clientIP(r))
	if err != nil {
		h.respondServiceError(w, r, err)
		return
	}
	s := h.session(r)
	s.Values[sessionToken] = raw
	s.Values[sessionExpires] = p.Token.ExpiresAt.Unix()
	h.save(w, r, s)
	http.Redirect(w, r, h.o.Prefix+"/new", http.StatusSeeOther)
}

func (h *Handler) sessionToken(r *http.Request) string {
	raw, _ := h.session(r).Values[sessionToken].(string)
	return raw
}

func (h *Handler) handleNewForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := h.sessionToken(r)
		if raw == "" {
			http.Redirect(w, r, h.o.Prefix+"/invalid", http.StatusSeeOther)
			return
		}
		p, err := h.o.Service.CheckToken(r.Context(), raw, h.clientIP(r))
		if err != nil {
			h.respondServiceError(w, r, err)
			return
		}
		h.render(w, r, http.StatusOK, "new", h.newPage(p, nil))
	})
}

func (h *Handler) newPage(p reset.Pending, problems []reset.Problem) page {
	return page{title: "new.title", Email: p.User.Email, Rules: h.o.Service.Rules(p), problems: problems, Script: true}
}

func (h *Handler) handleNew() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := h.sessionToken(r)
		if raw == "" {
			http.Redirect(w, r, h.o.Prefix+"/invalid", http.StatusSeeOther)
			return
		}
		// Only the two password fields are read. The account comes from the token record,
		// whatever uid or email fields a client adds (SECURITY.md RQ-RST-03).
		f, err := readForm(r, "password", "password2")
		if errors.Is(err, errTooLarge) {
			h.respondError(w, r, http.StatusBadRequest, "new.too_large", 0)
			return
		}
		if err != nil {
			h.respondError(w, r, http.StatusBadRequest, "new.unreadable", 0)
			return
		}
		p, err := h.o.Service.CompleteReset(r.Context(), raw, f["password"], f["password2"], h.clientIP(r))
		var refused *reset.PolicyError
		switch {
		case errors.As(err, &refused):
			h.render(w, r, http.StatusUnprocessableEntity, "new", h.newPage(p, refused.Problems))
			return
		case err != nil:
			h.respondServiceError(w, r, err)
			return
		}
		s := h.session(r)
		delete(s.Values, sessionToken)
		delete(s.Values, sessionExpires)
		next := h.o.AfterResetURL
		if next == "" {
			next = h.o.Prefix + "/done"
			s.AddFlash("changed") // the done page then says so
		}
		h.save(w, r, s)
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
}

func (h *Handler) handleStatic(static fs.FS) http.Handler {
	files := http.StripPrefix(h.o.Prefix+"/static/", http.FileServerFS(static))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, h.o.Prefix+"/static/")
		if _, ok := h.assets[name]; !ok {
			h.respondError(w, r, http.StatusNotFound, "", 0)
			return
		}
		// URLs carry a content hash (see Handler.assets), so the files can be cached for good.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		if name == "theme.css" {
			w.Header().Set("Content-Type", "text/css; charset=utf-8")
			w.Header().Set("Content-Length", strconv.Itoa(len(h.theme)))
			if r.Method != http.MethodHead {
				w.Write(h.theme)
			}
			return
		}
		files.ServeHTTP(w, r)
	})
}

// Why readForm refused a form: the body went over [MaxBodyBytes], or anything else.
var (
	errTooLarge = errors.New("form body too large")
	errBadForm  = errors.New("malformed form")
)

// readForm reads an application/x-www-form-urlencoded body (already capped by limitBody) and
// returns the one value of each named field. It fails with errTooLarge for an oversized body
// and with errBadForm for any other content type, an unreadable body, a field given zero or
// several times, or a field also given in the query string: parameter pollution is refused,
// not resolved (SECURITY.md RQ-REQ-06).
func readForm(r *http.Request, fields ...string) (map[string]string, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errBadForm
	}
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errTooLarge
		}
		return nil, errBadForm
	}
	q := r.URL.Query()
	out := make(map[string]string, len(fields))
	for _, name := range fields {
		v := r.PostForm[name]
		if len(v) != 1 || q.Has(name) {
			return nil, errBadForm
		}
		out[name] = v[0]
	}
	return out, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
