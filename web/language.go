package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"resetgate/i18n"
	"resetgate/reset"
)

// Every page is in the user's language (issue 13): the one picked in the switcher, kept in a
// cookie, else the best match for the browser's Accept-Language, else the default. The
// language goes into the request's context, so that the mails a request queues are in it too.

type langKey struct{}

// langCookieAge is how long the switcher's choice is remembered.
const langCookieAge = 365 * 24 * time.Hour

// withLanguage picks the request's language and, for a GET with ?lang=, remembers the choice
// and sends the browser back to the same address without it: the switcher is plain links,
// so it works without JavaScript.
func (h *Handler) withLanguage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, h.o.Prefix+"/static/") {
			// The same bytes in every language, cached for good: no Vary, no cookie.
			next.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		// Only a canonical path is sent back to: a refused spelling such as
		// //evil.example/%252e%252e/pwreset would otherwise become an open redirect
		// (SECURITY.md RQ-RST-06); its page gets no switcher either.
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && q.Has("lang") && h.Route(r) == Reset {
			if l := h.langs.Get(q.Get("lang")); l != nil && len(q["lang"]) == 1 {
				http.SetCookie(w, &http.Cookie{Name: i18n.CookieName(h.secure), Value: l.Tag(), Path: "/",
					MaxAge: int(langCookieAge / time.Second), HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
			}
			q.Del("lang")
			back := url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
			http.Redirect(w, r, back.RequestURI(), http.StatusSeeOther)
			return
		}
		l := h.langs.Pick(r, h.secure)
		w.Header().Add("Vary", "Accept-Language, Cookie")
		ctx := context.WithValue(reset.WithLanguage(r.Context(), l.Tag()), langKey{}, l)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// lang returns the request's language, picked by withLanguage.
func (h *Handler) lang(r *http.Request) *i18n.Lang {
	if l, ok := r.Context().Value(langKey{}).(*i18n.Lang); ok {
		return l
	}
	return h.langs.Pick(r, h.secure)
}

// switcher lists the offered languages, each a link back to the page at r in it: none when
// only one is offered.
func (h *Handler) switcher(r *http.Request, current *i18n.Lang) []langChoice {
	offered := h.langs.Offered()
	if len(offered) < 2 || r.Method != http.MethodGet && r.Method != http.MethodHead || h.Route(r) != Reset {
		// After a POST the page has no address of its own to come back to; the form's
		// page does, and it has the switcher.
		return nil
	}
	choices := make([]langChoice, len(offered))
	for i, l := range offered {
		q := r.URL.Query()
		q.Set("lang", l.Tag())
		u := url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
		choices[i] = langChoice{Tag: l.Tag(), Name: l.Name(), Href: u.RequestURI(), Current: l == current}
	}
	return choices
}
