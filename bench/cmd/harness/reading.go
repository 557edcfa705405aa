package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"resetgate/reset"
)

// writeReading is the short reading of the numbers, generated from them so that it cannot
// disagree with the tables.
func writeReading(b *strings.Builder, res *results) {
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	w("## Reading\n\n")
	rg := summarizeLoad(res.samples, "page", "resetgate")
	bare := summarizeLoad(res.samples, "page", "bare")
	ng := summarizeLoad(res.samples, "page", "nginx")
	cd := summarizeLoad(res.samples, "page", "caddy")
	off := summarizeLoad(res.samples, "page", "resetgate-logoff")
	if rg.rounds > 0 {
		w("- **Cost per proxied request.** resetgate spends %s µs of CPU per 2 KiB GET: %s× the bare ReverseProxy (%s µs)", f(rg.cpu, 1), f(rg.cpuXBare, 2), f(bare.cpu, 1))
		if ng.rounds > 0 {
			w(", %s× nginx (%s µs)", f(rg.cpuXNginx, 2), f(ng.cpu, 1))
		}
		if cd.rounds > 0 {
			w(", %s× Caddy (%s µs)", f(rg.cpuXCaddy, 2), f(cd.cpu, 1))
		}
		w(". It serves %s× the bare proxy's requests/s and %s× direct.", f(rg.rpsXBare, 2), f(rg.rpsXDirect, 2))
		if off.rounds > 0 {
			w(" With `access_log = \"off\"` it spends %s µs (%s× bare): the per-request log line costs about %s µs, %s %% of the default's CPU.", f(off.cpu, 1), f(off.cpuXBare, 2), f(rg.cpu-off.cpu, 1), f((rg.cpu-off.cpu)/rg.cpu*100, 0))
		}
		if !math.IsNaN(rg.allocs) && !math.IsNaN(bare.allocs) {
			w(" Allocations: %s per request (%s bytes) against the bare proxy's %s (%s bytes).", f(rg.allocs, 1), f(rg.allocB, 0), f(bare.allocs, 1), f(bare.allocB, 0))
		}
		w("\n")
		w("- **Latency.** Saturated (wrk, 64 connections) resetgate's p99 is %s, %s over direct; p50 %s.", ms(rg.p99), signed(rg.p99Added, false), ms(rg.p50))
		if fx := summarizeLoad(res.samples, "fixed", "resetgate"); fx.rounds > 0 {
			fb := summarizeLoad(res.samples, "fixed", "bare")
			w(" At a fixed %d req/s: p50 %s, p99 %s, %s over direct (bare proxy: %s); CPU %s µs per request (%s× bare).", res.o.rate, ms(fx.p50), ms(fx.p99), signed(fx.p99Added, false), signed(fb.p99Added, false), f(fx.cpu, 1), f(fx.cpuXBare, 2))
		}
		w("\n")
	}
	var lost []string
	for _, t := range res.transfers {
		if !t.intact {
			lost = append(lost, fmt.Sprintf("%s %s: %s", t.target, t.kind, plainOutcome(t)))
		}
	}
	if len(lost) > 0 {
		w("- **Transfers not intact:** %s.\n", strings.Join(lost, "; "))
	} else if len(res.transfers) > 0 {
		w("- **Transfers:** every byte of every transfer arrived through every target.\n")
	}
	if len(res.posts) > 0 {
		kr, kp50, _, _ := res.postMedian("known")
		ur, up50, _, _ := res.postMedian("unknown")
		w("- **POST /pwreset:** %s req/s for existing addresses, %s for unknown ones; medians %s and %s (ratio %s).\n", f(kr, 0), f(ur, 0), ms(kp50), ms(up50), f(kp50/up50, 3))
	}
	for _, c := range res.complete {
		env := ""
		if c.env != "" {
			env = ", " + c.env
		}
		w("- **Completions (%s%s):** %s/s with %d in flight; each hash takes %s in resetgate, so the %d-slot semaphore allows at most %s/s. The proxied probe's p99 went from %s idle to %s (%s×); RSS grew by %s.\n",
			c.scheme, env, f(c.rate(), 1), c.n, c.hashMean.Round(time.Millisecond), reset.DefaultHashSlots(), f(float64(reset.DefaultHashSlots())/c.hashMean.Seconds(), 1),
			dur(c.idle.p99), dur(c.probe.p99), f(float64(c.probe.p99)/float64(c.idle.p99), 1), mibKB(max(c.growthKB(), 1)))
	}
	for _, p := range res.profiles {
		if p.target != "resetgate-pprof" || len(p.shares) == 0 {
			continue
		}
		var top []string
		for _, s := range p.shares {
			if s.pct >= 2 {
				top = append(top, fmt.Sprintf("%s %.0f %%", s.label, s.pct))
			}
		}
		w("- **Profile (resetgate):** %s.\n", strings.Join(top, "; "))
	}
	w("\n")
}

// writeRounds lists every round of the headline run, to show the spread behind the medians.
func writeRounds(b *strings.Builder, res *results) {
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	o := res.o
	w("### Every round (GET 2 KiB page): CPU µs per request / requests per second\n\n")
	w("| target |")
	for r := 1; r <= o.rounds; r++ {
		w(" round %d |", r)
	}
	w("\n|---|")
	for r := 1; r <= o.rounds; r++ {
		w("--:|")
	}
	w("\n")
	for _, t := range res.targets {
		w("| %s |", t.key)
		for r := 1; r <= o.rounds; r++ {
			for _, s := range res.samples {
				if s.round == r && s.target == t.key && s.scenario == "page" {
					w(" %s / %s |", f(s.cpuUS, 1), f(s.wrk.RPS, 0))
				}
			}
		}
		w("\n")
	}
	w("\n")
}
