package main

import (
	"log/slog"
	"runtime"
	"sync"
	"time"

	"resetgate/internal/lowprio"
	"resetgate/reset"
)

// hashPool is where the hashes and strength checks run: low-priority threads, so that a
// burst of resets gives way to the proxied traffic (issue 17). RESETGATE_HASH_PRIORITY=normal
// runs them at normal priority instead, for comparing, or where the proxy is alone on its
// machine and hashing should be quickest. A nil *hashPool is that normal priority.
//
// A hashing goroutine holds one of the Go scheduler's Ps while it runs, so with GOMAXPROCS at
// the CPU count the proxy would wait for a P, however low the hash thread's priority. While
// anything hashes, the pool adds one P per slot, so the proxy's threads run and the kernel,
// which knows the priorities, chooses; once nothing has hashed for procsLinger, GOMAXPROCS
// goes back (one P more all the time cost 4 % more CPU per proxied request). An operator's
// own GOMAXPROCS is left alone.
//
// Each change of GOMAXPROCS stops the world, and the reset service's semaphore hands hashes
// out one slot at a time, so without the linger a burst went 1 → 0 → 1 busy twice per hash:
// in a runtime trace of 200 argon2id completions, goroutines spent 3.3 s of 6 s runnable
// behind those stops, and the proxied probe's p99 was 7× its idle p99 (issue 17).
type hashPool struct {
	p        *lowprio.Pool
	slots    int
	base     int  // GOMAXPROCS when nothing hashes
	flexible bool // false: the operator set GOMAXPROCS, or the threads kept their priority
	linger   time.Duration
	setProcs func(int) int // runtime.GOMAXPROCS; tests count the calls

	mu     sync.Mutex
	busy   int
	raised bool
	lower  *time.Timer // pending return to base, armed when the last hash ends
}

// procsLinger is how long the extra Ps stay after the last hash: longer than the gaps between
// the hashes of a burst (the next completion's token claim and strength check), short beside
// the idle time that follows one.
const procsLinger = time.Second

// startProcs is GOMAXPROCS as the runtime chose it (CPUs, or the container's CPU limit).
var startProcs = runtime.GOMAXPROCS(0)

func startHashPool(getenv func(string) string, log *slog.Logger) *hashPool {
	if getenv("RESETGATE_HASH_PRIORITY") == "normal" {
		return nil
	}
	slots := reset.DefaultHashSlots()
	p := lowprio.Start(slots)
	if !p.Lowered {
		log.Info("password hashing runs at normal priority: this system cannot lower one thread's")
	}
	return &hashPool{
		p: p, slots: slots, base: startProcs, linger: procsLinger, setProcs: runtime.GOMAXPROCS,
		flexible: p.Lowered && getenv("GOMAXPROCS") == "",
	}
}

// run is reset.Options.RunHash: nil at normal priority.
func (h *hashPool) run() func(func()) {
	if h == nil {
		return nil
	}
	return h.do
}

func (h *hashPool) do(f func()) {
	h.adjust(+1)
	defer h.adjust(-1)
	h.p.Do(f)
}

// adjust counts a hash in or out: the first raises GOMAXPROCS unless it still is, the last
// arms the timer that lowers it again.
func (h *hashPool) adjust(d int) {
	if !h.flexible {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.busy += d
	switch {
	case d > 0 && h.busy == 1:
		if h.lower != nil {
			h.lower.Stop()
		}
		if !h.raised {
			h.setProcs(h.base + h.slots)
			h.raised = true
		}
	case d < 0 && h.busy == 0:
		if h.lower == nil {
			h.lower = time.AfterFunc(h.linger, h.lowerIfIdle)
		} else {
			h.lower.Reset(h.linger)
		}
	}
}

// lowerIfIdle returns GOMAXPROCS to base, unless a hash began since the timer was armed (its
// Stop came too late to keep this from running).
func (h *hashPool) lowerIfIdle() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy == 0 && h.raised {
		h.setProcs(h.base)
		h.raised = false
	}
}

// close stops the threads once the hashes in progress end, and gives the Ps back.
func (h *hashPool) close() {
	if h == nil {
		return
	}
	h.p.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lower != nil {
		h.lower.Stop()
	}
	if h.raised {
		h.setProcs(h.base)
		h.raised = false
	}
}
