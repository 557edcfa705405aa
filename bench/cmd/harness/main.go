// Command harness measures resetgate side by side with the proxies ops would otherwise put in
// front of a legacy app, on loopback, and writes BENCHMARKS.md. See bench/README.md.
//
//	go run ./bench/cmd/harness -out BENCHMARKS.md      # from the module root; ~12 minutes
//	go run ./bench/cmd/harness -quick -out /tmp/b.md   # a 2-minute smoke run
//
// It starts a Go upstream (2 KiB page, 1 MiB body, 1 GiB stream, sink, full-duplex echo) and
// in front of it, interleaved over several rounds: nothing (direct), a bare
// httputil.ReverseProxy with a tuned transport and a buffer pool, nginx, Caddy and resetgate
// (default config, and with access_log = "off"). It installs nothing: wrk is required,
// nginx and Caddy are measured when present, and the report says which were missing and how
// to install them.
//
// The binary also runs the upstream and the bare proxy when re-executed with "upstream" or
// "bare" as its first argument.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		var err error
		switch os.Args[1] {
		case "upstream":
			err = cmdUpstream(os.Args[2:])
		case "bare":
			err = cmdBare(os.Args[2:])
		case "contend":
			err = cmdContend(os.Args[2:])
		case "probe":
			err = cmdProbe(os.Args[2:])
		default:
			err = cmdRun(os.Args[1:])
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			os.Exit(1)
		}
		return
	}
	if err := cmdRun(nil); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(1)
	}
}

// phases can be skipped one by one with -skip, for quick experiments.
var phases = []string{"transfers", "load", "profile", "post", "complete", "gobench"}

// options are the run's knobs; the report prints them.
type options struct {
	out          string
	rounds       int
	dur, mibDur  time.Duration
	warmup       time.Duration
	conns        int
	threads      int
	transferSize int64
	stall        time.Duration
	postRounds   int
	postDur      time.Duration
	completions  int
	only         string
	tools        string
	skip         map[string]bool
	keep         bool
	quick        bool
	variants     string
	root         string // the module root, found at start
	completeEnv  string
	overlay      string
	rate         int
	fixedDur     time.Duration
}

func cmdRun(args []string) error {
	var o options
	fs := flag.NewFlagSet("harness", flag.ContinueOnError)
	fs.StringVar(&o.out, "out", "BENCHMARKS.md", "where to write the report")
	fs.IntVar(&o.rounds, "rounds", 5, "interleaved rounds of the load runs")
	fs.DurationVar(&o.dur, "d", 6*time.Second, "wrk duration per target and round, GET 2 KiB page")
	fs.DurationVar(&o.mibDur, "mib-d", 3*time.Second, "wrk duration per target and round, GET 1 MiB")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured wrk run before each measured one")
	fs.IntVar(&o.conns, "c", 64, "wrk connections")
	fs.IntVar(&o.threads, "t", 2, "wrk threads")
	fs.Int64Var(&o.transferSize, "transfer", 1<<30, "bytes per upload, download and echo")
	fs.DurationVar(&o.stall, "stall", 20*time.Second, "a transfer without progress for this long is reported as stalled")
	fs.IntVar(&o.postRounds, "post-rounds", 4, "rounds of POST /pwreset (known, unknown) runs")
	fs.DurationVar(&o.postDur, "post-d", 4*time.Second, "wrk duration of each POST /pwreset run")
	fs.IntVar(&o.completions, "completions", 200, "concurrent password completions per hash scheme")
	fs.StringVar(&o.only, "only", "", "comma-separated targets to run (direct, bare, nginx, caddy, resetgate, resetgate-logoff, resetgate-features); default all available")
	fs.StringVar(&o.tools, "tools", "", "directory holding caddy (default bench/.tools under the module root)")
	skip := fs.String("skip", "", "comma-separated phases to skip: "+strings.Join(phases, ", "))
	fs.BoolVar(&o.keep, "keep", false, "keep the scratch directory (logs, configs, profiles)")
	fs.BoolVar(&o.quick, "quick", false, "a short smoke run: 1 round, 2 s runs, 64 MiB transfers, 20 completions; numbers are not comparable")
	fs.StringVar(&o.variants, "variants", "", "extra resetgate targets with environment variables, comma-separated, e.g. \"GOGC=400,GOMEMLIMIT=32MiB GOGC=200\"")
	fs.StringVar(&o.overlay, "overlay", "", "build resetgate with this `go build -overlay` file, to measure a change without editing the tree")
	fs.IntVar(&o.rate, "rate", 2000, "requests/s of the fixed-rate (open-loop) latency runs; 0 skips them")
	fs.DurationVar(&o.fixedDur, "rate-d", 3*time.Second, "duration of each fixed-rate run")
	fs.StringVar(&o.completeEnv, "complete-env", "", "also run the completions on resetgate with this environment, e.g. \"GOMAXPROCS=3\" (comma-separated variants)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.skip = map[string]bool{}
	for _, ph := range splitList(*skip) {
		if !slices.Contains(phases, ph) {
			return fmt.Errorf("-skip %s: unknown phase (want %s)", ph, strings.Join(phases, ", "))
		}
		o.skip[ph] = true
	}
	if o.quick {
		o.rounds, o.dur, o.mibDur, o.fixedDur, o.transferSize, o.postRounds, o.postDur, o.completions = 1, 2*time.Second, time.Second, 2*time.Second, 64<<20, 1, 2*time.Second, 20
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, o)
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

// moduleRoot finds the resetgate module root from the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "module resetgate") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run the harness inside the resetgate module (no go.mod with \"module resetgate\" above the working directory)")
		}
		dir = parent
	}
}

// tool is an external program the run needs or can use.
type tool struct {
	name, path, version, missing string
}

// findTools checks for wrk (required), nginx and Caddy, and explains how to install what is
// missing. It installs nothing.
func findTools(e *env) ([]tool, error) {
	var tools []tool
	if _, err := exec.LookPath("go"); err != nil {
		return nil, errors.New("the go command is not in PATH (the harness builds resetgate and runs go test)")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return nil, errors.New("wrk is not installed; it is required (Debian/Ubuntu: apt-get install -y wrk)")
	}
	out, _ := exec.Command(wrk, "-v").CombinedOutput()
	tools = append(tools, tool{name: "wrk", path: wrk, version: firstLine(string(out))})

	t := tool{name: "nginx"}
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			t.path = path
			break
		}
	}
	if t.path == "" {
		t.missing = "not installed: `apt-get install -y nginx-light` (or `nginx`); the package's service need not run, the harness starts its own instance on loopback"
	} else {
		e.nginx = t.path
		t.version = nginxVersion(e)
	}
	tools = append(tools, t)

	t = tool{name: "caddy"}
	for _, p := range []string{filepath.Join(e.tools, "caddy"), "caddy"} {
		if path, err := exec.LookPath(p); err == nil {
			t.path = path
			break
		}
	}
	if t.path == "" {
		t.missing = "not installed: `bench/install-tools.sh` (runs `GOBIN=bench/.tools go install github.com/caddyserver/caddy/v2/cmd/caddy@v2.11.9`)"
	} else {
		e.caddy = t.path
		t.version = caddyVersion(e)
	}
	tools = append(tools, t)
	return tools, nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(l)
}

// results is everything the report shows.
type results struct {
	o          options
	started    time.Time
	finished   time.Time
	machine    machine
	tools      []tool
	targets    []*target
	scenarios  []scenario
	samples    []loadSample
	mem        map[string]*memRow
	transfers  []transferResult
	posts      []pwresetSample
	workerRate float64
	complete   []completionResult
	profiles   []profileResult
	goBench    []goBench
	goBenchCmd []string
	rgConfig   string
	postConfig string
	nginxConf  string
	caddyfile  string
	problems   []string // what could not be measured, and why
}

func run(ctx context.Context, o options) error {
	readClockTicks()
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if o.tools == "" {
		o.tools = filepath.Join(root, "bench", ".tools")
	}
	work, err := os.MkdirTemp("", "resetgate-bench-")
	if err != nil {
		return err
	}
	// nginx's workers run as nobody and keep request and response bodies under work/nginx.
	if err := os.Chmod(work, 0o711); err != nil {
		return err
	}
	if o.keep {
		logf("scratch directory: %s (kept)", work)
	} else {
		defer os.RemoveAll(work)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	e := &env{root: root, work: work, self: self, tools: o.tools}
	o.root = root
	res := &results{o: o, started: time.Now(), mem: map[string]*memRow{}}
	if res.tools, err = findTools(e); err != nil {
		return err
	}
	for _, t := range res.tools {
		if t.missing != "" {
			logf("%s %s", t.name, t.missing)
			res.problems = append(res.problems, fmt.Sprintf("%s: %s", t.name, t.missing))
		}
	}
	res.machine = describeMachine(ctx, root)

	logf("building resetgate (and a profiling build through -overlay)")
	if err := buildResetgate(ctx, e, o.overlay); err != nil {
		return err
	}
	logf("seeding the users database (%d + %d + %d accounts)", knownUsers, completeUsers, argonUsers)
	if err := seedUsers(ctx, usersDBPath(e)); err != nil {
		return fmt.Errorf("users database: %w", err)
	}
	expect := make(chan string, 1)
	go func() { expect <- expectedStreamHash(o.transferSize) }()

	var procs []*proc
	defer func() {
		for _, p := range slices.Backward(procs) {
			p.stop()
		}
	}()
	up, upURL, err := startUpstream(e)
	if err != nil {
		return err
	}
	procs = append(procs, up)
	e.upstream = upURL

	want := func(key string) bool {
		if o.only == "" {
			return true
		}
		return slices.Contains(strings.Split(o.only, ","), key)
	}
	add := func(t *target, err error) error {
		if t != nil && t.p != nil {
			procs = append(procs, t.p)
		}
		if err != nil {
			return err
		}
		res.targets = append(res.targets, t)
		return nil
	}
	if want("direct") {
		res.targets = append(res.targets, directTarget(e))
	}
	if want("bare") {
		if err := add(startBare(e, "bare", false)); err != nil {
			return err
		}
	}
	if want("nginx") && e.nginx != "" {
		if err := add(startNginx(e)); err != nil {
			return err
		}
		res.nginxConf = nginxConf("$DIR", "127.0.0.1:$PORT", "http://127.0.0.1:$UPSTREAM")
	}
	if want("caddy") && e.caddy != "" {
		if err := add(startCaddy(e)); err != nil {
			return err
		}
		res.caddyfile = caddyfile("127.0.0.1:$PORT", "http://127.0.0.1:$UPSTREAM")
	}
	if want("resetgate") {
		if err := add(startResetgate(e, rgOptions{key: "resetgate", label: "resetgate (default config)"})); err != nil {
			return err
		}
	}
	if want("resetgate-logoff") {
		if err := add(startResetgate(e, rgOptions{key: "resetgate-logoff", label: "resetgate, access_log = \"off\"", accessLog: "off"})); err != nil {
			return err
		}
	}
	if want("resetgate-features") {
		t, err := startResetgate(e, rgOptions{key: "resetgate-features", label: "resetgate, injection + tracking + wrap on", features: true})
		if err := add(t, err); err != nil {
			return err
		}
		if err := checkFeatures(ctx, t); err != nil {
			return fmt.Errorf("resetgate-features: %w", err)
		}
	}
	for i, v := range splitList(o.variants) {
		key := fmt.Sprintf("resetgate-v%d", i+1)
		if err := add(startResetgate(e, rgOptions{key: key, label: "resetgate, " + v, extraEnv: strings.Fields(v)})); err != nil {
			return err
		}
	}
	res.rgConfig = resetgateConfig("$DIR/data", "127.0.0.1:$PORT", "http://127.0.0.1:$UPSTREAM", "127.0.0.1:$ADMIN", "$DIR/users.db", rgOptions{})
	res.postConfig = resetgateConfig("$DIR/data", "127.0.0.1:$PORT", "http://127.0.0.1:$UPSTREAM", "127.0.0.1:$ADMIN", "$DIR/users.db", rgOptions{unlimited: true})

	// Idle memory: after 20 sequential requests and a second's rest.
	for _, t := range res.targets {
		if err := warm(ctx, t.url+pathPage); err != nil {
			return fmt.Errorf("%s: %w", t.key, err)
		}
	}
	time.Sleep(time.Second)
	for _, t := range res.targets {
		row := &memRow{}
		res.mem[t.key] = row
		if t.isProxy() {
			if row.idleKB, err = t.grp.memKB("VmRSS"); err != nil {
				return err
			}
			row.anonKB, _ = t.grp.memKB("RssAnon")
			row.fileKB, _ = t.grp.memKB("RssFile")
		}
	}

	// Transfers, on processes that have served only the warm-up, so that buffers a proxy
	// keeps from the load runs cannot hide growth.
	if !o.skip["transfers"] {
		bareFD, err := startBare(e, "bare-fd", true)
		if bareFD != nil {
			procs = append(procs, bareFD.p)
		}
		if err != nil {
			return err
		}
		if err := warm(ctx, bareFD.url+pathPage); err != nil {
			return err
		}
		want1 := <-expect
		transferTargets := append(slices.Clone(res.targets), bareFD)
		for _, kind := range []string{"upload", "download", "echo"} {
			for _, t := range transferTargets {
				tr := measureTransfer(ctx, t, kind, o.transferSize, want1, o.stall)
				res.transfers = append(res.transfers, tr)
				logf("%-8s %-18s %-60s %6.0f MiB/s  RSS +%s", kind, t.key, plainOutcome(tr), float64(tr.got)/(1<<20)/tr.elapsed.Seconds(), kib(tr.growthKB()))
			}
		}
		bareFD.p.stop()
	}

	// Load rounds.
	lc := loadConfig{threads: o.threads, conns: o.conns, warmup: o.warmup, rounds: o.rounds}
	if !o.skip["load"] {
		res.scenarios = []scenario{{key: "page", label: "GET 2 KiB page", path: pathPage, dur: o.dur}}
		if o.rate > 0 {
			res.scenarios = append(res.scenarios, scenario{key: "fixed", label: fmt.Sprintf("GET 2 KiB page at a fixed %d requests/s (open loop)", o.rate), path: pathPage, dur: o.fixedDur, rate: o.rate})
		}
		res.scenarios = append(res.scenarios, scenario{key: "mib", label: "GET 1 MiB", path: pathMiB, dur: o.mibDur})
		peakOK := true
		for _, t := range res.targets {
			if t.isProxy() && !t.grp.resetPeak() {
				peakOK = false
			}
		}
		if res.samples, err = runRounds(ctx, lc, res.targets, res.scenarios, logf); err != nil {
			return err
		}
		for _, t := range res.targets {
			if t.isProxy() {
				if res.mem[t.key].loadHWM, err = t.grp.memKB("VmHWM"); err != nil {
					return err
				}
				if !peakOK {
					res.mem[t.key].peakNote = "VmHWM could not be reset: peak since start"
				}
			}
		}
	}

	// Profiles of resetgate and of the bare proxy under the same load, with the other
	// proxies stopped.
	for _, t := range res.targets {
		if t.isProxy() && t.key != "bare" {
			t.p.stop()
		}
	}
	if !o.skip["profile"] {
		logf("profiling resetgate and the bare proxy under load")
		prof, err := startResetgate(e, rgOptions{key: "resetgate-pprof", label: "resetgate (profiling build)", profiled: true})
		if prof != nil {
			procs = append(procs, prof.p)
		}
		if err != nil {
			return err
		}
		profD := max(o.dur, 4*time.Second) + 2*time.Second
		if p, err := profileTarget(ctx, e, lc, prof, e.pprofBin, profD); err != nil {
			res.problems = append(res.problems, "resetgate profile: "+err.Error())
		} else {
			res.profiles = append(res.profiles, p)
		}
		prof.p.stop()
		if t := res.target("bare"); t != nil {
			if p, err := profileTarget(ctx, e, lc, t, e.self, profD); err != nil {
				res.problems = append(res.problems, "bare proxy profile: "+err.Error())
			} else {
				res.profiles = append(res.profiles, p)
			}
		}
	}
	if t := res.target("bare"); t != nil {
		t.p.stop()
	}

	// POST /pwreset, on a fresh resetgate with the limits off.
	if !o.skip["post"] {
		logf("POST /pwreset (limits off)")
		post, err := startResetgate(e, rgOptions{key: "resetgate-post", label: "resetgate, [limits] off", unlimited: true})
		if post != nil {
			procs = append(procs, post.p)
		}
		if err != nil {
			return err
		}
		plc := lc
		plc.rounds = o.postRounds
		pr, err := runRequestRounds(ctx, plc, post, e.work, o.postDur, logf)
		if err != nil {
			return err
		}
		res.posts, res.workerRate = pr.runs, pr.workerRate
		post.p.stop()
	}

	// Completions on another fresh instance: the first one's mail queue is still full.
	if !o.skip["complete"] {
		logf("concurrent completions")
		for i, envv := range append([]string{""}, splitList(o.completeEnv)...) {
			key := "resetgate-complete"
			if i > 0 {
				key += strconv.Itoa(i)
			}
			opts := rgOptions{key: key, label: "resetgate, [limits] off", unlimited: true}
			if envv != "" {
				opts.extraEnv = strings.Fields(envv)
			}
			ct, err := startResetgate(e, opts)
			if ct != nil {
				procs = append(procs, ct.p)
			}
			if err != nil {
				return err
			}
			if err := runCompletions(ctx, e, res, ct, o.completions, envv); err != nil {
				res.problems = append(res.problems, "completions: "+err.Error())
				logf("completions: %v", err)
			}
			ct.p.stop()
		}
	}

	if !o.skip["gobench"] {
		logf("Go benchmarks")
		for _, r := range goBenchRuns(o.quick) {
			out, err := runCmd(ctx, root, nil, "go", r.args...)
			res.goBenchCmd = append(res.goBenchCmd, "go "+strings.Join(r.args, " "))
			if err != nil {
				res.problems = append(res.problems, "go "+strings.Join(r.args, " ")+": "+firstLine(err.Error()))
				continue
			}
			res.goBench = append(res.goBench, parseGoBench(out)...)
		}
	}
	for _, ph := range phases {
		if o.skip[ph] {
			res.problems = append(res.problems, "phase "+ph+": skipped (-skip)")
		}
	}
	res.finished = time.Now()
	report := writeReport(res)
	if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
		return err
	}
	svg := chartSVG(res.chartRows(), res.chartSubtitle())
	if err := os.WriteFile(chartPath(o.out), []byte(svg), 0o644); err != nil {
		return err
	}
	logf("wrote %s and %s (%s)", o.out, chartPath(o.out), res.finished.Sub(res.started).Round(time.Second))
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// runCompletions issues links for the completion accounts, measures the idle probe, then
// completes n links at once per scheme. For argon2id, the memory-hard scheme, a burst of a
// tenth as many runs first: if hashing is bounded, the peak RSS with n in flight is no higher
// than with n/10. envv names the instance's environment, for the report ("" for none).
func runCompletions(ctx context.Context, e *env, res *results, t *target, n int, envv string) error {
	small := max(2, n/10)
	type batch struct {
		prefix, scheme string
		sizes          []int
	}
	batches := []batch{{"comp", "werkzeug", []int{n}}, {"argon", "argon2id", []int{small, n}}}
	links := map[string][]string{}
	for _, b := range batches {
		total := 0
		for _, k := range b.sizes {
			total += k
		}
		l, err := issueLinks(ctx, t, b.prefix, total)
		if err != nil {
			return err
		}
		links[b.scheme] = l
	}
	every := 5 * time.Millisecond
	pr := startProbe(t.url+pathPage, every)
	time.Sleep(5 * time.Second)
	lat, errs := pr.stop()
	idle := summarize(lat, errs)
	logf("probe, idle: p50 %s p99 %s (%d requests)", dur(idle.p50), dur(idle.p99), idle.n)
	floors := map[string]probeStats{}
	if envv == "" {
		for _, b := range batches {
			fl, err := contentionFloor(ctx, e, t, b.scheme, every)
			if err != nil {
				return err
			}
			floors[b.scheme] = fl
			logf("probe beside a separate nice-19 %s process: p50 %s p99 %s (%s× idle p99)", b.scheme, dur(fl.p50), dur(fl.p99), f(float64(fl.p99)/float64(idle.p99), 1))
		}
	}
	for _, b := range batches {
		rest := links[b.scheme]
		for _, k := range b.sizes {
			c, err := complete(ctx, t, b.scheme, rest[:k], every)
			if err != nil {
				return err
			}
			rest = rest[k:]
			c.env, c.idle, c.floor = envv, idle, floors[b.scheme]
			res.complete = append(res.complete, c)
			logf("%d completions (%s %s): %d ok in %s = %.1f/s; hash mean %s; probe p99 %s; RSS peak %s (+%s); failures %v",
				c.n, c.scheme, envv, c.ok, c.elapsed.Round(time.Millisecond), c.rate(), c.hashMean.Round(time.Millisecond), dur(c.probe.p99),
				kib(c.peak()), kib(c.growthKB()), c.failures)
		}
	}
	return nil
}

// measureTransfer runs one transfer with the target's memory watched.
func measureTransfer(ctx context.Context, t *target, kind string, size int64, expect string, stall time.Duration) transferResult {
	var before int64
	var sampler *peakSampler
	hwm := false
	if t.isProxy() {
		before, _ = t.grp.memKB("VmRSS")
		hwm = t.grp.resetPeak()
		sampler = samplePeak(t.grp, 20*time.Millisecond)
	}
	tr := transfer(ctx, kind, t.url, size, expect, stall)
	tr.target = t.key
	if t.isProxy() {
		tr.rssBeforeKB = before
		tr.sampledKB = sampler.stop()
		if hwm {
			tr.peakKB, _ = t.grp.memKB("VmHWM")
		} else {
			tr.peakKB = tr.sampledKB
		}
	}
	return tr
}

// expectedStreamHash is the SHA-256 of the first n bytes of the transfer stream.
func expectedStreamHash(n int64) string {
	h := sha256.New()
	io.CopyN(h, newStream(), n)
	return hex.EncodeToString(h.Sum(nil))
}

func kib(kb int64) string {
	if kb < 0 {
		kb = 0
	}
	return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
}

// machine describes where the numbers come from.
type machine struct {
	cpus    int
	model   string
	kernel  string
	memory  string
	goVer   string
	commit  string
	loadavg string
}

func describeMachine(ctx context.Context, root string) machine {
	m := machine{cpus: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.memory = strings.Join(strings.Fields(firstLine(string(b)))[1:], " ")
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.loadavg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	out, _ := runCmd(ctx, root, nil, "go", "version")
	m.goVer = strings.TrimSpace(out)
	out, _ = runCmd(ctx, root, nil, "git", "rev-parse", "--short", "HEAD")
	m.commit = strings.TrimSpace(out)
	// The report and chart of an earlier run are this run's outputs, not its inputs.
	if st, _ := runCmd(ctx, root, nil, "git", "status", "--porcelain", "--", ".", ":!BENCHMARKS.md", ":!BENCHMARKS.svg"); strings.TrimSpace(st) != "" {
		m.commit += " + uncommitted changes"
	}
	return m
}
