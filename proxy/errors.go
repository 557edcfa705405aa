package proxy

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
)

//go:embed errorpage.html
var errorPageHTML string

// errorPages holds the two pages, rendered once at start-up: the error path must not fail or
// allocate much when the app is down and every request lands on it.
var errorPages = map[int][]byte{
	http.StatusBadGateway: renderErrorPage(http.StatusBadGateway,
		"The application is not answering right now",
		"The site behind this address did not respond. It may be restarting or briefly overloaded."),
	http.StatusGatewayTimeout: renderErrorPage(http.StatusGatewayTimeout,
		"The application is taking too long to answer",
		"The site behind this address did not respond in time. It may be busy or briefly overloaded."),
}

func renderErrorPage(status int, title, message string) []byte {
	t := template.Must(template.New("error").Parse(errorPageHTML))
	var b bytes.Buffer
	err := t.Execute(&b, struct {
		Status            int
		StatusText, Title string
		Message           string
	}{status, http.StatusText(status), title, message})
	if err != nil {
		panic("proxy: render embedded error page: " + err.Error())
	}
	return b.Bytes()
}

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

	page := errorPages[status]
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
