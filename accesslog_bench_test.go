package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"resetgate/internal/asynclog"
	"resetgate/internal/clientip"
	"resetgate/web"
)

// BenchmarkInstrument is the public handler's own cost per proxied request (metrics, access
// log, in-flight count) around a handler that answers at once: with the access log off, with
// the line written synchronously to a file (as before issue 17), and through the asynchronous
// batched writer serve uses. Its cpu-ns/op is the whole process's CPU per request (getrusage),
// which also counts the writer goroutine's work that ns/op does not see. No timing is asserted.
func BenchmarkInstrument(b *testing.B) {
	// A file, as the harness gives resetgate's stderr (a pipe to journald costs more per write).
	null, err := os.Create(filepath.Join(b.TempDir(), "stderr.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { null.Close() })
	ips, err := clientip.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, mode string
		log        func(b *testing.B) (*slog.Logger, *asynclog.Logger)
	}{
		{"access log off", "off", func(*testing.B) (*slog.Logger, *asynclog.Logger) {
			return slog.New(slog.NewJSONHandler(io.Discard, nil)), nil
		}},
		{"access log sync", "all", func(*testing.B) (*slog.Logger, *asynclog.Logger) {
			return slog.New(slog.NewJSONHandler(null, nil)), nil
		}},
		{"access log async", "all", func(b *testing.B) (*slog.Logger, *asynclog.Logger) { return benchAsyncLogger(b, null) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var mode atomic.Value
			mode.Store(bc.mode)
			var inflight sync.WaitGroup
			log, q := bc.log(b)
			h := instrument(log, "/pwreset", &mode, newMetrics(&app{}), fakeRouted{route: web.Upstream, status: http.StatusOK}, ips.IP, &inflight)
			r := httptest.NewRequest("GET", "/account/settings", nil)
			r.RemoteAddr = "192.0.2.7:4711"
			w := discardWriter{h: http.Header{}}
			b.ReportAllocs()
			cpu0 := processCPU()
			n := 0
			for b.Loop() {
				h.ServeHTTP(w, r)
				// A tight loop outruns any writer; let this one keep up as it does under real
				// traffic, where a request costs tens of µs, so that nothing is dropped and the
				// queue never grows past serve's 1,024 lines.
				if n++; q != nil && n%256 == 0 {
					q.Flush()
				}
			}
			if q != nil {
				q.Close() // the writer's work belongs to this run's CPU
				b.ReportMetric(float64(q.Dropped())/float64(b.N), "dropped/op")
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so that the benchmark measures
// instrument rather than httptest.ResponseRecorder.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchAsyncLogger is serve's access logger (newAccessLog) writing JSON to f.
func benchAsyncLogger(b *testing.B, f *os.File) (*slog.Logger, *asynclog.Logger) {
	root, _ := newLogger("json", "info", f)
	log, q := newAccessLog(root)
	if q == nil {
		b.Fatal("newAccessLog returned a synchronous logger for newLogger's")
	}
	b.Cleanup(q.Close)
	return log, q
}
