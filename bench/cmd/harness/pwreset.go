package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// requestScript is the wrk script for POST /pwreset: a form post, as a browser sends it,
// cycling through 1,000 addresses that all exist ("user"), none exists ("nope"), or both in
// turn ("mixed", for the warm-up). Both prefixes have four letters, so the bodies have the
// same lengths.
func requestScript(kind string) string {
	prefix := map[string]string{"known": `"user"`, "unknown": `"nope"`, "mixed": `(i % 2 == 0 and "user" or "nope")`}[kind]
	return fmt.Sprintf(`-- POST /pwreset, %[1]s addresses
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  i = i + 1
  return wrk.format(nil, "/pwreset", nil, "email=" .. %[2]s .. (i %% 1000) .. "%%40example.com")
end
`, kind, prefix)
}

// pwresetSample is one wrk run of POST /pwreset.
type pwresetSample struct {
	loadSample
	kind  string  // "known" or "unknown"
	depth float64 // mail jobs queued at the end of the run
}

// queueDepth reads resetgate_queue_depth from a resetgate target.
func queueDepth(ctx context.Context, t *target) (float64, error) {
	m, err := scrape(ctx, t.metrics, "resetgate_queue_depth")
	if err != nil {
		return 0, err
	}
	v, ok := m["resetgate_queue_depth"]
	if !ok {
		return 0, fmt.Errorf("%s has no resetgate_queue_depth", t.metrics)
	}
	return v, nil
}

// drainQueue waits until resetgate's mail queue is empty.
func drainQueue(ctx context.Context, t *target, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < limit {
		d, err := queueDepth(ctx, t)
		if err != nil {
			return 0, err
		}
		if d == 0 {
			return time.Since(start), nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start), fmt.Errorf("mail queue not empty after %s", limit)
}

// postResult is the POST /pwreset phase: the runs, and how fast the mail worker works off
// the queue they leave.
type postResult struct {
	runs       []pwresetSample
	workerRate float64 // jobs per second, mixed backlog, no requests arriving
}

// runRequestRounds measures POST /pwreset for existing and non-existing addresses. The
// request path only queues a job; the mail worker does the lookup (and for an existing
// account the token and the mail) in the background, far slower than requests arrive. So
// that both kinds run under the same background load, an unmeasured mixed run fills the
// queue first, and the measured runs alternate in ABBA order with the worker busy
// throughout (working off the mixed jobs at the head of the queue).
func runRequestRounds(ctx context.Context, lc loadConfig, t *target, dir string, d time.Duration, logf func(string, ...any)) (postResult, error) {
	var res postResult
	scripts := map[string]string{}
	for _, kind := range []string{"known", "unknown", "mixed"} {
		p := filepath.Join(dir, "post-"+kind+".lua")
		if err := os.WriteFile(p, []byte(requestScript(kind)), 0o644); err != nil {
			return res, err
		}
		scripts[kind] = p
	}
	if _, err := runWrk(ctx, wrkArgs(lc.threads, lc.conns, 2*time.Second, scripts["mixed"], t.url+"/pwreset")); err != nil {
		return res, err
	}
	for r := 1; r <= lc.rounds; r++ {
		// ABBA order (known, unknown, unknown, known, …): the store grows by every run,
		// and a fixed order would put one kind always later.
		order := []string{"known", "unknown"}
		if r%2 == 0 {
			order = []string{"unknown", "known"}
		}
		for _, kind := range order {
			s := pwresetSample{kind: kind}
			s.round, s.target, s.scenario = r, t.key, "post-"+kind
			t0, err := t.grp.cpu()
			if err != nil {
				return res, err
			}
			if s.wrk, err = runWrk(ctx, wrkArgs(lc.threads, lc.conns, d, scripts[kind], t.url+"/pwreset")); err != nil {
				return res, err
			}
			t1, err := t.grp.cpu()
			if err != nil {
				return res, err
			}
			s.cpuUS = float64(t1-t0) / clockTicks * 1e6 / float64(max(s.wrk.Requests, 1))
			if s.depth, err = queueDepth(ctx, t); err != nil {
				return res, err
			}
			res.runs = append(res.runs, s)
			logf("POST /pwreset %-7s round %d: %6.0f req/s  p50 %-9s p99 %-9s cpu %6.1f µs/req  non-3xx %d  queued %.0f",
				kind, r, s.wrk.RPS, dur(s.wrk.P50), dur(s.wrk.P99), s.cpuUS, s.wrk.Non2xx3xx+s.wrk.SocketErrs, s.depth)
		}
	}
	// The worker's own rate, with no requests arriving.
	d0, err := queueDepth(ctx, t)
	if err != nil {
		return res, err
	}
	start := time.Now()
	time.Sleep(5 * time.Second)
	d1, err := queueDepth(ctx, t)
	if err != nil {
		return res, err
	}
	res.workerRate = (d0 - d1) / time.Since(start).Seconds()
	logf("mail worker: %.0f jobs/s (queue %.0f → %.0f)", res.workerRate, d0, d1)
	return res, nil
}

// noRedirect is a client that shows redirects instead of following them.
func noRedirect() *http.Client {
	return &http.Client{
		Timeout:       2 * time.Minute,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// issueLinks asks for a link for prefix0…prefix{n-1}@example.com, waits for the worker to
// write the mail, and returns the links from the outbox's log lines, in address order.
func issueLinks(ctx context.Context, t *target, prefix string, n int) ([]string, error) {
	c := noRedirect()
	for i := range n {
		form := url.Values{"email": {fmt.Sprintf("%s%d@example.com", prefix, i)}}
		resp, err := c.PostForm(t.url+"/pwreset", form)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			return nil, fmt.Errorf("POST /pwreset: %s", resp.Status)
		}
	}
	if _, err := drainQueue(ctx, t, 3*time.Minute); err != nil {
		return nil, err
	}
	links, err := outboxLinks(t.p.log)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, n)
	for i := range n {
		addr := fmt.Sprintf("%s%d@example.com", prefix, i)
		l, ok := links[addr]
		if !ok {
			return nil, fmt.Errorf("no link for %s in %s", addr, t.p.log)
		}
		out = append(out, l)
	}
	return out, nil
}

// outboxLinks reads the JSON log and returns the latest link mailed to each address (a new
// link replaces the previous one).
func outboxLinks(logPath string) (map[string]string, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"link"`) {
			continue
		}
		var rec struct {
			To   string `json:"to"`
			Link string `json:"link"`
		}
		if json.Unmarshal(line, &rec) == nil && rec.To != "" && rec.Link != "" {
			out[rec.To] = rec.Link
		}
	}
	return out, sc.Err()
}

// latencies summarises a set of durations.
type latencies []time.Duration

func (l latencies) pct(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// probeStats are the probe's results over one window.
type probeStats struct {
	n        int
	errs     int
	p50, p99 time.Duration
	max      time.Duration
}

func summarize(l latencies, errs int) probeStats {
	return probeStats{n: len(l), errs: errs, p50: l.pct(50), p99: l.pct(99), max: l.pct(100)}
}

// completionResult is one burst of concurrent completions (GET link, POST new password).
type completionResult struct {
	scheme    string
	env       string     // the instance's extra environment, "" for none
	idle      probeStats // the probe before the completions, on the same instance
	floor     probeStats // the probe beside a separate nice-19 process hashing the same scheme (contend.go); zero if not measured
	n, ok     int
	failures  map[string]int
	elapsed   time.Duration
	post      latencies // POST {prefix}/new, each
	probe     probeStats
	cpuUS     float64 // per completion
	hashMean  time.Duration
	hashes    int
	rssBefore int64
	peakKB    int64
	sampledKB int64
}

func (r completionResult) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// peak is the highest RSS seen during the burst.
func (r completionResult) peak() int64 { return max(r.peakKB, r.sampledKB) }

// complete runs one completion for every link at once.
func complete(ctx context.Context, t *target, scheme string, links []string, probeEvery time.Duration) (completionResult, error) {
	res := completionResult{scheme: scheme, n: len(links), failures: map[string]int{}}
	c := noRedirect()
	h0, err := scrape(ctx, t.metrics, "resetgate_hash_duration_seconds_sum", "resetgate_hash_duration_seconds_count")
	if err != nil {
		return res, err
	}
	if res.rssBefore, err = t.grp.memKB("VmRSS"); err != nil {
		return res, err
	}
	hwmOK := t.grp.resetPeak()
	sampler := samplePeak(t.grp, 20*time.Millisecond)
	cpu0, err := t.grp.cpu()
	if err != nil {
		return res, err
	}
	pr := startProbe(t.url+pathPage, probeEvery)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for i, link := range links {
		password := fmt.Sprintf("Quartz-%d-Lantern-%s-7!", i, scheme)
		wg.Go(func() {
			d, why := completeOne(c, t.url, link, password)
			mu.Lock()
			defer mu.Unlock()
			if why != "" {
				res.failures[why]++
				return
			}
			res.ok++
			res.post = append(res.post, d)
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	lat, errs := pr.stop()
	res.probe = summarize(lat, errs)
	cpu1, err := t.grp.cpu()
	if err != nil {
		return res, err
	}
	res.sampledKB = sampler.stop()
	if hwmOK {
		if res.peakKB, err = t.grp.memKB("VmHWM"); err != nil {
			return res, err
		}
	}
	res.cpuUS = float64(cpu1-cpu0) / clockTicks * 1e6 / float64(max(res.ok, 1))
	h1, err := scrape(ctx, t.metrics, "resetgate_hash_duration_seconds_sum", "resetgate_hash_duration_seconds_count")
	if err != nil {
		return res, err
	}
	res.hashes = int(h1["resetgate_hash_duration_seconds_count"] - h0["resetgate_hash_duration_seconds_count"])
	if res.hashes > 0 {
		sum := h1["resetgate_hash_duration_seconds_sum"] - h0["resetgate_hash_duration_seconds_sum"]
		res.hashMean = time.Duration(sum / float64(res.hashes) * 1e9)
	}
	return res, nil
}

// completeOne opens a link and sets a new password, as a browser does, and returns the
// POST's latency, or why it failed.
func completeOne(c *http.Client, base, link, password string) (time.Duration, string) {
	resp, err := c.Get(link)
	if err != nil {
		return 0, "GET link: " + err.Error()
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/pwreset/new" {
		return 0, fmt.Sprintf("GET link: %s → %s", resp.Status, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	form := url.Values{"password": {password}, "password2": {password}}
	req, _ := http.NewRequest(http.MethodPost, base+"/pwreset/new", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	start := time.Now()
	resp, err = c.Do(req)
	if err != nil {
		return 0, "POST new: " + err.Error()
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/pwreset/done" {
		return 0, fmt.Sprintf("POST new: %s → %q", resp.Status, resp.Header.Get("Location"))
	}
	return d, ""
}
