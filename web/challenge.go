package web

import (
	"errors"
	"net/http"

	"resetgate/challenge"
	"resetgate/reset"
)

// challengeView is what request.html shows while the guard is active: the proof-of-work
// challenge for pow.js, or a hosted captcha widget.
type challengeView struct {
	PoW     string // the challenge as JSON, for data-pow
	Class   string // captcha: the widget element's class
	SiteKey string
	Script  string // captcha: the provider's script
	Module  bool
	csp     map[string]string // captcha: the sources its widget needs, per CSP directive
}

// requestPage renders the request form with status, the address and problems, and a fresh
// challenge when the guard is active. A captcha's origins are allowed by the CSP on this page
// only.
func (h *Handler) requestPage(w http.ResponseWriter, r *http.Request, status int, email string, problems ...string) {
	p := page{Title: "Reset your password", Email: clip(email, reset.MaxEmailLen), Problems: problems}
	if g := h.guard.Load(); g.Active() {
		wd, err := g.Widget()
		if err != nil {
			h.log.ErrorContext(r.Context(), "challenge could not be drawn", "err", err)
			h.respondError(w, r, http.StatusServiceUnavailable, "", 0)
			return
		}
		p.Challenge = &challengeView{PoW: wd.PoW, SiteKey: wd.SiteKey}
		if c := wd.Captcha; c != nil {
			p.Challenge.Class, p.Challenge.Script, p.Challenge.Module, p.Challenge.csp = c.Class, c.Script, c.Module, c.CSP
			w.Header().Set("Content-Security-Policy", csp(c.CSP))
		}
	}
	h.render(w, r, status, "request", p)
}

// passChallenge counts the submission for the auto mode and, while the guard is active,
// checks its answer. It answers the client itself and returns false when the answer fails.
// It runs before the Service sees the address, so its answer cannot depend on the account
// (SECURITY.md RQ-REQ-01, RQ-REQ-10).
func (h *Handler) passChallenge(w http.ResponseWriter, r *http.Request, email string) bool {
	g := h.guard.Load()
	g.Count()
	if !g.Active() {
		return true
	}
	err := g.Verify(r.Context(), r.PostForm, h.clientIP(r))
	if err == nil {
		return true
	}
	captcha := g.Field() != challenge.PoWField
	switch {
	case errors.Is(err, challenge.ErrUnavailable):
		// Fail closed: the address is kept, nothing is sent.
		h.log.WarnContext(r.Context(), "challenge could not be verified; the request form refuses until it can", "err", err)
		h.requestPage(w, r, http.StatusServiceUnavailable, email, "We could not run the automatic check just now, so nothing was sent. Please try again in a minute.")
	case captcha:
		h.requestPage(w, r, http.StatusBadRequest, email, "Please complete the check above the button, then send the form again.")
	case errors.Is(err, challenge.ErrMissing):
		h.requestPage(w, r, http.StatusBadRequest, email, "Because of unusually many requests, this form needs a quick automatic check that runs with JavaScript. Turn JavaScript on for this site and send the form again, or try again later.")
	default:
		// Debug: under a flood every request fails, and the access log has each already.
		h.log.DebugContext(r.Context(), "challenge failed", "err", err)
		h.requestPage(w, r, http.StatusBadRequest, email, "The automatic check did not finish in time. Please send the form again.")
	}
	return false
}
