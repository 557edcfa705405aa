package proxy_test

import (
	"io"
	"net/http"
	"net/http/httputil"
	"runtime"
	"strings"
	"testing"
	"time"

	"resetgate/proxy"
)

// BenchmarkProxy sends GET requests for a 2 KB page over real loopback TCP through resetgate's
// Proxy and, interleaved in blocks so that machine drift hits both alike, through the Go
// floor: a bare httputil.ReverseProxy (SetURL + SetXForwarded) with the same tuned transport
// settings and buffer pool. Client and upstream run in the same process and cost the same in
// both arms, so differences are the proxies'.
//
// Reported per request: ns/op, B/op and allocs/op are resetgate's; bare-ns/op, bare-B/op and
// bare-allocs/op the floor's; ratio-ns and ratio-allocs are resetgate ÷ bare (≤ 1 is the
// target of issue 7).
func BenchmarkProxy(b *testing.B) {
	page := strings.Repeat("<p>legacy app page</p>\n", 2048/23)
	up := mustServe(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))
	upURL := mustURL(b, up.URL)

	ours := mustServe(b, mustProxy(b, up.URL, nil))
	bareTransport := proxy.NewTransport()
	b.Cleanup(bareTransport.CloseIdleConnections)
	bare := mustServe(b, &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upURL)
			pr.SetXForwarded()
		},
		Transport:  bareTransport,
		BufferPool: proxy.NewBufferPool(),
	})

	c := client(b)
	get := func(url string) {
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %s", url, resp.Status)
		}
	}
	// Warm both connection pools so the first block of either arm pays no handshakes.
	for range 8 {
		get(ours.URL + "/page?x=1")
		get(bare.URL + "/page?x=1")
	}

	type arm struct {
		url            string
		ns             time.Duration
		allocs, nbytes uint64
	}
	arms := []*arm{{url: ours.URL + "/page?x=1"}, {url: bare.URL + "/page?x=1"}}
	const block = 64
	var before, after runtime.MemStats
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(block, b.N-done)
		for _, a := range arms {
			runtime.ReadMemStats(&before)
			start := time.Now()
			for range n {
				get(a.url)
			}
			a.ns += time.Since(start)
			runtime.ReadMemStats(&after)
			a.allocs += after.Mallocs - before.Mallocs
			a.nbytes += after.TotalAlloc - before.TotalAlloc
		}
		done += n
	}
	b.StopTimer()

	per := func(v float64) float64 { return v / float64(b.N) }
	o, f := arms[0], arms[1]
	b.ReportMetric(per(float64(o.ns)), "ns/op")
	b.ReportMetric(per(float64(o.allocs)), "allocs/op")
	b.ReportMetric(per(float64(o.nbytes)), "B/op")
	b.ReportMetric(per(float64(f.ns)), "bare-ns/op")
	b.ReportMetric(per(float64(f.allocs)), "bare-allocs/op")
	b.ReportMetric(per(float64(f.nbytes)), "bare-B/op")
	b.ReportMetric(float64(o.ns)/float64(f.ns), "ratio-ns")
	b.ReportMetric(float64(o.allocs)/float64(f.allocs), "ratio-allocs")
}
