package web

import (
	"errors"
	"net/http"

	"resetgate/reset"
)

// The code page (issue 14, item 1; SECURITY.md RQ-COD-01): the reset mail carries a short
// code beside the link, for people who read mail on one device and reset on another, and for
// mail scanners that open links. The page takes the address and the code and, when both are
// right, continues exactly as opening the link does. Every refusal reads the same, whoever
// the address belongs to.

// codeWrong is the one answer (a catalogue key) for a wrong code, an unknown address, an
// expired, used or voided reset, and an address locked after too many wrong codes.
const codeWrong = "code.wrong"

// codePage renders the code form with status, the address and at most one problem: a
// catalogue key, then its values.
func (h *Handler) codePage(w http.ResponseWriter, r *http.Request, status int, email string, why ...any) {
	p := page{title: "code.title", Email: clip(email, reset.MaxEmailLen), valid: h.o.Service.TokenTTL()}
	if len(why) > 0 {
		key, _ := why[0].(string)
		p.problems = problem(key, why[1:]...)
	}
	h.render(w, r, status, "code", p)
}

func (h *Handler) handleCodeForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.o.Service.CodesEnabled() {
			h.respondError(w, r, http.StatusNotFound, "", 0)
			return
		}
		h.codePage(w, r, http.StatusOK, "")
	})
}

func (h *Handler) handleCode() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.o.Service.CodesEnabled() {
			h.respondError(w, r, http.StatusNotFound, "", 0)
			return
		}
		f, err := readForm(r, "email", "code")
		switch {
		case errors.Is(err, errTooLarge):
			h.codePage(w, r, http.StatusBadRequest, "", "code.too_large")
			return
		case err != nil:
			h.codePage(w, r, http.StatusBadRequest, "", "code.need_both")
			return
		}
		if f["code"] == "" {
			h.codePage(w, r, http.StatusBadRequest, f["email"], "code.need_code")
			return
		}
		raw, err := h.o.Service.EnterCode(r.Context(), f["email"], f["code"], h.clientIP(r))
		switch {
		case errors.Is(err, reset.ErrMalformedEmail) && len(f["email"]) > reset.MaxEmailLen:
			h.codePage(w, r, http.StatusBadRequest, "", "form.email_too_long", "n", reset.MaxEmailLen)
		case errors.Is(err, reset.ErrMalformedEmail):
			h.codePage(w, r, http.StatusBadRequest, f["email"], "code.need_email")
		case errors.Is(err, reset.ErrCodeInvalid):
			h.codePage(w, r, http.StatusBadRequest, f["email"], codeWrong, "n", reset.CodeAttempts)
		case err != nil:
			h.respondServiceError(w, r, err)
		default:
			h.openLink(w, r, raw)
		}
	})
}
