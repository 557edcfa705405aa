package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"time"
)

// scenario is one kind of proxied request under load.
type scenario struct {
	key   string
	label string
	path  string
	dur   time.Duration
	rate  int // > 0: a fixed-rate open-loop run from the harness instead of wrk
}

// loadSample is one wrk run against one target in one round.
type loadSample struct {
	round    int
	target   string
	scenario string
	wrk      wrkResult
	// cpuUS is the proxy's CPU time (user+system, all processes of the target) per request,
	// in microseconds; NaN for direct.
	cpuUS float64
	// allocs and allocBytes per request, for Go proxies that expose runtime counters; NaN
	// otherwise.
	allocs, allocBytes float64
	gcs                uint64
}

// loadConfig is how hard and how long wrk pushes.
type loadConfig struct {
	threads, conns int
	warmup         time.Duration
	rounds         int
}

// measureLoad warms t up, then runs wrk once, reading the target's CPU ticks and runtime
// counters around the measured run.
func measureLoad(ctx context.Context, lc loadConfig, t *target, sc scenario) (loadSample, error) {
	s := loadSample{target: t.key, scenario: sc.key, cpuUS: math.NaN(), allocs: math.NaN(), allocBytes: math.NaN()}
	url := t.url + sc.path
	if lc.warmup > 0 && sc.rate == 0 {
		if _, err := runWrk(ctx, wrkArgs(lc.threads, lc.conns, lc.warmup, "", url)); err != nil {
			return s, err
		}
	}
	var t0 uint64
	var m0 memStats
	var err error
	if t.isProxy() {
		if t0, err = t.grp.cpu(); err != nil {
			return s, err
		}
		if t.stats != nil {
			if m0, err = t.stats(ctx); err != nil {
				return s, err
			}
		}
	}
	if sc.rate > 0 {
		s.wrk, err = openLoop(ctx, url, sc.rate, lc.conns, sc.dur)
	} else {
		s.wrk, err = runWrk(ctx, wrkArgs(lc.threads, lc.conns, sc.dur, "", url))
	}
	if err != nil {
		return s, err
	}
	if !t.isProxy() || s.wrk.Requests == 0 {
		return s, nil
	}
	t1, err := t.grp.cpu()
	if err != nil {
		return s, err
	}
	s.cpuUS = float64(t1-t0) / clockTicks * 1e6 / float64(s.wrk.Requests)
	if t.stats != nil {
		m1, err := t.stats(ctx)
		if err != nil {
			return s, err
		}
		n := float64(s.wrk.Requests)
		s.allocs = float64(m1.Mallocs-m0.Mallocs) / n
		s.allocBytes = float64(m1.TotalAlloc-m0.TotalAlloc) / n
		s.gcs = m1.NumGC - m0.NumGC
	}
	return s, nil
}

// runRounds runs every scenario against every target, round after round, so that drift on
// the shared machine hits all targets alike. Each round starts one target later than the last
// (A B C, B C A, C A B, …): a target that always ran right after the same other one would carry
// whatever that one left behind (sockets in TIME_WAIT, a warm or cold cache) in every round.
func runRounds(ctx context.Context, lc loadConfig, targets []*target, scenarios []scenario, logf func(string, ...any)) ([]loadSample, error) {
	var out []loadSample
	for r := 1; r <= lc.rounds; r++ {
		for _, sc := range scenarios {
			for _, t := range roundOrder(targets, r) {
				s, err := measureLoad(ctx, lc, t, sc)
				if err != nil {
					return out, fmt.Errorf("round %d, %s, %s: %w", r, t.key, sc.key, err)
				}
				s.round = r
				out = append(out, s)
				logf("round %d/%d %-6s %-18s %8.0f req/s  p50 %-9s p99 %-9s cpu %6.1f µs/req  allocs %5.1f/req",
					r, lc.rounds, sc.key, t.key, s.wrk.RPS, dur(s.wrk.P50), dur(s.wrk.P99), s.cpuUS, s.allocs)
			}
		}
	}
	return out, nil
}

// roundOrder is the targets in round r's order (r from 1): rotated by r−1.
func roundOrder(targets []*target, r int) []*target {
	if len(targets) == 0 {
		return nil
	}
	k := (r - 1) % len(targets)
	return append(append([]*target(nil), targets[k:]...), targets[:k]...)
}

// memRow is one target's memory: idle, peak under the load rounds, and per transfer.
type memRow struct {
	idleKB   int64
	anonKB   int64 // of idleKB: anonymous memory (heap, stacks)
	fileKB   int64 // of idleKB: file-backed pages (the mapped executable)
	loadHWM  int64 // VmHWM over the load rounds (peak reset before them)
	peakNote string
}

// warm sends a few sequential requests so that the idle measurement includes the pooled
// upstream connection and whatever the first request initialises.
func warm(ctx context.Context, url string) error {
	for range 20 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return nil
}

// openLoop sends GETs at a fixed rate over at most conns connections for d, and returns the
// results in wrk's shape. Each latency runs from the moment the request was due, not from
// when a connection became free, so a proxy that falls behind pays for the queue it causes
// (no coordinated omission).
func openLoop(ctx context.Context, url string, rate, conns int, d time.Duration) (wrkResult, error) {
	tr := &http.Transport{MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	n := int(d.Seconds() * float64(rate))
	due := make(chan time.Time, n)
	var (
		mu   sync.Mutex
		lat  latencies
		errs int64
		wg   sync.WaitGroup
	)
	for range conns {
		wg.Go(func() {
			for t := range due {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				resp, err := c.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				l := time.Since(t)
				mu.Lock()
				if err != nil || resp.StatusCode != http.StatusOK {
					errs++
				} else {
					lat = append(lat, l)
				}
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		due <- at
	}
	close(due)
	wg.Wait()
	el := time.Since(start)
	if ctx.Err() != nil {
		return wrkResult{}, ctx.Err()
	}
	return wrkResult{Requests: int64(len(lat)), Duration: el, RPS: float64(len(lat)) / el.Seconds(), P50: lat.pct(50), P99: lat.pct(99), SocketErrs: errs}, nil
}
