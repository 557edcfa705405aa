package main

import (
	"log/slog"
	"runtime"
	"sync"
	"testing"
)

// GOMAXPROCS grows by the hash slots while anything hashes and returns after the last hash;
// an operator's GOMAXPROCS is never touched.
func TestHashPoolLendsPsOnlyWhileHashing(t *testing.T) {
	h := startHashPool(func(string) string { return "" }, slog.New(slog.DiscardHandler))
	defer h.close()
	if !h.flexible {
		t.Skip("this system cannot lower a thread's priority")
	}
	before := runtime.GOMAXPROCS(0)
	var during []int
	var mu sync.Mutex
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
	for _, n := range during {
		if n != startProcs+h.slots {
			t.Errorf("GOMAXPROCS while hashing = %d, want %d", n, startProcs+h.slots)
		}
	}
	if after := runtime.GOMAXPROCS(0); after != before {
		t.Errorf("GOMAXPROCS after hashing = %d, want %d", after, before)
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
