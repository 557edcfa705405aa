package redis_test

import (
	"testing"

	"resetgate/internal/testenv"
	"resetgate/reset"
	"resetgate/reset/resettest"
)

// BenchmarkStore runs the shared store benchmarks (see resettest.BenchmarkStore) against the
// machine's Redis, to compare with reset/bolt's. Redis acknowledges a write once it is in
// memory (and, with appendonly, in the AOF file; see the package doc), so these measure round
// trips and script execution, not fsyncs.
func BenchmarkStore(b *testing.B) {
	resettest.BenchmarkStore(b, func(tb testing.TB) reset.Store {
		addr := testenv.Redis(tb)
		return mustOpen(tb, addr, newPrefix(tb, addr))
	})
}
