package main

import (
	"fmt"
	"math"
	"strings"
)

// verdict is one line of the targets table.
type verdict struct {
	target, measured, status string
}

func status(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**missed**"
}

func (res *results) target(key string) *target {
	for _, t := range res.targets {
		if t.key == key {
			return t
		}
	}
	return nil
}

func (res *results) transfersOf(key string) []transferResult {
	var out []transferResult
	for _, t := range res.transfers {
		if t.target == key {
			out = append(out, t)
		}
	}
	return out
}

func (c completionResult) growthKB() int64 { return c.peak() - c.rssBefore }

func (res *results) postMedian(kind string) (rps, p50, p99, cpu float64) {
	var r, a, b, c []float64
	for _, s := range res.posts {
		if s.kind == kind {
			r = append(r, s.wrk.RPS)
			a = append(a, us(s.wrk.P50))
			b = append(b, us(s.wrk.P99))
			c = append(c, s.cpuUS)
		}
	}
	return median(r), median(a), median(b), median(c)
}

func (res *results) verdicts() []verdict {
	var v []verdict
	rg := summarizeLoad(res.samples, "page", "resetgate")
	has := func(k string) bool { return res.target(k) != nil }
	if has("resetgate") && has("bare") && len(res.samples) > 0 {
		v = append(v,
			verdict{"Proxy CPU per request ≤ the bare proxy (same run)", fmt.Sprintf("%s µs vs bare %s µs: **%s×**", f(rg.cpu, 1), f(summarizeLoad(res.samples, "page", "bare").cpu, 1), f(rg.cpuXBare, 2)), status(rg.cpuXBare <= 1)},
			verdict{"Requests/s ≥ the bare proxy", fmt.Sprintf("%s req/s: **%s×** bare, %s× direct", f(rg.rps, 0), f(rg.rpsXBare, 2), f(rg.rpsXDirect, 2)), status(rg.rpsXBare >= 1)},
		)
	}
	if has("resetgate") && len(res.samples) > 0 {
		v = append(v, verdict{"Stretch: ≤ 40 µs CPU per request", f(rg.cpu, 1) + " µs", status(rg.cpu <= 40)})
		if fv, ok := res.featuresVerdict(); ok {
			v = append(v, fv)
		}
		if has("nginx") {
			v = append(v, verdict{"Ratio to nginx (report how far it moved; issue: 56/18 ≈ 3.1× for the bare proxy)", fmt.Sprintf("**%s×** nginx's %s µs", f(rg.cpuXNginx, 2), f(summarizeLoad(res.samples, "page", "nginx").cpu, 1)), "reported"})
		}
		if has("direct") {
			v = append(v, verdict{"p99 added over direct < 2 ms at 64 connections (wrk, closed loop: every target saturated at its own rate)", fmt.Sprintf("%s (p99 %s)", signed(rg.p99Added, false), ms(rg.p99)), status(rg.p99Added < 2000)})
			if fx := summarizeLoad(res.samples, "fixed", "resetgate"); fx.rounds > 0 {
				v = append(v, verdict{fmt.Sprintf("p99 added over direct < 2 ms at 64 connections and a fixed %d req/s (open loop)", res.o.rate), fmt.Sprintf("%s (p99 %s)", signed(fx.p99Added, false), ms(fx.p99)), status(fx.p99Added < 2000)})
			}
		}
		m := res.mem["resetgate"]
		v = append(v, verdict{"RSS under load (VmHWM over the load rounds) < 40 MiB", mibKB(m.loadHWM), status(m.loadHWM < 40<<10)})
	}
	if trs := res.transfersOf("resetgate"); len(trs) > 0 {
		intact, growth := len(trs) == 3, int64(0)
		var kinds []string
		for _, t := range trs {
			intact = intact && t.intact
			growth = max(growth, t.growthKB())
			kinds = append(kinds, t.kind+": "+plainOutcome(t))
		}
		v = append(v,
			verdict{fmt.Sprintf("Every byte intact: %s upload, download, chunked full-duplex echo", mib(res.o.transferSize)), strings.Join(kinds, "; "), status(intact)},
			verdict{"RSS growth during each transfer < 4 MiB", "largest: +" + mibKB(max(growth, 1)), status(growth < 4096)},
		)
	}
	if m := res.mem["resetgate"]; m != nil {
		v = append(v, verdict{"Idle RSS < 20 MiB", fmt.Sprintf("%s (anonymous %s + file-backed %s)", mibKB(m.idleKB), mibKB(m.anonKB), mibKB(m.fileKB)), status(m.idleKB < 20<<10)})
	}
	if len(res.posts) > 0 {
		kr, kp50, _, _ := res.postMedian("known")
		ur, up50, _, _ := res.postMedian("unknown")
		low := min(kr, ur)
		v = append(v,
			verdict{"POST /pwreset ≥ 2,000 requests/s with bbolt (limits off)", fmt.Sprintf("known %s, unknown %s req/s", f(kr, 0), f(ur, 0)), status(low >= 2000)},
			verdict{"POST /pwreset medians, known vs unknown, within 5 %", fmt.Sprintf("%s vs %s: ratio %s", ms(kp50), ms(up50), f(kp50/up50, 3)), status(math.Abs(kp50/up50-1) <= 0.05)},
		)
	}
	for _, c := range res.complete {
		if c.env != "" {
			continue // experiments, shown in their section only
		}
		lim := 3 * c.idle.p99
		v = append(v, verdict{fmt.Sprintf("%d concurrent completions (%s): proxied p99 < 3× idle p99", c.n, c.scheme),
			fmt.Sprintf("%s vs idle %s (%s×)%s", dur(c.probe.p99), dur(c.idle.p99), f(float64(c.probe.p99)/float64(c.idle.p99), 1), floorNote(c)), status(c.probe.p99 < lim && c.probe.errs == 0)})
	}
	// Bounded memory: the peak with n argon2id completions in flight is no higher than with
	// n/10 (plus 16 MiB of slack), i.e. it does not grow with the number in flight.
	var small, large *completionResult
	for i := range res.complete {
		c := &res.complete[i]
		if c.scheme != "argon2id" || c.env != "" {
			continue
		}
		if small == nil || c.n < small.n {
			small = c
		}
		if large == nil || c.n > large.n {
			large = c
		}
	}
	if small != nil && large != nil && small != large {
		v = append(v, verdict{fmt.Sprintf("Memory bounded: peak RSS with %d argon2id completions in flight ≤ with %d (+16 MiB)", large.n, small.n),
			fmt.Sprintf("%s vs %s (growth +%s; unbounded would add %d × 19 MiB ≈ %.1f GiB)", mibKB(large.peak()), mibKB(small.peak()), mibKB(max(large.growthKB(), 1)), large.n, float64(large.n)*19/1024),
			status(large.peak() <= small.peak()+16<<10)})
	}
	return v
}

// floorNote is what the same hashing costs the probe from a process of its own (contend.go),
// for the completions' verdicts.
func floorNote(c completionResult) string {
	if c.floor.n == 0 || c.idle.p99 == 0 {
		return ""
	}
	return fmt.Sprintf("; beside a separate nice-19 %s process instead: %s (%s×)", c.scheme, dur(c.floor.p99), f(float64(c.floor.p99)/float64(c.idle.p99), 1))
}
