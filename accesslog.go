package main

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"resetgate/reset"
	"resetgate/web"
)

// routed is the public handler: it classifies each request once, for the metrics, the log and
// the dispatch alike.
type routed interface {
	Route(r *http.Request) web.Route
	ServeRoute(w http.ResponseWriter, r *http.Request, route web.Route)
}

// instrument counts and times every request for the metrics and writes the access log: one
// line per request with method, path (tokens redacted, no query string: apps put secrets
// there), status, bytes, duration and the client (as resolved through trusted_proxies). The
// mode (access_log) is "all", "reset" (only the reset pages) or "off", and may change on SIGHUP.
// It also counts the requests in flight, so that shutdown can wait for them.
func instrument(log *slog.Logger, prefix string, mode *atomic.Value, m *metrics, h routed, client func(*http.Request) netip.Addr, inflight *sync.WaitGroup) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inflight.Add(1)
		defer inflight.Done()
		start := time.Now()
		route := h.Route(r)
		rec := &recorder{ResponseWriter: w}
		h.ServeRoute(rec, r, route)
		d := time.Since(start)
		code := rec.code(r)
		m.request(route, code, d)
		if mode := mode.Load().(string); mode == "off" || mode == "reset" && route == web.Upstream {
			return
		}
		remote := "unknown"
		if ip := client(r); ip.IsValid() {
			remote = ip.String()
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", redactPath(prefix, route, r.URL.Path)),
			slog.String("route", route.String()),
			slog.Int("status", code),
			slog.Int64("bytes", rec.bytes),
			slog.Duration("duration", d),
			slog.String("remote", remote),
		)
	})
}

// redactPath keeps tokens out of the access log (SECURITY.md RQ-LNK-07): under the prefix,
// any segment that is not one of the fixed page names is shown as {token}.
func redactPath(prefix string, route web.Route, p string) string {
	if route == web.Upstream {
		return p
	}
	rest, ok := strings.CutPrefix(p, prefix+"/")
	if !ok {
		if route == web.Refused {
			return "(refused path)"
		}
		return p
	}
	switch first, more, _ := strings.Cut(rest, "/"); first {
	case "", "sent", "code", "new", "done", "invalid", "static":
		return p
	case "wasnt-me":
		if more != "" {
			return prefix + "/wasnt-me/{link}" // the sealed this-wasn't-me link is a secret too
		}
		return p
	}
	if reset.ValidTokenShape(rest) || route == web.Refused {
		return prefix + "/{token}"
	}
	return prefix + "/{other}"
}
