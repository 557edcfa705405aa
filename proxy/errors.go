package proxy

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
)

//go:embed errorpage.html
var errorPageHTML string

// ErrorText is what the error page says, in one language; package proxy has no words of its own.
type ErrorText struct {
	Lang, Dir      string // the <html> lang and dir ("ltr" or "rtl")
	Title, Message string // what happened
	Hint           string // what to do
	Retry          string // the button that loads the page again
	Code           string // the status, such as "Error 502"
}

var errorPageTemplate = template.Must(template.New("error").Parse(errorPageHTML))

// RenderErrorPage renders the error page for status. Render every page once, at start-up:
// the error path must not fail or allocate much when the app is down and every request
// lands on it.
func RenderErrorPage(status int, t ErrorText) ([]byte, error) {
	if t.Lang == "" {
		t.Lang, t.Dir = "en", "ltr"
	}
	if t.Title == "" {
		t.Title = http.StatusText(status)
	}
	if t.Code == "" {
		t.Code = strconv.Itoa(status)
	}
	var b bytes.Buffer
	if err := errorPageTemplate.Execute(&b, t); err != nil {
		return nil, fmt.Errorf("proxy: render error page: %w", err)
	}
	return b.Bytes(), nil
}

// barePages are the pages without an ErrorPage: the status alone.
var barePages = func() map[int][]byte {
	m := map[int][]byte{}
	for _, status := range []int{http.StatusBadGateway, http.StatusGatewayTimeout} {
		page, err := RenderErrorPage(status, ErrorText{})
		if err != nil {
			panic(err)
		}
		m[status] = page
	}
	return m
}()

// errorPageCSP allows the page's inline style and nothing else: no scripts, no third-party
// origins, no framing.
const errorPageCSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// serveError is the ReverseProxy's ErrorHandler: the app could not be reached, timed out,
// or broke the exchange. The client gets a generic page (502, or 504 for timeouts) that
// reveals nothing about the upstream; the log gets the error without the query string,
// where tokens and other secrets live. A client that went away gets neither a page nor an
// error record: that is not the app's fault and nobody is left to read the page.
//
// r is the outbound request, whose context is the client's.
func (p *Proxy) serveError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		p.log.LogAttrs(r.Context(), slog.LevelDebug, "client canceled proxied request",
			slog.String("method", r.Method), slog.String("path", r.URL.EscapedPath()))
		return
	}
	status := http.StatusBadGateway
	if isTimeout(err) {
		status = http.StatusGatewayTimeout
	}
	p.log.LogAttrs(r.Context(), slog.LevelError, "upstream request failed",
		slog.Int("status", status),
		slog.String("method", r.Method),
		slog.String("path", r.URL.EscapedPath()),
		slog.String("error", withoutURL(err).Error()))

	page := barePages[status]
	if p.errorPage != nil {
		page = p.errorPage(r, status)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(page)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", errorPageCSP)
	w.WriteHeader(status)
	_, _ = w.Write(page)
}

// isTimeout reports whether err is a deadline: the request's context, a dial or TLS
// timeout, or a timeout set on a custom Transport.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// withoutURL strips a *url.Error's URL (which carries the query string) and keeps the cause.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}
