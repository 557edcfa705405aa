package bolt_test

import (
	"path/filepath"
	"testing"

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
