package main

import (
	"math"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const wrkOutput = `Running 6s test @ http://127.0.0.1:40343/page
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.35ms    2.85ms  52.11ms   89.91%
    Req/Sec    10.01k     1.02k   12.43k    71.67%
  Latency Distribution
     50%    2.73ms
     75%    3.80ms
     90%    5.61ms
     99%   14.88ms
  119540 requests in 6.00s, 268.48MB read
  Non-2xx or 3xx responses: 3
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:  19919.56
Transfer/sec:     44.74MB
`

func TestParseWrk(t *testing.T) {
	got, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatalf("parseWrk() = %v", err)
	}
	want := wrkResult{Requests: 119540, Duration: 6 * time.Second, RPS: 19919.56, P50: 2730 * time.Microsecond, P99: 14880 * time.Microsecond, Non2xx3xx: 3, SocketErrs: 3}
	if got != want {
		t.Errorf("parseWrk() = %+v, want %+v", got, want)
	}
}

func TestParseWrkRefusesIncompleteOutput(t *testing.T) {
	tests := []struct {
		name string
		out  string
	}{
		{"empty", ""},
		{"no latency distribution", strings.Replace(wrkOutput, "     99%   14.88ms\n", "", 1)},
		{"no request count", strings.Replace(wrkOutput, "119540 requests in 6.00s", "", 1)},
		{"no rate", strings.Replace(wrkOutput, "Requests/sec:  19919.56", "", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseWrk(tt.out); err == nil {
				t.Errorf("parseWrk(%s) = nil error, want one", tt.name)
			}
		})
	}
}

func TestWrkDuration(t *testing.T) {
	tests := []struct {
		num, unit string
		want      time.Duration
	}{
		{"850.00", "us", 850 * time.Microsecond},
		{"1.23", "ms", 1230 * time.Microsecond},
		{"2.00", "s", 2 * time.Second},
		{"1.50", "m", 90 * time.Second},
	}
	for _, tt := range tests {
		got, err := wrkDuration(tt.num, tt.unit)
		if err != nil || got != tt.want {
			t.Errorf("wrkDuration(%q, %q) = %v, %v, want %v", tt.num, tt.unit, got, err, tt.want)
		}
	}
	if _, err := wrkDuration("1", "d"); err == nil {
		t.Errorf("wrkDuration(%q, %q) = nil error, want one", "1", "d")
	}
}

func TestParseStatCPU(t *testing.T) {
	// The command name may contain spaces and parentheses; utime is 1500, stime 250.
	stat := "4242 (we(ir)d name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 1500 250 0 0 20 0 8 0 123 456 789\n"
	got, err := parseStatCPU([]byte(stat))
	if err != nil || got != 1750 {
		t.Errorf("parseStatCPU(%q) = %d, %v, want 1750", stat, got, err)
	}
	if _, err := parseStatCPU([]byte("4242 (x) S 1 2")); err == nil {
		t.Errorf("parseStatCPU(short) = nil error, want one")
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tresetgate\nVmHWM:\t   51640 kB\nVmRSS:\t   35332 kB\nRssAnon:\t   12376 kB\n"
	got, err := parseStatus(strings.NewReader(status), "VmRSS", "VmHWM")
	if err != nil || got["VmRSS"] != 35332 || got["VmHWM"] != 51640 {
		t.Errorf("parseStatus() = %v, %v, want VmRSS 35332, VmHWM 51640", got, err)
	}
	if _, err := parseStatus(strings.NewReader(status), "RssFile"); err == nil {
		t.Errorf("parseStatus(no RssFile) = nil error, want one")
	}
}

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
pkg: resetgate/bench
BenchmarkProxy/bare-2   	  287767	      3916 ns/op	    2589 B/op	      26 allocs/op
BenchmarkDispatch-2     	33595617	        40.94 ns/op	       0 B/op	       0 allocs/op
pkg: resetgate/reset/bolt
BenchmarkEnqueueParallel-2   	    5000	    160000 ns/op	      6250 ops/s	    1234 B/op	      20 allocs/op
PASS
`
	got := parseGoBench(out)
	if len(got) != 3 {
		t.Fatalf("parseGoBench() = %d results, want 3: %+v", len(got), got)
	}
	if g := got[0]; g.pkg != "resetgate/bench" || g.name != "BenchmarkProxy/bare" || g.nsOp != 3916 || g.bytesOp != 2589 || g.allocs != 26 {
		t.Errorf("parseGoBench()[0] = %+v", g)
	}
	if g := got[2]; g.pkg != "resetgate/reset/bolt" || len(g.extra) != 1 || g.extra[0] != "6250 ops/s" {
		t.Errorf("parseGoBench()[2] = %+v, want bolt with extra metric 6250 ops/s", g)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"odd", []float64{3, 1, 2}, 2},
		{"even", []float64{4, 1, 3, 2}, 2.5},
		{"NaN ignored", []float64{math.NaN(), 5, 1}, 3},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := median([]float64{math.NaN()}); !math.IsNaN(got) {
		t.Errorf("median(NaN) = %v, want NaN", got)
	}
}

// TestSummarizeLoadRatiosWithinRounds checks that ratios are taken inside each round and
// only then reduced to a median: a round where everything is slower must not skew them.
func TestSummarizeLoadRatiosWithinRounds(t *testing.T) {
	sample := func(round int, target string, rps, cpu float64) loadSample {
		return loadSample{round: round, target: target, scenario: "page", cpuUS: cpu, allocs: math.NaN(), allocBytes: math.NaN(),
			wrk: wrkResult{RPS: rps, P50: time.Millisecond, P99: 2 * time.Millisecond}}
	}
	samples := []loadSample{
		sample(1, "direct", 1000, math.NaN()), sample(1, "bare", 500, 40), sample(1, "resetgate", 400, 50),
		sample(2, "direct", 100, math.NaN()), sample(2, "bare", 50, 80), sample(2, "resetgate", 40, 100),
		sample(3, "direct", 1000, math.NaN()), sample(3, "bare", 500, 40), sample(3, "resetgate", 400, 50),
	}
	s := summarizeLoad(samples, "page", "resetgate")
	if s.rounds != 3 || s.rpsXBare != 0.8 || s.rpsXDirect != 0.4 || s.cpuXBare != 1.25 || s.cpu != 50 {
		t.Errorf("summarizeLoad() = %+v, want 3 rounds, ×bare 0.8, ×direct 0.4, cpu ×bare 1.25, cpu 50", s)
	}
}

func TestCumShares(t *testing.T) {
	out := `      flat  flat%   sum%        cum   cum%
     0.01s  0.36%  0.36%      1.81s 65.34%  net/http.(*conn).serve
         0     0% 33.57%      0.89s 32.13%  syscall.Syscall
         0     0% 38.63%      0.15s  5.42%  log/slog.(*Logger).LogAttrs
`
	got := cumShares(out)
	want := map[string]float64{}
	for _, c := range components {
		switch {
		case strings.HasPrefix(c.label, "net/http server"):
			want[c.label] = 65.34
		case strings.HasPrefix(c.label, "read/write"):
			want[c.label] = 32.13
		case strings.HasPrefix(c.label, "access log"):
			want[c.label] = 5.42
		}
	}
	if len(got) != len(want) {
		t.Fatalf("cumShares() = %v, want %v", got, want)
	}
	for _, s := range got {
		if want[s.label] != s.pct {
			t.Errorf("cumShares() %q = %v, want %v", s.label, s.pct, want[s.label])
		}
	}
}

func TestRequestScriptBodiesHaveEqualLengths(t *testing.T) {
	for _, kind := range []string{"known", "unknown"} {
		s := requestScript(kind)
		if !strings.Contains(s, `"application/x-www-form-urlencoded"`) || !strings.Contains(s, `"/pwreset"`) {
			t.Errorf("requestScript(%q) does not post a form to /pwreset:\n%s", kind, s)
		}
	}
	if len(requestScript("known"))+2 != len(requestScript("unknown")) { // "known" vs "unknown" in the comment
		t.Errorf("requestScript: known and unknown differ beyond their names")
	}
}

func TestHTMLPageSize(t *testing.T) {
	if got := len(htmlPage(pageSize)); got != pageSize {
		t.Errorf("len(htmlPage(%d)) = %d, want %d", pageSize, got, pageSize)
	}
}

// TestTransferDetectsLoss checks that the harness carries uploads, downloads and the
// full-duplex echo end to end and reports bytes that differ. Whether a proxy without full
// duplex loses bytes on a short echo depends on timing (it loses 256 KiB + 1 only when the app
// answers before the body is read), so that control lives in the deterministic
// proxy.TestPlainReverseProxyLosesBytes, and the 1 GiB harness run shows it for real.
func TestTransferDetectsLoss(t *testing.T) {
	up := httptest.NewServer(upstreamHandler())
	t.Cleanup(up.Close)
	u, err := url.Parse(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	const size = 4 << 20
	want := expectedStreamHash(size)
	tests := []struct {
		name       string
		fullDuplex bool
		kind       string
		intact     bool
	}{
		{"upload", false, "upload", true},
		{"download", false, "download", true},
		{"echo with full duplex", true, "echo", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			px := httptest.NewServer(newBareProxy(u, tt.fullDuplex))
			t.Cleanup(px.Close)
			got := transfer(t.Context(), tt.kind, px.URL, size, want, time.Minute)
			if got.intact != tt.intact {
				t.Errorf("transfer(%s) = %+v, want intact %v", tt.kind, got, tt.intact)
			}
		})
	}
	t.Run("download with a wrong expected hash", func(t *testing.T) {
		got := transfer(t.Context(), "download", up.URL, size, "00", time.Minute)
		if got.intact || !strings.Contains(got.outcome, "differ") {
			t.Errorf("transfer(download, wrong hash) = %+v, want bytes differ", got)
		}
	})
}

// TestBuildsLikeTheMakefile keeps the measured binary built as the shipped one: the Makefile's
// build target uses -trimpath and LDFLAGS starting with -s -w, CGO off.
func TestBuildsLikeTheMakefile(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join("..", "..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(mk)
	if !strings.Contains(text, "\nLDFLAGS  = -s -w ") || !strings.Contains(text, "CGO_ENABLED=0 $(GO) build -trimpath -ldflags \"$(LDFLAGS)\" -o resetgate .") {
		t.Fatal("the Makefile's build target changed: update shippedBuildFlags to build what it builds")
	}
	if got := strings.Join(shippedBuildFlags, " "); got != "-trimpath -ldflags -s -w" {
		t.Errorf("shippedBuildFlags = %q, want the Makefile's -trimpath -ldflags \"-s -w\"", got)
	}
}

func TestRoundOrderRotates(t *testing.T) {
	ts := []*target{{key: "a"}, {key: "b"}, {key: "c"}}
	for r, want := range map[int]string{1: "a, b, c", 2: "b, c, a", 3: "c, a, b", 4: "a, b, c"} {
		if got := keys(roundOrder(ts, r)); got != want {
			t.Errorf("round %d: %s, want %s", r, got, want)
		}
	}
	if keys(ts) != "a, b, c" {
		t.Errorf("roundOrder changed its argument: %s", keys(ts))
	}
}
