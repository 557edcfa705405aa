package bolt_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"resetgate/reset"
	"resetgate/reset/bolt"
	"resetgate/reset/resettest"
)

// BenchmarkStore runs the shared store benchmarks (see resettest.BenchmarkStore) against bolt,
// committing with fsync as production does.
func BenchmarkStore(b *testing.B) {
	resettest.BenchmarkStore(b, func(tb testing.TB) reset.Store {
		s, err := bolt.Open(filepath.Join(tb.TempDir(), "state.db"), bolt.Options{})
		if err != nil {
			tb.Fatalf("Open() = %v", err)
		}
		tb.Cleanup(func() { s.Close() })
		return s
	})
}

// parkedDead is the review's figure (issue 20, item 6): with this many dead jobs stored, the
// first format's NextJob took 13.5 ms, as it scanned every job.
const parkedDead = 200_000

// BenchmarkNextJob and BenchmarkAllow compare a store with no dead jobs and one with
// parkedDead of them; the two figures of each should match:
//
//	go test -run '^$' -bench 'NextJob|Allow$' ./reset/bolt/
//
// They commit without fsync, so that they measure the store's work rather than the disk.
func BenchmarkNextJob(b *testing.B) {
	for _, dead := range []int{0, parkedDead} {
		s := mustOpenWithDead(b, dead)
		b.Run(fmt.Sprintf("dead=%d", dead), func(b *testing.B) {
			now := time.Now()
			enqueueMany(b, s, b.N, func(int) reset.Job {
				return reset.Job{ID: resettest.NewJobID(now), Kind: reset.JobReset, CreatedAt: now}
			})
			b.ResetTimer()
			for range b.N {
				j, err := s.NextJob(b.Context(), now, now.Add(time.Minute))
				if err != nil {
					b.Fatal(err)
				}
				if err := s.AckJob(b.Context(), j); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAllow(b *testing.B) {
	for _, dead := range []int{0, parkedDead} {
		s := mustOpenWithDead(b, dead)
		b.Run(fmt.Sprintf("dead=%d", dead), func(b *testing.B) {
			now := time.Now()
			for i := range b.N {
				if _, _, err := s.Allow(b.Context(), fmt.Sprintf("ip:192.0.2.%d", i%250), 20, time.Hour, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// mustOpenWithDead opens a store without fsync holding n dead jobs.
func mustOpenWithDead(b *testing.B, n int) *bolt.Store {
	b.Helper()
	s, err := bolt.Open(filepath.Join(b.TempDir(), "state.db"), bolt.Options{NoSync: true})
	if err != nil {
		b.Fatalf("Open() = %v", err)
	}
	b.Cleanup(func() { s.Close() })
	now := time.Now()
	enqueueMany(b, s, n, func(i int) reset.Job {
		return reset.Job{ID: resettest.NewJobID(now), Kind: reset.JobReset, Email: fmt.Sprintf("u%d@example.com", i),
			CreatedAt: now, Attempts: 10, LastError: "550 mailbox unavailable", Dead: true, DeadAt: now}
	})
	return s
}

// enqueueMany enqueues n jobs from many goroutines, so that they share commits.
func enqueueMany(b *testing.B, s *bolt.Store, n int, job func(i int) reset.Job) {
	b.Helper()
	const workers = 500
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := s.Enqueue(context.Background(), job(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
