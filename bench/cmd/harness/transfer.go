package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// transferResult is one 1 GiB transfer through one target.
type transferResult struct {
	target, kind string
	sent, got    int64 // bytes the client sent / the far end received or the client got back
	intact       bool  // every byte arrived, in order (SHA-256 equal)
	status       int
	elapsed      time.Duration
	outcome      string // "intact", "N bytes lost", "stalled", the error…
	rssBeforeKB  int64
	peakKB       int64 // VmHWM after a reset, or the sampled peak
	sampledKB    int64 // the sampled peak of VmRSS, every 20 ms
}

func (r transferResult) growthKB() int64 {
	if r.peakKB == 0 {
		return 0
	}
	return max(r.peakKB, r.sampledKB) - r.rssBeforeKB
}

// progressReader counts and hashes what it reads.
type progressReader struct {
	r io.Reader
	h hash.Hash
	n *atomic.Int64
}

func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.h.Write(b[:n])
	p.n.Add(int64(n))
	return n, err
}

// transferClient is a plain Go client: no compression, no timeout (the watchdog decides), a
// fresh connection per transfer. Keep-alive stays on, as browsers and API clients have it:
// with "Connection: close" on the request, net/http's server skips the body discard that
// truncates streamed uploads, and the harness would miss exactly the loss it looks for.
func transferClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:        (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		DisableCompression: true,
	}}
}

// watchdog cancels ctx when neither counter moves for idle: a proxy that buffers a whole
// body before forwarding it (or deadlocks a full-duplex exchange) shows up as "stalled"
// rather than hanging the run.
func watchdog(ctx context.Context, cancel context.CancelCauseFunc, idle time.Duration, counters ...*atomic.Int64) {
	last := int64(-1)
	since := time.Now()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var sum int64
		for _, c := range counters {
			sum += c.Load()
		}
		if sum != last {
			last, since = sum, time.Now()
			continue
		}
		if time.Since(since) > idle {
			cancel(errStalled)
			return
		}
	}
}

var errStalled = errors.New("stalled")

// transfer runs one kind of transfer ("upload", "download", "echo") of size bytes through
// base (a target's URL) and checks it end to end. expectDownload is the SHA-256 of the first
// size bytes of the stream.
func transfer(ctx context.Context, kind, base string, size int64, expectDownload string, stall time.Duration) transferResult {
	res := transferResult{kind: kind}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var sent, got atomic.Int64
	go watchdog(ctx, cancel, stall, &sent, &got)
	c := transferClient()
	defer c.CloseIdleConnections()
	start := time.Now()
	fail := func(err error) transferResult {
		res.elapsed = time.Since(start)
		if errors.Is(context.Cause(ctx), errStalled) {
			err = errStalled
		}
		res.sent, res.got = sent.Load(), got.Load()
		res.outcome = err.Error()
		if errors.Is(err, errStalled) {
			res.outcome = fmt.Sprintf("stalled (no progress for %s after %s sent, %s received)", stall, mib(res.sent), mib(res.got))
		}
		return res
	}

	sentHash := sha256.New()
	body := progressReader{r: io.LimitReader(newStream(), size), h: sentHash, n: &sent}
	var req *http.Request
	switch kind {
	case "upload":
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+pathSink, body)
		req.ContentLength = size
	case "download":
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, base+pathStream+"?n="+strconv.FormatInt(size, 10), nil)
	case "echo":
		// No ContentLength: the body goes chunked, as a streaming client sends it.
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+pathEcho, io.NopCloser(body))
		req.ContentLength = -1
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	res.status = resp.StatusCode
	gotHash := sha256.New()
	var answer []byte
	if kind == "upload" {
		answer, err = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	} else {
		_, err = io.CopyBuffer(io.Discard, progressReader{r: resp.Body, h: gotHash, n: &got}, make([]byte, 64<<10))
	}
	res.sent, res.got = sent.Load(), got.Load()
	res.elapsed = time.Since(start)
	if err != nil {
		return fail(fmt.Errorf("HTTP %d, then %w after %s sent, %s received", resp.StatusCode, err, mib(res.sent), mib(res.got)))
	}
	var want, have string
	switch kind {
	case "upload":
		// The sink's answer says what the app received.
		var sr sinkResult
		if err := json.Unmarshal(answer, &sr); err != nil {
			return fail(fmt.Errorf("HTTP %d, answer %q", resp.StatusCode, clipText(string(answer), 80)))
		}
		res.got = sr.Bytes
		want, have = hex.EncodeToString(sentHash.Sum(nil)), sr.SHA256
	case "download":
		want, have = expectDownload, hex.EncodeToString(gotHash.Sum(nil))
	default:
		want, have = hex.EncodeToString(sentHash.Sum(nil)), hex.EncodeToString(gotHash.Sum(nil))
	}
	res.intact = res.status == http.StatusOK && res.got == size && (kind == "download" || res.sent == size) && want == have
	switch {
	case res.intact:
		res.outcome = "intact"
	case res.got != size:
		res.outcome = fmt.Sprintf("**%d bytes lost**, HTTP %d", size-res.got, res.status)
	default:
		res.outcome = fmt.Sprintf("**bytes differ** (SHA-256), HTTP %d", res.status)
	}
	return res
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
