package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	Requests   int64
	Duration   time.Duration
	RPS        float64
	P50, P99   time.Duration
	Non2xx3xx  int64
	SocketErrs int64
}

// wrkArgs are the command-line arguments of one load run; they are printed verbatim in the
// report so that every number can be reproduced by hand.
func wrkArgs(threads, conns int, d time.Duration, script, url string) []string {
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + durationArg(d), "--latency"}
	if script != "" {
		args = append(args, "-s", script)
	}
	return append(args, url)
}

// durationArg formats d as wrk wants it: whole seconds ("8s").
func durationArg(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s) + "s"
}

func runWrk(ctx context.Context, args []string) (wrkResult, error) {
	out, err := runCmd(ctx, "", nil, "wrk", args...)
	if err != nil {
		return wrkResult{}, err
	}
	return parseWrk(out)
}

var (
	reWrkTotal  = regexp.MustCompile(`(\d+) requests in ([0-9.]+)(us|ms|s|m|h),`)
	reWrkRPS    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reWrkPct    = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([0-9.]+)(us|ms|s|m|h)\s*$`)
	reWrkNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reWrkSocket = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk 4's text output (with --latency).
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := reWrkTotal.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk output has no request count:\n%s", out)
	}
	r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	var err error
	if r.Duration, err = wrkDuration(m[2], m[3]); err != nil {
		return r, err
	}
	m = reWrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk output has no Requests/sec:\n%s", out)
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	for _, m := range reWrkPct.FindAllStringSubmatch(out, -1) {
		d, err := wrkDuration(m[2], m[3])
		if err != nil {
			return r, err
		}
		if m[1] == "50" {
			r.P50 = d
		} else {
			r.P99 = d
		}
	}
	if r.P50 == 0 || r.P99 == 0 {
		return r, fmt.Errorf("wrk output has no 50%%/99%% latency (run with --latency):\n%s", out)
	}
	if m := reWrkNon2xx.FindStringSubmatch(out); m != nil {
		r.Non2xx3xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reWrkSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.SocketErrs += n
		}
	}
	return r, nil
}

// wrkDuration converts wrk's "1.23ms", "850.00us", "2.00s", "1.00m" into a Duration.
func wrkDuration(num, unit string) (time.Duration, error) {
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("wrk duration %q: %w", num+unit, err)
	}
	scale := map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}[unit]
	if scale == 0 {
		return 0, errors.New("wrk duration " + strings.TrimSpace(num+unit) + ": unknown unit")
	}
	return time.Duration(v * scale), nil
}
