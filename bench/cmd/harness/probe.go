package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// probe sends GET /page at a fixed rate (open loop: the next request does not wait for the
// previous answer) until stopped, and records every latency. It shows whether proxied
// traffic stays responsive while resetgate hashes.
//
// It runs in a process of its own (`harness probe URL EVERY`), as a visitor's browser would:
// inside the harness it shared the Go scheduler with the harness's own 200 completion clients,
// and what it measured during a burst was then partly the harness queuing its own goroutines.
type probe struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	err   error
}

// startProbe starts the probe process and returns once it is warm (its connections open, its
// code run): a cold start must not count in the idle baseline.
func startProbe(url string, every time.Duration) *probe {
	p := &probe{}
	self, err := os.Executable()
	if err != nil {
		p.err = err
		return p
	}
	p.cmd = exec.Command(self, "probe", url, every.String())
	p.cmd.Stderr = os.Stderr
	if p.stdin, p.err = p.cmd.StdinPipe(); p.err != nil {
		return p
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		p.err = err
		return p
	}
	if p.err = p.cmd.Start(); p.err != nil {
		return p
	}
	p.out = bufio.NewReader(stdout)
	if line, err := p.out.ReadString('\n'); err != nil || line != "ready\n" {
		p.err = fmt.Errorf("the probe did not start: %q, %v", line, err)
		p.stdin.Close()
		p.cmd.Wait()
	}
	return p
}

// stop ends the probe (its stdin closes), waits for the requests in flight, and returns
// every latency and the count of failed requests. A probe that could not run counts as one
// failure and is logged.
func (p *probe) stop() (latencies, int) {
	var out bytes.Buffer
	if p.err == nil {
		p.stdin.Close()
		_, p.err = io.Copy(&out, p.out)
		if err := p.cmd.Wait(); p.err == nil {
			p.err = err
		}
	}
	var lat latencies
	errs := 0
	sc := bufio.NewScanner(&out)
	for p.err == nil && sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "errors "); ok {
			errs, p.err = strconv.Atoi(n)
			continue
		}
		ns, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			p.err = fmt.Errorf("probe output %q: %w", sc.Text(), err)
			break
		}
		lat = append(lat, time.Duration(ns))
	}
	if p.err != nil {
		logf("probe: %v", p.err)
		return lat, errs + 1
	}
	return lat, errs
}

// cmdProbe is `harness probe URL EVERY`: it probes until its stdin closes, then prints the
// count of failed requests ("errors N") and each latency in nanoseconds, a line each.
func cmdProbe(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: harness probe URL EVERY")
	}
	every, err := time.ParseDuration(args[1])
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	var (
		mu   sync.Mutex
		lat  []time.Duration
		errs int
		wg   sync.WaitGroup
	)
	get := func() (time.Duration, error) {
		start := time.Now()
		resp, err := c.Get(args[0])
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("%s: %s", args[0], resp.Status)
			}
		}
		return time.Since(start), err
	}
	// Warm up: a few connections open, the client's code run, then the clock starts.
	for range 50 {
		if _, err := get(); err != nil {
			return err
		}
	}
	if _, err := os.Stdout.WriteString("ready\n"); err != nil {
		return err
	}
	t := time.NewTicker(every)
	defer t.Stop()
loop:
	for {
		select {
		case <-stop:
			break loop
		case <-t.C:
		}
		wg.Go(func() {
			d, err := get()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs++
				return
			}
			lat = append(lat, d)
		})
	}
	wg.Wait()
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "errors %d\n", errs)
	for _, d := range lat {
		fmt.Fprintf(w, "%d\n", d.Nanoseconds())
	}
	return w.Flush()
}
