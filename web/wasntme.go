package web

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"resetgate/reset"
)

// The "this wasn't me" pages (issue 11, SECURITY.md RQ-RST-08). Opening the link from the
// "password changed" notice only shows what confirming does: mail scanners that prefetch
// links trigger nothing (RQ-LNK-04). The confirmation is a POST behind the same
// cross-origin protection as every form here. No page says anything about the account, so
// they read the same whoever asks.

func (h *Handler) wasntMePage(state, link string) page {
	titles := map[string]string{"confirm": "wasntme.title", "done": "wasntme.done_title", "already": "wasntme.already_title", "": "invalid.title"}
	return page{title: titles[state], State: state, Link: link, valid: h.o.Service.WasntMeTTL(), Script: state == "confirm"}
}

func (h *Handler) handleWasntMeForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		link := mux.Vars(r)["link"]
		err := h.o.Service.CheckWasntMe(r.Context(), link)
		switch {
		case err == nil:
			h.render(w, r, http.StatusOK, "wasntme", h.wasntMePage("confirm", link))
		default:
			h.respondWasntMe(w, r, err)
		}
	})
}

func (h *Handler) handleWasntMe() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := readForm(r, "link")
		if err != nil {
			h.respondError(w, r, http.StatusBadRequest, "wasntme.unreadable", 0)
			return
		}
		err = h.o.Service.ConfirmWasntMe(r.Context(), f["link"], h.clientIP(r))
		if err == nil {
			// Rendered, not redirected: sending the form again answers "already done".
			h.render(w, r, http.StatusOK, "wasntme", h.wasntMePage("done", ""))
			return
		}
		h.respondWasntMe(w, r, err)
	})
}

// respondWasntMe maps the "this wasn't me" errors to pages.
func (h *Handler) respondWasntMe(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, reset.ErrWasntMeUsed):
		h.render(w, r, http.StatusOK, "wasntme", h.wasntMePage("already", ""))
	case errors.Is(err, reset.ErrWasntMeInvalid):
		h.render(w, r, http.StatusOK, "wasntme", h.wasntMePage("", ""))
	default:
		h.respondServiceError(w, r, err)
	}
}
