package i18n

import (
	"net/http"
	"runtime"
	"testing"
	"time"
)

// BenchmarkLoad is the start-up cost of every shipped catalogue; it reports the heap they
// keep (retained-B) beside the allocations.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(Options{}); err != nil {
			b.Fatal(err)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c, _ := Load(Options{})
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(c)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc), "retained-B")
}

// BenchmarkPick is the per-request cost of choosing a page's language from a browser's
// usual header.
func BenchmarkPick(b *testing.B) {
	c, err := Load(Options{})
	if err != nil {
		b.Fatal(err)
	}
	r, _ := http.NewRequest("GET", "/pwreset", nil)
	r.Header.Set("Accept-Language", "de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7")
	b.ReportAllocs()
	for b.Loop() {
		c.Pick(r, false)
	}
}

// BenchmarkText is one message with a duration, as the sent page writes it.
func BenchmarkText(b *testing.B) {
	c, err := Load(Options{})
	if err != nil {
		b.Fatal(err)
	}
	l := c.Get("ru")
	b.ReportAllocs()
	for b.Loop() {
		l.Text("sent.lead", "duration", 2*time.Hour)
	}
}
