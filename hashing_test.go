package main

import (
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"
)

// GOMAXPROCS grows by the hash slots while anything hashes, stays grown through a burst and
// returns once nothing has hashed for the linger; an operator's GOMAXPROCS is never touched.
func TestHashPoolLendsPsOnlyWhileHashing(t *testing.T) {
	h := startHashPool(func(string) string { return "" }, slog.New(slog.DiscardHandler))
	defer h.close()
	if !h.flexible {
		t.Skip("this system cannot lower a thread's priority")
	}
	var changes []int
	var mu sync.Mutex
	h.setProcs = func(n int) int {
		mu.Lock()
		changes = append(changes, n)
		mu.Unlock()
		return runtime.GOMAXPROCS(n)
	}
	h.linger = 200 * time.Millisecond
	before := runtime.GOMAXPROCS(0)
	var during []int
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			h.run()(func() {
				mu.Lock()
				during = append(during, runtime.GOMAXPROCS(0))
				mu.Unlock()
			})
		})
	}
	wg.Wait()
	// A burst as the reset service makes one: hash after hash, never two at once.
	for range 20 {
		h.run()(func() {
			mu.Lock()
			during = append(during, runtime.GOMAXPROCS(0))
			mu.Unlock()
		})
	}
	for _, n := range during {
		if n != startProcs+h.slots {
			t.Errorf("GOMAXPROCS while hashing = %d, want %d", n, startProcs+h.slots)
		}
	}
	mu.Lock()
	if len(changes) != 1 {
		t.Errorf("GOMAXPROCS changed %d times during 24 hashes (%v), want once: each change stops the world", len(changes), changes)
	}
	mu.Unlock()
	if now := runtime.GOMAXPROCS(0); now != startProcs+h.slots {
		t.Errorf("GOMAXPROCS right after the last hash = %d, want it still raised (%d)", now, startProcs+h.slots)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.GOMAXPROCS(0) != before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.GOMAXPROCS(0); after != before {
		t.Errorf("GOMAXPROCS after the linger = %d, want %d", after, before)
	}

	own := startHashPool(func(k string) string {
		if k == "GOMAXPROCS" {
			return "2"
		}
		return ""
	}, slog.New(slog.DiscardHandler))
	defer own.close()
	own.run()(func() {
		if n := runtime.GOMAXPROCS(0); n != before {
			t.Errorf("with GOMAXPROCS set, it changed to %d while hashing", n)
		}
	})
	if startHashPool(func(string) string { return "normal" }, nil).run() != nil {
		t.Errorf("RESETGATE_HASH_PRIORITY=normal still runs hashes in the pool")
	}
}

// Closing the pool gives the Ps back at once, without waiting for the linger.
func TestHashPoolCloseRestoresGOMAXPROCS(t *testing.T) {
	h := startHashPool(func(string) string { return "" }, slog.New(slog.DiscardHandler))
	if !h.flexible {
		h.close()
		t.Skip("this system cannot lower a thread's priority")
	}
	before := runtime.GOMAXPROCS(0)
	h.linger = time.Hour
	h.run()(func() {})
	if n := runtime.GOMAXPROCS(0); n != before+h.slots {
		t.Fatalf("GOMAXPROCS after a hash = %d, want %d during the linger", n, before+h.slots)
	}
	h.close()
	if n := runtime.GOMAXPROCS(0); n != before {
		t.Errorf("GOMAXPROCS after close = %d, want %d", n, before)
	}
}
