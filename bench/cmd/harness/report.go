package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"resetgate/reset"
)

// median of the finite values; NaN when there are none.
func median(v []float64) float64 {
	var f []float64
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			f = append(f, x)
		}
	}
	if len(f) == 0 {
		return math.NaN()
	}
	slices.Sort(f)
	if len(f)%2 == 1 {
		return f[len(f)/2]
	}
	return (f[len(f)/2-1] + f[len(f)/2]) / 2
}

func minMax(v []float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		if math.IsNaN(x) {
			continue
		}
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

// summary is one target in one scenario over all rounds: medians of the values and of the
// per-round ratios (a ratio is taken within a round, then the median over rounds).
type summary struct {
	rps, p50, p99, cpu, allocs, allocB float64 // p50/p99 in µs
	cpuLo, cpuHi                       float64
	rpsXDirect, rpsXBare               float64
	cpuXBare, cpuXNginx, cpuXCaddy     float64
	p99Added                           float64 // µs over direct, same round
	rounds                             int
	errs                               int64
}

func summarizeLoad(samples []loadSample, sc, key string) summary {
	byRound := map[int]map[string]loadSample{}
	for _, s := range samples {
		if s.scenario != sc {
			continue
		}
		if byRound[s.round] == nil {
			byRound[s.round] = map[string]loadSample{}
		}
		byRound[s.round][s.target] = s
	}
	var rps, p50, p99, cpu, allocs, allocB, xd, xb, cb, cn, cc, added []float64
	var sm summary
	ratio := func(a, b float64, ok bool) float64 {
		if !ok || b == 0 {
			return math.NaN()
		}
		return a / b
	}
	for _, r := range byRound {
		s, ok := r[key]
		if !ok {
			continue
		}
		sm.rounds++
		sm.errs += s.wrk.Non2xx3xx + s.wrk.SocketErrs
		rps = append(rps, s.wrk.RPS)
		p50 = append(p50, us(s.wrk.P50))
		p99 = append(p99, us(s.wrk.P99))
		cpu = append(cpu, s.cpuUS)
		allocs = append(allocs, s.allocs)
		allocB = append(allocB, s.allocBytes)
		d, dok := r["direct"]
		b, bok := r["bare"]
		n, nok := r["nginx"]
		c, cok := r["caddy"]
		xd = append(xd, ratio(s.wrk.RPS, d.wrk.RPS, dok))
		xb = append(xb, ratio(s.wrk.RPS, b.wrk.RPS, bok))
		cb = append(cb, ratio(s.cpuUS, b.cpuUS, bok))
		cn = append(cn, ratio(s.cpuUS, n.cpuUS, nok))
		cc = append(cc, ratio(s.cpuUS, c.cpuUS, cok))
		if dok {
			added = append(added, us(s.wrk.P99)-us(d.wrk.P99))
		}
	}
	sm.rps, sm.p50, sm.p99, sm.cpu = median(rps), median(p50), median(p99), median(cpu)
	sm.cpuLo, sm.cpuHi = minMax(cpu)
	sm.allocs, sm.allocB = median(allocs), median(allocB)
	sm.rpsXDirect, sm.rpsXBare = median(xd), median(xb)
	sm.cpuXBare, sm.cpuXNginx, sm.cpuXCaddy = median(cb), median(cn), median(cc)
	sm.p99Added = median(added)
	return sm
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// f formats a number with prec decimals, "–" for NaN.
func f(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

// ms formats microseconds as "850 µs" or "1.23 ms".
func ms(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case math.Abs(v) < 1000:
		return fmt.Sprintf("%.0f µs", v)
	default:
		return fmt.Sprintf("%.2f ms", v/1000)
	}
}

func dur(d time.Duration) string { return ms(us(d)) }

func mibKB(kb int64) string {
	if kb == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
}

func plainOutcome(t transferResult) string {
	return strings.ReplaceAll(t.outcome, "**", "")
}

func writeReport(res *results) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	o := res.o
	w("# resetgate benchmarks\n\n")
	w("Written by `bench/cmd/harness` (`make bench`) on %s in %s. Every ratio compares targets **measured in the same round** of the same run; the tables show the median over %d rounds. ",
		res.started.UTC().Format("2006-01-02 15:04 UTC"), res.finished.Sub(res.started).Round(time.Second), o.rounds)
	w("The machine is shared (wrk, the proxy and the upstream compete for %d CPUs), so absolute requests/s move between runs; CPU µs per request, read from the proxy's own `/proc/PID/stat`, is the stable headline.\n\n", res.machine.cpus)
	w("![CPU µs per proxied request and idle RSS of every proxy in this run; resetgate in blue](%s)\n\n", filepath.Base(chartPath(o.out)))
	if o.quick {
		w("> **Quick run** (`-quick`): 1 round, short runs, %s transfers. These numbers only show that the harness works.\n\n", mib(o.transferSize))
	}

	w("## Machine and tools\n\n")
	m := res.machine
	w("| | |\n|---|---|\n")
	w("| CPUs | %d × %s |\n| memory | %s |\n| kernel | Linux %s |\n| Go | %s |\n| resetgate | %s |\n| load average at start | %s |\n", m.cpus, m.model, m.memory, m.kernel, m.goVer, m.commit, m.loadavg)
	for _, t := range res.tools {
		if t.missing != "" {
			w("| %s | **%s** |\n", t.name, t.missing)
		} else {
			w("| %s | %s (`%s`) |\n", t.name, t.version, t.path)
		}
	}
	w("\n")

	w("## Targets\n\n| target (DESIGN.md, issue 7) | measured | |\n|---|---|---|\n")
	for _, v := range res.verdicts() {
		w("| %s | %s | %s |\n", v.target, v.measured, v.status)
	}
	w("\n")
	if len(res.problems) > 0 {
		w("Not measured or incomplete in this run:\n\n")
		for _, p := range res.problems {
			w("- %s\n", p)
		}
		w("\n")
	}

	writeReading(&b, res)

	for _, sc := range res.scenarios {
		w("## Pass-through: %s, %d connections\n\n", sc.label, o.conns)
		if sc.rate > 0 {
			w("The harness's own Go client sends `GET %s` at a fixed %d requests/s for %s per target and round (right after the closed-loop page run), over at most %d keep-alive connections; each latency counts from the moment the request was due, so a target that falls behind pays for its queue. ", sc.path, sc.rate, sc.dur, o.conns)
			w("At this moderate load nobody is saturated, so the latency added by the proxy is visible rather than each target's queueing at its own maximum. ")
		} else {
			w("`wrk %s` per target and round, after a %s warm-up run; targets interleaved (%s, each round starting one target later), %d rounds. ", strings.Join(wrkArgs(o.threads, o.conns, sc.dur, "", "http://127.0.0.1:$PORT"+sc.path), " "), o.warmup, keys(res.targets), o.rounds)
		}
		w("CPU is the proxy's user+system time (all its processes) over the measured run divided by the requests wrk completed; allocations from the Go runtime's counters (resetgate's `/metrics`, the bare proxy's admin endpoint).\n\n")
		w("| target | req/s | × direct | × bare | p50 | p99 | p99 − direct | CPU µs/req (min–max) | × bare | × nginx | × Caddy | allocs/req | bytes/req |\n")
		w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, t := range res.targets {
			s := summarizeLoad(res.samples, sc.key, t.key)
			cpu := "–"
			if !math.IsNaN(s.cpu) {
				cpu = fmt.Sprintf("%s (%s–%s)", f(s.cpu, 1), f(s.cpuLo, 1), f(s.cpuHi, 1))
			}
			name := t.label
			if s.errs > 0 {
				name += fmt.Sprintf(" (**%d errors**)", s.errs)
			}
			w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, f(s.rps, 0), f(s.rpsXDirect, 2), f(s.rpsXBare, 2),
				ms(s.p50), ms(s.p99), signed(s.p99Added, t.key == "direct"), cpu, f(s.cpuXBare, 2), f(s.cpuXNginx, 2), f(s.cpuXCaddy, 2), f(s.allocs, 1), f(s.allocB, 0))
		}
		w("\n")
	}

	if len(res.samples) > 0 {
		writeRounds(&b, res)
	}

	w("## Memory and %s transfers\n\n", mib(o.transferSize))
	w("Idle: VmRSS after 20 sequential requests and 1 s of rest. Under load: VmHWM over all load rounds (reset with `/proc/PID/clear_refs` before them). ")
	w("Each transfer runs once per target on processes that have served only the warm-up, with the peak reset before it; growth is the peak (VmHWM, and VmRSS sampled every 20 ms) minus VmRSS just before. ")
	w("Upload: POST with Content-Length to a sink that hashes what arrives. Download: GET with Content-Length. Echo: a chunked POST that the app answers at once and echoes while still reading (full duplex). ")
	w("Bytes are a deterministic ChaCha8 stream, compared by SHA-256 and count end to end. A transfer with no progress for %s is reported as stalled. nginx and Caddy are summed over all their processes.\n\n", o.stall)
	w("| target | idle RSS (anonymous + file-backed) | under load (VmHWM) | upload | download | chunked echo |\n|---|--:|--:|---|---|---|\n")
	var tkeys []string
	for _, t := range res.targets {
		tkeys = append(tkeys, t.key)
	}
	for _, t := range res.transfers {
		if !slices.Contains(tkeys, t.target) {
			tkeys = append(tkeys, t.target)
		}
	}
	for _, k := range tkeys {
		label := k
		idle, load := "–", "–"
		if t := res.target(k); t != nil {
			label = t.label
			if mr := res.mem[k]; mr != nil && t.isProxy() {
				idle = fmt.Sprintf("%s (%s + %s)", mibKB(mr.idleKB), mibKB(mr.anonKB), mibKB(mr.fileKB))
				load = mibKB(mr.loadHWM)
				if mr.peakNote != "" {
					load += " (" + mr.peakNote + ")"
				}
			}
		} else if k == "bare-fd" {
			label = "bare ReverseProxy + pool + EnableFullDuplex (transfers only)"
		}
		w("| %s | %s | %s |", label, idle, load)
		if len(res.transfersOf(k)) == 0 {
			w(" – | – | – |")
		}
		for _, tr := range res.transfersOf(k) {
			rate := float64(max(tr.got, 0)) / (1 << 20) / tr.elapsed.Seconds()
			cell := fmt.Sprintf("%s, %.0f MiB/s", tr.outcome, rate)
			if k != "direct" {
				cell += ", RSS +" + mibKB(max(tr.growthKB(), 1))
			}
			w(" %s |", cell)
		}
		w("\n")
	}
	w("\n")

	if len(res.posts) > 0 {
		w("## POST /pwreset (bbolt store)\n\n")
		w("A fresh resetgate with **`[limits]` all `\"0\"`** (per_email, per_ip, token_per_ip, token_global), so that the raw request path is measured rather than the 429 page; the config is otherwise the default. ")
		w("wrk posts `application/x-www-form-urlencoded` forms cycling through 1,000 addresses that all exist (`user0…user999@example.com`) or none exists (`nope0…`), same body lengths: `wrk %s`. ", strings.Join(wrkArgs(o.threads, o.conns, o.postDur, "post-known.lua", "http://127.0.0.1:$PORT/pwreset"), " "))
		w("The request path only queues a job (DESIGN.md step 1); the mail worker looks the address up and, for an existing account, creates the token and writes the mail, in the background and far more slowly than requests arrive. ")
		w("So that both kinds run under the same background load, an unmeasured 2 s run of mixed addresses fills the queue first and the measured runs alternate in ABBA order (known, unknown, unknown, known, …; %d rounds), so that the store's growth over the runs favours neither, with the worker busy throughout. Every answer must be 303.\n\n", o.postRounds)
		w("| addresses | round | req/s | p50 | p99 | CPU µs/req | non-303 | mail jobs queued after the run |\n|---|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, s := range res.posts {
			w("| %s | %d | %s | %s | %s | %s | %d | %.0f |\n", s.kind, s.round, f(s.wrk.RPS, 0), dur(s.wrk.P50), dur(s.wrk.P99), f(s.cpuUS, 1), s.wrk.Non2xx3xx+s.wrk.SocketErrs, s.depth)
		}
		kr, kp50, kp99, kcpu := res.postMedian("known")
		ur, up50, up99, ucpu := res.postMedian("unknown")
		w("| **median, known** | | **%s** | **%s** | %s | %s | | |\n| **median, unknown** | | **%s** | **%s** | %s | %s | | |\n\n", f(kr, 0), ms(kp50), ms(kp99), f(kcpu, 1), f(ur, 0), ms(up50), ms(up99), f(ucpu, 1))
		w("Ratio of the medians (known / unknown): **p50 %s**, req/s %s.\n\n", f(kp50/up50, 3), f(kr/ur, 3))
		w("The mail worker, measured afterwards over 5 s with no requests arriving and the mixed backlog in the queue, works off **%.0f jobs/s** (default 2 workers; each job for an existing account saves a token, renders the mail and writes it to the outbox with fsync, then acknowledges the job). A sustained flood above that rate grows the queue: the per-IP and per-address limits, off here, are what keep it small in production.\n\n", res.workerRate)
	}

	if len(res.complete) > 0 {
		w("## Completions: hashing bounded\n\n")
		w("A fresh resetgate with the limits off (the POST runs left a full mail queue behind). ")
		w("Links are issued through `POST /pwreset` (and read from the outbox log), then a burst of completions starts at once, each as a browser does it: `GET {link}` (303 + session cookie), `POST /pwreset/new` with a strong password (303 → /pwreset/done). For argon2id a burst of a tenth the size runs first, so that the peaks can be compared. ")
		w("The accounts' current hashes are werkzeug `pbkdf2:sha256:600000` (resetgate's fallback default) or argon2id `m=19456,t=2,p=1` (OWASP's); in the default `hash = \"auto\"` each new hash is written with the same parameters. ")
		w("Meanwhile a probe sends `GET /page` through the same resetgate every 5 ms (open loop), to see whether proxied traffic stays responsive; its idle baseline is taken on the same instance just before (5 s). The probe is a process of its own (`harness probe`, warmed up with 50 requests before its clock starts), as a visitor's browser is: inside the harness it would share the Go scheduler with the harness's own completion clients.\n\n")
		w("| scheme | completed | failed | wall time | completions/s | mean hash (in resetgate) | bound: %d slots ÷ mean hash | POST p50 | POST p99 | CPU ms per completion | proxied probe p50 / p99 (idle); p50 / p99 / max (during) (× idle p99) | peak RSS (growth) |\n", reset.DefaultHashSlots())
		w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, c := range res.complete {
			bound := math.NaN()
			if c.hashMean > 0 {
				bound = float64(reset.DefaultHashSlots()) / c.hashMean.Seconds()
			}
			fails := 0
			for _, n := range c.failures {
				fails += n
			}
			scheme := c.scheme
			if c.env != "" {
				scheme += ", `" + c.env + "`"
			}
			w("| %s, %d in flight | %d | %d | %s | **%s** | %s | %s /s | %s | %s | %s | idle %s / %s; busy %s / %s / %s (**%s×**) | %s (+%s) |\n", scheme, c.n, c.ok, fails, c.elapsed.Round(10*time.Millisecond), f(c.rate(), 1),
				c.hashMean.Round(time.Millisecond), f(bound, 1), dur(c.post.pct(50)), dur(c.post.pct(99)), f(c.cpuUS/1000, 1),
				dur(c.idle.p50), dur(c.idle.p99), dur(c.probe.p50), dur(c.probe.p99), dur(c.probe.max), f(float64(c.probe.p99)/float64(c.idle.p99), 1), mibKB(c.peak()), mibKB(max(c.growthKB(), 1)))
			for why, n := range c.failures {
				w("\nFailures (%s): %d × %s\n", c.scheme, n, why)
			}
		}
		w("\nWhat bounds the rate: each completion checks the password's strength and hashes it under a semaphore of `reset.DefaultHashSlots()` = %d slots (CPUs − 1: one stays free for proxied traffic), so completions/s ≤ slots ÷ hash time; the rest of a completion (token claim, SQLite write, bolt writes, session cookie) runs outside it and is small beside the hash. ", reset.DefaultHashSlots())
		w("The hashes run on threads at the lowest priority (nice 19), with one more Go P per slot while anything hashes (and for a second after, so that a burst changes GOMAXPROCS once), so the proxied probe's threads win the CPU; resetgate's own pages are served at most `[limits] pages_in_flight` at once (default 2 per CPU, at least 4; a completion waiting for a hash slot gives its place back), and the new-password submissions hash slots + 1 at a time, the rest waiting at their own door with only their connection and form,, so that a burst of completions does not crowd the probe's requests out of the Go scheduler; for what the probe still loses, the targets table gives beside each verdict what the same hashing costs the probe from a process of its own (`harness contend`, nice 19), which shares nothing with resetgate but the machine.\n\n")
	}

	if len(res.profiles) > 0 {
		w("## CPU profile of the proxy path\n\n")
		w("resetgate built with `go build -overlay` adding `net/http/pprof` on a separate loopback port (the measured binary has no pprof; the working tree is not touched), default config, under the same wrk load (GET 2 KiB page, %d connections); the bare proxy profiled the same way through its admin port. `go tool pprof -top` of the CPU profile and of the allocations made during the run (`-diff_base`).\n\n", o.conns)
		for _, p := range res.profiles {
			w("### %s (%d s profile, %d requests in the wrk run)\n\n", p.target, p.seconds, p.requests)
			if len(p.shares) > 0 {
				w("Cumulative share of the CPU samples:\n\n| component | cum %% |\n|---|--:|\n")
				for _, s := range p.shares {
					w("| %s | %.1f %% |\n", s.label, s.pct)
				}
				w("\n")
			}
			if p.heapIdle != "" {
				w("<details><summary>pprof -top -sample_index=inuse_space before the profiled run (resetgate: a fresh process; bare: after the load rounds)</summary>\n\n```\n%s\n```\n</details>\n\n", p.heapIdle)
			}
			w("<details><summary>pprof -top (CPU)</summary>\n\n```\n%s\n```\n</details>\n\n", p.cpuTop)
			w("<details><summary>pprof -top -sample_index=alloc_space (during the run)</summary>\n\n```\n%s\n```\n</details>\n\n", p.allocTop)
			w("<details><summary>pprof -top -sample_index=alloc_objects (during the run)</summary>\n\n```\n%s\n```\n</details>\n\n", p.allocsTop)
		}
	}

	if len(res.goBench) > 0 {
		w("## Go benchmarks (`testing.B`, `-benchmem`)\n\n")
		w("In process, no sockets: resetgate's own work per operation. Commands:\n\n```\n%s\n```\n\n", strings.Join(res.goBenchCmd, "\n"))
		w("| package | benchmark | ns/op | B/op | allocs/op | other |\n|---|---|--:|--:|--:|---|\n")
		for _, g := range res.goBench {
			w("| %s | %s | %s | %s | %s | %s |\n", strings.TrimPrefix(g.pkg, "resetgate/"), g.name, f(g.nsOp, 0), f(g.bytesOp, 0), f(g.allocs, 0), strings.Join(g.extra, ", "))
		}
		w("\n")
	}

	w("## How it was run\n\n")
	w("```\nmake bench          # = go run ./bench/cmd/harness -out BENCHMARKS.md\n```\n\n")
	w("Options of this run: %d rounds, %s per page run, %s per 1 MiB run, %s warm-up, wrk -t%d -c%d, %s transfers, %d POST rounds of %s, %d completions per scheme. Everything listens on 127.0.0.1 only; nothing is installed by the harness.\n\n",
		o.rounds, o.dur, o.mibDur, o.warmup, o.threads, o.conns, mib(o.transferSize), o.postRounds, o.postDur, o.completions)
	w("- **upstream**: a Go `net/http` server, in its own process (`harness upstream`): `/page` (2 KiB HTML, Content-Length), `/1m`, `/stream?n=`, `/sink`, `/echo` (EnableFullDuplex, echoes while reading).\n")
	w("- **bare**: `httputil.ReverseProxy` with `Rewrite` (SetURL + SetXForwarded), a tuned `http.Transport` (256 idle connections per host, no compression, no proxy from the environment) and a `sync.Pool` of 32 KiB buffers, in its own process (`harness bare`). The transfers also run a variant with `EnableFullDuplex`.\n")
	w("- **resetgate**: `go build` of the working tree, `resetgate serve -config` with this config (only the addresses and paths differ from the defaults; the access log goes to a file):\n\n```toml\n%s```\n\n", res.rgConfig)
	w("  The POST /pwreset and completion runs use:\n\n```toml\n%s```\n\n", res.postConfig)
	if res.nginxConf != "" {
		w("- **nginx** (Debian's package, its own master and `worker_processes auto`):\n\n```nginx\n%s```\n\n", res.nginxConf)
	}
	if res.caddyfile != "" {
		w("- **Caddy** (`go install github.com/caddyserver/caddy/v2/cmd/caddy@v2.11.9`, defaults):\n\n```\n%s```\n\n", res.caddyfile)
	}

	if notes, err := os.ReadFile(filepath.Join(o.root, "bench", "analysis.md")); err == nil {
		w("%s\n", strings.TrimSpace(string(notes)))
	}
	return b.String()
}

func signed(v float64, self bool) string {
	if self || math.IsNaN(v) {
		return "–"
	}
	if v >= 0 {
		return "+" + ms(v)
	}
	return "−" + ms(-v)
}

func keys(ts []*target) string {
	var k []string
	for _, t := range ts {
		k = append(k, t.key)
	}
	return strings.Join(k, ", ")
}
