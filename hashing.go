package main

import (
	"log/slog"
	"runtime"

	"resetgate/internal/lowprio"
	"resetgate/reset"
)

// hashPool is where the hashes and strength checks run: low-priority threads, so that a
// burst of resets gives way to the proxied traffic (issue 17). RESETGATE_HASH_PRIORITY=normal
// runs them at normal priority instead, for comparing, or where the proxy is alone on its
// machine and hashing should be quickest. A nil *hashPool is that normal priority.
type hashPool struct{ p *lowprio.Pool }

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
		return &hashPool{p}
	}
	// A hashing goroutine holds one of the Go scheduler's Ps while it runs, so with
	// GOMAXPROCS = NumCPU the proxy would wait for a P, however low the hash thread's priority.
	// One P more per slot lets the proxy's threads run and the kernel, which knows the
	// priorities, choose: the proxied p99 during 200 werkzeug completions fell from 4.1× to
	// 2.9× idle on 2 CPUs (BENCHMARKS.md, "Hashing at low priority"). An operator's own
	// GOMAXPROCS is kept.
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(startProcs + slots) // from the start-up value: the same however often
	}
	return &hashPool{p}
}

// run is reset.Options.RunHash: nil at normal priority.
func (h *hashPool) run() func(func()) {
	if h == nil {
		return nil
	}
	return h.p.Do
}

func (h *hashPool) close() {
	if h != nil {
		h.p.Close()
	}
}
