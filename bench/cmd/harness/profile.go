package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// pprofOverlay is added to package main, for the profiling build only, through `go build
// -overlay`: the working tree is not touched and the measured binary has no pprof in it.
const pprofOverlay = `package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

// Added by bench/cmd/harness through go build -overlay; never part of a release build.
func init() {
	if addr := os.Getenv("RESETGATE_BENCH_PPROF"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
}
`

// shippedBuildFlags are the Makefile's build flags for the binary, less the version stamping.
var shippedBuildFlags = []string{"-trimpath", "-ldflags", "-s -w"}

// buildResetgate builds the measured binary and the profiling one. A user overlay (go build
// -overlay JSON, for trying a change without editing the tree) applies to both.
func buildResetgate(ctx context.Context, e *env, userOverlay string) error {
	replace := map[string]string{}
	var args []string
	if userOverlay != "" {
		b, err := os.ReadFile(userOverlay)
		if err != nil {
			return err
		}
		var ov struct{ Replace map[string]string }
		if err := json.Unmarshal(b, &ov); err != nil {
			return fmt.Errorf("overlay %s: %w", userOverlay, err)
		}
		replace = ov.Replace
		abs, err := filepath.Abs(userOverlay)
		if err != nil {
			return err
		}
		args = []string{"-overlay", abs}
	}
	binDir := filepath.Join(e.work, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	e.resetgt = filepath.Join(binDir, "resetgate")
	// Built as `make build` and `make release` build what ships (static, -trimpath, without
	// the symbol table and DWARF), since idle RSS counts the mapped binary (issue 17).
	build := append([]string{"build"}, args...)
	build = append(build, shippedBuildFlags...)
	if _, err := runCmd(ctx, e.root, []string{"CGO_ENABLED=0"}, "go", append(build, "-o", e.resetgt, ".")...); err != nil {
		return err
	}
	src := filepath.Join(e.work, "pprof_overlay.go")
	if err := os.WriteFile(src, []byte(pprofOverlay), 0o644); err != nil {
		return err
	}
	replace[filepath.Join(e.root, "zz_bench_pprof_overlay.go")] = src
	ov, _ := json.Marshal(map[string]map[string]string{"Replace": replace})
	ovPath := filepath.Join(e.work, "overlay.json")
	if err := os.WriteFile(ovPath, ov, 0o644); err != nil {
		return err
	}
	bin := filepath.Join(binDir, "resetgate-pprof")
	if _, err := runCmd(ctx, e.root, nil, "go", "build", "-overlay", ovPath, "-o", bin, "."); err != nil {
		return err
	}
	e.pprofBin = bin
	return nil
}

// profileResult is a CPU and allocation profile of a proxy under the headline load.
type profileResult struct {
	target    string
	seconds   int
	requests  int64
	cpuTop    string  // pprof -top (flat)
	shares    []share // cumulative share of the components the reading names
	allocTop  string  // pprof -top of alloc_space during the run
	allocsTop string  // pprof -top of alloc_objects during the run
	heapIdle  string  // pprof -top of inuse_space before the run (after a GC)
}

type share struct {
	label string
	pct   float64
}

// components are the functions whose cumulative CPU share the report lists: where a proxied
// request's time goes.
var components = []struct{ label, re string }{
	{"net/http server connection (reads requests, writes responses; includes the handler)", `^net/http\.\(\*conn\)\.serve$`},
	{"ReverseProxy.ServeHTTP (the proxy handler, incl. the round trip)", `^net/http/httputil\.\(\*ReverseProxy\)\.ServeHTTP$`},
	{"Transport connection read loop (upstream responses)", `^net/http\.\(\*persistConn\)\.readLoop$`},
	{"Transport connection write loop (upstream requests)", `^net/http\.\(\*persistConn\)\.writeLoop$`},
	{"read/write system calls", `^syscall\.Syscall$`},
	{"access log: slog record formatting and writing", `^log/slog\.\(\*Logger\)\.LogAttrs$`},
	{"metrics: histogram Observe", `^github\.com/prometheus/client_golang/prometheus\.\(\*histogram\)\.Observe$`},
	{"metrics: counter Inc", `^github\.com/prometheus/client_golang/prometheus\.\(\*counter\)\.Inc$`},
	{"time.Now", `^time\.Now$`},
	{"resetgate proxy.rewrite", `^resetgate/proxy\.\(\*Proxy\)\.rewrite$`},
	{"web.Classify (prefix dispatch; called by the metrics, access log and web handlers)", `^resetgate/web\.Classify$`},
	{"garbage collector (background mark workers)", `^runtime\.gcBgMarkWorker$`},
	{"allocation (runtime.mallocgc)", `^runtime\.mallocgc$`},
	{"scheduler (runtime.schedule)", `^runtime\.schedule$`},
}

// profileTarget takes a CPU profile of t over a wrk run of the headline page, and the
// allocation profile's difference over the same run.
func profileTarget(ctx context.Context, e *env, lc loadConfig, t *target, bin string, d time.Duration) (profileResult, error) {
	res := profileResult{target: t.key, seconds: int((d - 2*time.Second) / time.Second)}
	dir := filepath.Join(e.work, "profile-"+t.key)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return res, err
	}
	heap := filepath.Join(dir, "heap-idle.pb.gz")
	if err := fetch(ctx, t.pprofURL+"/heap?gc=1", heap); err != nil {
		return res, err
	}
	idle, err := runCmd(ctx, "", nil, "go", "tool", "pprof", "-top", "-nodecount=8", "-sample_index=inuse_space", bin, heap)
	if err != nil {
		return res, err
	}
	res.heapIdle = trimPprof(idle)
	if _, err := runWrk(ctx, wrkArgs(lc.threads, lc.conns, time.Second, "", t.url+pathPage)); err != nil {
		return res, err
	}
	allocs0 := filepath.Join(dir, "allocs0.pb.gz")
	if err := fetch(ctx, t.pprofURL+"/allocs", allocs0); err != nil {
		return res, err
	}
	wrkDone := make(chan error, 1)
	var w wrkResult
	go func() {
		var err error
		w, err = runWrk(ctx, wrkArgs(lc.threads, lc.conns, d, "", t.url+pathPage))
		wrkDone <- err
	}()
	time.Sleep(time.Second)
	cpu := filepath.Join(dir, "cpu.pb.gz")
	perr := fetch(ctx, fmt.Sprintf("%s/profile?seconds=%d", t.pprofURL, res.seconds), cpu)
	if err := <-wrkDone; err != nil {
		return res, err
	}
	if perr != nil {
		return res, perr
	}
	res.requests = w.Requests
	allocs1 := filepath.Join(dir, "allocs1.pb.gz")
	if err := fetch(ctx, t.pprofURL+"/allocs", allocs1); err != nil {
		return res, err
	}
	if res.cpuTop, err = runCmd(ctx, "", nil, "go", "tool", "pprof", "-top", "-nodecount=25", bin, cpu); err != nil {
		return res, err
	}
	cum, err := runCmd(ctx, "", nil, "go", "tool", "pprof", "-top", "-cum", "-nodecount=400", bin, cpu)
	if err != nil {
		return res, err
	}
	res.shares = cumShares(cum)
	if res.allocTop, err = runCmd(ctx, "", nil, "go", "tool", "pprof", "-top", "-nodecount=15", "-sample_index=alloc_space", "-diff_base", allocs0, bin, allocs1); err != nil {
		return res, err
	}
	if res.allocsTop, err = runCmd(ctx, "", nil, "go", "tool", "pprof", "-top", "-nodecount=15", "-sample_index=alloc_objects", "-diff_base", allocs0, bin, allocs1); err != nil {
		return res, err
	}
	res.cpuTop = trimPprof(res.cpuTop)
	res.allocTop = trimPprof(res.allocTop)
	res.allocsTop = trimPprof(res.allocsTop)
	return res, nil
}

// cumShares picks the listed components out of `pprof -top -cum` output.
func cumShares(out string) []share {
	var res []share
	for _, c := range components {
		re := regexp.MustCompile(c.re)
		for l := range strings.Lines(out) {
			f := strings.Fields(l)
			if len(f) < 6 || !re.MatchString(f[5]) {
				continue
			}
			pct, err := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64)
			if err == nil {
				res = append(res, share{label: c.label, pct: pct})
			}
			break
		}
	}
	return res
}

// trimPprof drops pprof's header lines about the file and build, keeping the table.
func trimPprof(out string) string {
	var b strings.Builder
	for l := range strings.Lines(out) {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Type:") ||
			strings.HasPrefix(l, "Time:") || strings.HasPrefix(l, "Main binary") {
			continue
		}
		b.WriteString(l)
	}
	return strings.TrimRight(b.String(), "\n")
}

func fetch(ctx context.Context, url, path string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s %s", url, resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// goBench is one benchmark result line.
type goBench struct {
	pkg, name             string
	nsOp, bytesOp, allocs float64
	extra                 []string // other reported metrics, "value unit"
}

var reBench = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// parseGoBench reads `go test -bench` output (several packages).
func parseGoBench(out string) []goBench {
	var res []goBench
	pkg := ""
	for l := range strings.Lines(out) {
		l = strings.TrimRight(l, "\n")
		if p, ok := strings.CutPrefix(l, "pkg: "); ok {
			pkg = p
			continue
		}
		m := reBench.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		b := goBench{pkg: pkg, name: m[1]}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				b.nsOp = v
			case "B/op":
				b.bytesOp = v
			case "allocs/op":
				b.allocs = v
			default:
				b.extra = append(b.extra, f[i]+" "+f[i+1])
			}
		}
		res = append(res, b)
	}
	return res
}

// goBenchRun is one `go test -bench` invocation the report lists.
type goBenchRun struct {
	args []string
	why  string
}

// goBenchRuns are the Go benchmarks of the hot paths: this package's and the ones other
// packages already have (web's dispatch, bolt's store, passhash's hashes, strength).
func goBenchRuns(quick bool) []goBenchRun {
	bt := "1s"
	if quick {
		bt = "100ms"
	}
	return []goBenchRun{
		{[]string{"test", "-run=^$", "-bench=.", "-benchmem", "-benchtime=" + bt, "./bench/"}, "hot paths in process (this package)"},
		{[]string{"test", "-run=^$", "-bench=Classify", "-benchmem", "-benchtime=" + bt, "./web/"}, "prefix dispatch"},
		{[]string{"test", "-run=^$", "-bench=Serial|Parallel", "-benchmem", "-benchtime=" + bt, "-cpu=2", "./reset/bolt/"}, "queue write and rate limits, fsynced"},
		{[]string{"test", "-run=^$", "-bench=Hash/(werkzeug|argon2id|bcrypt)$", "-benchmem", "-benchtime=" + bt, "./reset/passhash/"}, "one new hash at the default cost"},
		{[]string{"test", "-run=^$", "-bench=.", "-benchmem", "-benchtime=" + bt, "./reset/strength/"}, "password strength check"},
		// What the features cost where they apply and where they do not, measured in the
		// same run as the rest.
		{[]string{"test", "-run=^$", "-bench=ModifyResponse|WrapFrame", "-benchmem", "-benchtime=" + bt, "./apphtml/"}, "sign-in link injection (other path, sign-in page) and a wrapped page's frame"},
		{[]string{"test", "-run=^$", "-bench=TrackedProxy", "-benchmem", "-benchtime=" + bt, "."}, "session tracking: plain proxy, no session cookie, session cookie"},
	}
}
