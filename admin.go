package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"resetgate/reset"
)

// adminHandler serves the admin listener: /healthz (alive; ?verbose adds every dependency),
// /readyz (can this process proxy), /status (dependencies and the mail queue), /metrics, and
// the admin API under /api/v1/ (see [adminAPI]). With [admin] token_env or token_file set,
// /status, /metrics and the API need the bearer token; the health checks never do.
func (a *app) adminHandler() http.Handler {
	token, err := a.cfg.Admin.token(a.getenv)
	if err != nil { // validated at load; the file may have gone since
		a.log.Error("admin API off: cannot read its token", "err", err)
		token = ""
	}
	// With a token configured, everything beyond the health checks needs it (SECURITY.md
	// RQ-ADM-01): /status names hosts and queue sizes, /metrics moves with real mail.
	guard := func(h http.Handler) http.Handler { return h }
	if token != "" {
		guard = func(h http.Handler) http.Handler { return requireToken(token, h, a.log) }
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.Query().Has("verbose") {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintln(w, `{"status":"ok"}`)
			return
		}
		// Alive whatever the dependencies say: a liveness probe pointed here must not
		// restart the process for a mail outage. The body says what is degraded.
		writeStatus(w, a.health.all(r.Context()), nil)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		writeChecks(w, a.health.ready(r.Context()), nil)
	})
	mux.Handle("GET /status", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		extra := map[string]any{"version": version}
		if q, err := a.store.Stats(r.Context(), time.Now()); err == nil {
			extra["queue"] = map[string]int{"due": q.Due, "delayed": q.Delayed, "leased": q.Leased, "dead": q.Dead}
		}
		writeStatus(w, a.health.all(r.Context()), extra)
	})))
	mux.Handle("GET /metrics", guard(a.metrics.handler()))
	mux.Handle(apiPrefix, adminAPI(token, a.operator(), a.log, a.svc.Audit))
	return mux
}

// operator is the [direct] operator over the server's own store, accounts and mailer, which
// the admin API serves its calls with.
func (a *app) operator() *direct {
	return &direct{
		store: a.store,
		users: func(context.Context) (reset.Users, error) { return a.users, nil },
		issue: func(ctx context.Context, email string) (reset.User, error) {
			_, u, err := a.svc.IssueLink(ctx, email, true)
			return u, err
		},
		lookup: func(s string) (string, error) { return lookupAddress(a.cfg, s) },
		valid:  a.svc.TokenValidity,
		now:    time.Now,
	}
}
