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
func (h *Handler) requestPage(w http.ResponseWriter, r *http.Request, status int, email string, problems []reset.Problem) {
	p := page{title: "request.title", Email: clip(email, reset.MaxEmailLen), problems: problems}
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
		h.requestPage(w, r, http.StatusServiceUnavailable, email, problem("request.check_unavailable"))
	case captcha:
		h.requestPage(w, r, http.StatusBadRequest, email, problem("request.check_incomplete"))
	case errors.Is(err, challenge.ErrMissing):
		h.requestPage(w, r, http.StatusBadRequest, email, problem("request.check_needs_script"))
	default:
		// Debug: under a flood every request fails, and the access log has each already.
		h.log.DebugContext(r.Context(), "challenge failed", "err", err)
		h.requestPage(w, r, http.StatusBadRequest, email, problem("request.check_expired"))
	}
	return false
}
