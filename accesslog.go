package main

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"resetgate/internal/asynclog"
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
//
// log gets one Info line per request; serve passes the asynchronous logger of [newAccessLog],
// so that writing the line never delays or blocks the request.
func instrument(log *slog.Logger, prefix string, mode *atomic.Value, m *metrics, h routed, client func(*http.Request) netip.Addr, inflight *sync.WaitGroup) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inflight.Add(1)
		defer inflight.Done()
		start := time.Now()
		route := h.Route(r)
		rec := recorders.Get().(*recorder)
		*rec = recorder{ResponseWriter: w}
		h.ServeRoute(rec, r, route)
		d := time.Since(start)
		code, bytes := rec.code(r), rec.bytes
		*rec = recorder{} // let go of w before pooling
		recorders.Put(rec)
		m.request(route, code, d)
		if mode := mode.Load().(string); mode == "off" || mode == "reset" && route == web.Upstream {
			return
		}
		ctx, lh := r.Context(), log.Handler()
		if !lh.Enabled(ctx, slog.LevelInfo) {
			return
		}
		remote := "unknown"
		if ip := client(r); ip.IsValid() {
			remote = ip.String()
		}
		// The record is built here rather than by log.LogAttrs, which would also walk the
		// stack for the caller's pc (a tenth of the line's cost) that no handler of ours prints.
		line := slog.NewRecord(start.Add(d), slog.LevelInfo, "request", 0)
		line.AddAttrs(
			slog.String("method", r.Method),
			slog.String("path", redactPath(prefix, route, r.URL.Path)),
			slog.String("route", route.String()),
			slog.Int("status", code),
			slog.Int64("bytes", bytes),
			slog.Duration("duration", d),
			slog.String("remote", remote),
		)
		lh.Handle(ctx, line)
	})
}

// recorders pools the per-request [recorder]: a handler must not use its ResponseWriter after
// ServeHTTP returns (net/http's contract), so the recorder is free again once ServeRoute is.
var recorders = sync.Pool{New: func() any { return new(recorder) }}

// newAccessLog returns the logger for the access lines: when log is one of [newLogger]'s, an
// asynchronous twin that formats the same lines in a background goroutine and writes them in
// batches (internal/asynclog), dropping and counting lines rather than waiting when the output
// falls behind, with a warning on log at most once a minute. The caller must Close the
// returned asynclog.Logger after the last request (serve's drain). Any other logger (tests,
// commands) is returned as it is, synchronous, with a nil asynclog.Logger.
func newAccessLog(log *slog.Logger) (*slog.Logger, *asynclog.Logger) {
	out, ok := log.Handler().(*logOutput)
	if !ok {
		return log, nil
	}
	q := asynclog.New(out.w, out.build, asynclog.Options{Warn: func(n uint64) {
		log.Warn("access log lines dropped: the log output is slower than the requests (resetgate_access_log_dropped_total)",
			"dropped", n)
	}})
	return slog.New(q.Handler()), q
}

// closeAccessLog writes the queued access lines and stops the access log's writer; lines
// logged afterwards are written synchronously.
func (a *app) closeAccessLog() {
	if a.accessQueue != nil {
		a.accessQueue.Close()
	}
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
