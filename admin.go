package main

import (
	"fmt"
	"net/http"
	"time"
)

// adminHandler serves the admin listener: /healthz (alive; ?verbose adds every dependency),
// /readyz (can this process proxy), /status (dependencies and the mail queue) and /metrics.
func (a *app) adminHandler() http.Handler {
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
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		extra := map[string]any{"version": version}
		if q, err := a.store.Stats(r.Context(), time.Now()); err == nil {
			extra["queue"] = map[string]int{"due": q.Due, "delayed": q.Delayed, "leased": q.Leased, "dead": q.Dead}
		}
		writeStatus(w, a.health.all(r.Context()), extra)
	})
	mux.Handle("GET /metrics", a.metrics.handler())
	return mux
}
