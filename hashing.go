package main

import (
	"log/slog"
	"runtime"
	"sync"

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
// which knows the priorities, chooses; when the last hash ends, GOMAXPROCS goes back (one P
// more all the time cost 4 % more CPU per proxied request). An operator's own GOMAXPROCS is
// left alone.
type hashPool struct {
	p        *lowprio.Pool
	slots    int
	base     int  // GOMAXPROCS when nothing hashes
	flexible bool // false: the operator set GOMAXPROCS, or the threads kept their priority
	mu       sync.Mutex
	busy     int
}

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
	return &hashPool{p: p, slots: slots, base: startProcs, flexible: p.Lowered && getenv("GOMAXPROCS") == ""}
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

// adjust counts a hash in or out, raising GOMAXPROCS at the first and lowering it after the
// last (each change stops the world for microseconds; a burst keeps it raised throughout).
func (h *hashPool) adjust(d int) {
	if !h.flexible {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.busy += d
	switch {
	case d > 0 && h.busy == 1:
		runtime.GOMAXPROCS(h.base + h.slots)
	case d < 0 && h.busy == 0:
		runtime.GOMAXPROCS(h.base)
	}
}

func (h *hashPool) close() {
	if h != nil {
		h.p.Close()
	}
}
