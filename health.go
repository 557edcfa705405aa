package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Health checks, split by what they mean (issue 20: readiness that followed SMTP and Redis
// took the whole app offline in an outage the durable queue exists to ride out):
//   - /readyz: can this process proxy? It is listening and not draining, and the app accepts
//     connections. Nothing else: the app's traffic must not depend on mail or on resetgate's
//     own state.
//   - /healthz: alive. With ?verbose, and at /status, every dependency (state store, the
//     app's database, the app, mail), each with its latency; also exported as
//     resetgate_dependency_up.
//
// The mail check logs in to the relay, so its result is kept for mailCheckTTL: probes from
// every replica every few seconds must not become relay logins.
const (
	checkTimeout = 5 * time.Second
	mailCheckTTL = 5 * time.Minute
)

type checkResult struct {
	Name    string        `json:"name"`
	OK      bool          `json:"ok"`
	Latency time.Duration `json:"-"`
	Ms      float64       `json:"latency_ms"`
	Error   string        `json:"error,omitempty"`
	Cached  bool          `json:"cached,omitempty"`
}

// health runs and caches the dependency checks.
type health struct {
	checks   []namedCheck
	draining atomic.Bool

	mu       sync.Mutex
	mail     checkResult
	mailAt   time.Time
	mailBusy chan struct{} // closed when the running mail check ends; nil when none runs
}

type namedCheck struct {
	name string
	fn   func(context.Context) error
}

func newHealth(a *app) *health {
	return &health{checks: []namedCheck{
		{"store", a.store.Ping},
		{"database", a.users.Ping},
		{"upstream", func(ctx context.Context) error { return dialUpstream(ctx, a.cfg) }},
		{"mail", a.mailer.Check},
	}}
}

func runCheck(ctx context.Context, c namedCheck) checkResult {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	start := time.Now()
	err := c.fn(ctx)
	r := checkResult{Name: c.name, OK: err == nil, Latency: time.Since(start)}
	r.Ms = float64(r.Latency.Microseconds()) / 1000
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// all runs every check at once; the mail check comes from its cache while fresh.
func (h *health) all(ctx context.Context) []checkResult {
	out := make([]checkResult, len(h.checks))
	var wg sync.WaitGroup
	for i, c := range h.checks {
		wg.Go(func() {
			if c.name == "mail" {
				out[i] = h.mailResult(ctx, c)
				return
			}
			out[i] = runCheck(ctx, c)
		})
	}
	wg.Wait()
	return out
}

// mailResult returns the cached mail check, running it (once, however many callers wait) when
// it is older than mailCheckTTL.
func (h *health) mailResult(ctx context.Context, c namedCheck) checkResult {
	h.mu.Lock()
	if !h.mailAt.IsZero() && time.Since(h.mailAt) < mailCheckTTL {
		r := h.mail
		h.mu.Unlock()
		r.Cached = true
		return r
	}
	busy := h.mailBusy
	if busy == nil {
		busy = make(chan struct{})
		h.mailBusy = busy
		go func() {
			r := runCheck(context.WithoutCancel(ctx), c)
			h.mu.Lock()
			h.mail, h.mailAt, h.mailBusy = r, time.Now(), nil
			h.mu.Unlock()
			close(busy)
		}()
	}
	h.mu.Unlock()
	select {
	case <-busy:
	case <-ctx.Done():
		return checkResult{Name: c.name, Error: "check still running: " + ctx.Err().Error()}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mail
}

// ready is the readiness answer: not draining, and the app reachable.
func (h *health) ready(ctx context.Context) []checkResult {
	if h.draining.Load() {
		return []checkResult{{Name: "draining", Error: "shutting down"}}
	}
	for _, c := range h.checks {
		if c.name == "upstream" {
			return []checkResult{runCheck(ctx, c)}
		}
	}
	return nil
}

// writeStatus answers 200 whatever the checks say, with "degraded" naming any failure.
func writeStatus(w http.ResponseWriter, results []checkResult, extra map[string]any) {
	status := "ok"
	for _, r := range results {
		if !r.OK {
			status = "degraded"
		}
	}
	body := map[string]any{"status": status, "checks": results}
	for k, v := range extra {
		body[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(body)
}

// writeChecks answers 200 when every check passed, else 503.
func writeChecks(w http.ResponseWriter, results []checkResult, extra map[string]any) {
	status, code := "ok", http.StatusOK
	for _, r := range results {
		if !r.OK {
			status, code = "unavailable", http.StatusServiceUnavailable
		}
	}
	body := map[string]any{"status": status, "checks": results}
	for k, v := range extra {
		body[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}
