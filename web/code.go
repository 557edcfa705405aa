package web

import (
	"errors"
	"fmt"
	"net/http"

	"resetgate/reset"
)

// The code page (issue 14, item 1; SECURITY.md RQ-COD-01): the reset mail carries a short
// code beside the link, for people who read mail on one device and reset on another, and for
// mail scanners that open links. The page takes the address and the code and, when both are
// right, continues exactly as opening the link does. Every refusal reads the same, whoever
// the address belongs to.

const codeTitle = "Enter your code"

// codeWrong is the one answer for a wrong code, an unknown address, an expired, used or
// voided reset, and an address locked after too many wrong codes.
var codeWrong = fmt.Sprintf("That code does not work for this address. Check both against the newest reset e-mail; a code works only until its link expires or is used, and after %d wrong tries you need to ask for a new link.", reset.CodeAttempts)

func (h *Handler) codePage(w http.ResponseWriter, r *http.Request, status int, email string, problems ...string) {
	h.render(w, r, status, "code", page{Title: codeTitle, Email: clip(email, reset.MaxEmailLen), Problems: problems, Valid: h.o.Service.TokenValidity()})
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
			h.codePage(w, r, http.StatusBadRequest, "", "That request was too large. Enter just your e-mail address and the code.")
			return
		case err != nil:
			h.codePage(w, r, http.StatusBadRequest, "", "Enter your e-mail address and the code from the e-mail.")
			return
		}
		if f["code"] == "" {
			h.codePage(w, r, http.StatusBadRequest, f["email"], "Enter the code from the e-mail, for example ABCD-EFGH.")
			return
		}
		raw, err := h.o.Service.EnterCode(r.Context(), f["email"], f["code"], h.clientIP(r))
		switch {
		case errors.Is(err, reset.ErrMalformedEmail) && len(f["email"]) > reset.MaxEmailLen:
			h.codePage(w, r, http.StatusBadRequest, "", fmt.Sprintf("That e-mail address is too long: an address has at most %d characters.", reset.MaxEmailLen))
		case errors.Is(err, reset.ErrMalformedEmail):
			h.codePage(w, r, http.StatusBadRequest, f["email"], "Enter the e-mail address the code was sent to, such as name@example.com.")
		case errors.Is(err, reset.ErrCodeInvalid):
			h.codePage(w, r, http.StatusBadRequest, f["email"], codeWrong)
		case err != nil:
			h.respondServiceError(w, r, err)
		default:
			h.openLink(w, r, raw)
		}
	})
}
