package redis_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"resetgate/internal/testenv"
	"resetgate/reset"
	"resetgate/reset/redis"
)

// The same benchmarks as reset/bolt's, against the machine's Redis, to compare the two
// backends on the request path (two Allow calls and one Enqueue per POST {prefix}):
//
//	go test -run '^$' -bench . -cpu 2 ./reset/bolt ./reset/redis
//
// The Parallel ones keep 128 callers per CPU busy and report ops/s. Redis acknowledges a
// write once it is in memory (and, with appendonly, written to the AOF file; see the package
// doc), so these measure round trips and script execution, not fsyncs.

func benchStore(b *testing.B) *redis.Store {
	b.Helper()
	addr := testenv.Redis(b)
	return mustOpen(b, addr, newPrefix(b, addr))
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkEnqueueParallel(b *testing.B) {
	s := benchStore(b)
	var n atomic.Int64
	b.SetParallelism(128)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			j := reset.Job{Kind: reset.JobReset, Email: fmt.Sprintf("u%d@example.com", n.Add(1)), ClientIP: "192.0.2.1", CreatedAt: time.Now()}
			if err := s.Enqueue(b.Context(), j); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b)
}

func BenchmarkAllowParallel(b *testing.B) {
	s := benchStore(b)
	var n atomic.Int64
	b.SetParallelism(128)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("req-ip:192.0.2.%d", n.Add(1)%250)
			if _, _, err := s.Allow(b.Context(), key, 20, time.Hour, time.Now()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b)
}

// BenchmarkRequestPathParallel makes the store calls of one POST {prefix}, as reset.Service
// does.
func BenchmarkRequestPathParallel(b *testing.B) {
	s := benchStore(b)
	var n atomic.Int64
	b.SetParallelism(128)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i, now := n.Add(1), time.Now()
			email := fmt.Sprintf("u%d@example.com", i)
			if _, _, err := s.Allow(b.Context(), fmt.Sprintf("req-ip:192.0.2.%d", i%250), 20, time.Hour, now); err != nil {
				b.Error(err)
			}
			if _, _, err := s.Allow(b.Context(), "req-email:"+email, 3, time.Hour, now); err != nil {
				b.Error(err)
			}
			j := reset.Job{Kind: reset.JobReset, Email: email, ClientIP: "192.0.2.1", CreatedAt: now}
			if err := s.Enqueue(b.Context(), j); err != nil {
				b.Error(err)
			}
		}
	})
	reportRate(b)
}

// BenchmarkNextJobAck is the worker's loop over a full queue: lease the oldest job, ack it.
func BenchmarkNextJobAck(b *testing.B) {
	s := benchStore(b)
	now := time.Now()
	for i := range b.N {
		if err := s.Enqueue(b.Context(), reset.Job{Kind: reset.JobReset, Email: fmt.Sprintf("u%d@example.com", i), CreatedAt: now}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		j, err := s.NextJob(b.Context(), now, now.Add(time.Minute))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.AckJob(b.Context(), j.ID); err != nil {
			b.Fatal(err)
		}
	}
}
