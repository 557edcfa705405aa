package main

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"resetgate/internal/admission"
	"resetgate/reset"
)

// pagesWait is how long one of resetgate's pages may wait for its turn before it is answered
// 503 with Retry-After: each page takes about a millisecond once in, and the completions that
// wait for a hash slot have left the gate, so only a flood waits this long.
const pagesWait = 10 * time.Second

// pagesPerCPU and pagesMin make [limits] pages_in_flight's default: few places, so that a
// burst of links opened at once leaves the proxied traffic a short run queue (issue 17: with
// 200 argon2id completions on 2 CPUs the probe's p99 was 5–6× idle without the gate, 3–4× with
// 16 places, 1.6–3× with 4). The request form's store writes do not hold a place
// (reset.Options.Waiting), so its group commits stay as large as the clients make them.
const (
	pagesPerCPU = 2
	pagesMin    = 4
)

// pagesGate is the gate in front of resetgate's pages (web.Options.Gate): internal/admission,
// plus a warning, at most once a minute, while it turns pages away. door is the one in front
// of the new-password submissions (web.Options.Completions): one more place than the hash
// slots, so that one completion prepares (token, account, strength) while another hashes, and
// no time limit, since their pace is the hashes'. With 200 argon2id completions in flight the
// rest then wait holding their connection and body only: peak RSS 200 over 20 in flight went
// from +18 to +10 MiB (issue 17).
type pagesGate struct {
	*admission.Gate
	door   *admission.Gate
	log    *slog.Logger
	warned atomic.Int64 // unix nanoseconds of the last warning
}

func newPagesGate(n int, log *slog.Logger) *pagesGate {
	if n == 0 {
		n = max(pagesMin, pagesPerCPU*startProcs)
	}
	return &pagesGate{Gate: admission.New(n, pagesWait), door: admission.New(reset.DefaultHashSlots()+1, 0), log: log}
}

func (g *pagesGate) Enter(ctx context.Context) (context.Context, func(), error) {
	c, done, err := g.Gate.Enter(ctx)
	if errors.Is(err, admission.ErrBusy) {
		now, last := time.Now().UnixNano(), g.warned.Load()
		if now-last >= int64(time.Minute) && g.warned.CompareAndSwap(last, now) {
			st := g.Stats()
			g.log.Warn("resetgate's pages are turning requests away (503): every place stayed taken for "+pagesWait.String()+"; a flood, or [limits] pages_in_flight is too low",
				"event", "pages_busy", "places", st.Places, "waiting", st.Waiting, "turned_away", st.TurnedAway)
		}
	}
	return c, done, err
}

// collectors are the gates' metrics, read from their Stats at each scrape.
func (g *pagesGate) collectors() []prometheus.Collector {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	return []prometheus.Collector{
		gauge("resetgate_pages_in_flight", "resetgate's own pages being served right now; at resetgate_pages_places, more wait their turn.",
			func() float64 { return float64(g.Stats().Inside) }),
		gauge("resetgate_pages_places", "How many of resetgate's own pages may be served at once ([limits] pages_in_flight).",
			func() float64 { return float64(g.Stats().Places) }),
		gauge("resetgate_pages_waiting", "Requests for resetgate's own pages waiting for their turn.",
			func() float64 { return float64(g.Stats().Waiting) }),
		gauge("resetgate_completions_waiting", "New-password submissions waiting for one of the hash slots' places (hash slots + 1 are served at once).",
			func() float64 { return float64(g.door.Stats().Waiting) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "resetgate_pages_turned_away_total",
			Help: "Requests for resetgate's own pages answered 503 after waiting the longest wait for their turn.",
		}, func() float64 { return float64(g.Stats().TurnedAway) }),
	}
}
