package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"resetgate/internal/asynclog"
	"resetgate/web"
)

func TestRedactPath(t *testing.T) {
	token := "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE"
	for _, tc := range []struct {
		route      web.Route
		path, want string
	}{
		{web.Upstream, "/login", "/login"},
		{web.Upstream, "/pwreset-not-ours/" + token, "/pwreset-not-ours/" + token},
		{web.Reset, "/pwreset", "/pwreset"},
		{web.Reset, "/pwreset/sent", "/pwreset/sent"},
		{web.Reset, "/pwreset/code", "/pwreset/code"},
		{web.Reset, "/pwreset/new", "/pwreset/new"},
		{web.Reset, "/pwreset/static/style.css", "/pwreset/static/style.css"},
		{web.Reset, "/pwreset/" + token, "/pwreset/{token}"},
		{web.Reset, "/pwreset/wasnt-me", "/pwreset/wasnt-me"},
		{web.Reset, "/pwreset/wasnt-me/sealed-secret-value", "/pwreset/wasnt-me/{link}"},
		{web.Reset, "/pwreset/whatever/else", "/pwreset/{other}"},
	} {
		if got := redactPath("/pwreset", tc.route, tc.path); got != tc.want {
			t.Errorf("redactPath(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// TestShutdownWritesEveryAccessLine is issue 17's: the access log is written asynchronously,
// so serve's drain must write the line of every request that finished before shutdown.
func TestShutdownWritesEveryAccessLine(t *testing.T) {
	inst := startResetgate(t, sqliteUsers(t, "old password 1"), echoApp(t).URL, "")
	const n = 200
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range n / 8 {
				resp, err := http.Get(fmt.Sprintf("%s/app/item/%d", inst.base, g*n/8+i))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	resp, err := http.Get(inst.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "\nresetgate_access_log_dropped_total 0\n") {
		t.Errorf("/metrics has no resetgate_access_log_dropped_total 0 after %d requests:\n%s", n, metrics)
	}
	inst.stop(t) // no waiting for the log: shutdown itself must write it
	seen := map[string]bool{}
	for _, l := range inst.log.logLines("request") {
		if p, _ := l["path"].(string); strings.HasPrefix(p, "/app/item/") {
			seen[p] = true
			for _, k := range []string{"time", "level", "method", "route", "status", "bytes", "duration", "remote"} {
				if l[k] == nil {
					t.Errorf("access line without %s: %v", k, l)
				}
			}
		}
	}
	if len(seen) != n {
		t.Errorf("after shutdown, access lines of %d distinct requests, want all %d", len(seen), n)
	}
}

// TestDrainWritesTheAccessLog is the drain order of issue 17 without depending on how fast the
// writer is: its lines wait an hour before a write, so only the drain's close of the access log
// can have written them by the time drain returns, after the last request has finished.
func TestDrainWritesTheAccessLog(t *testing.T) {
	var out syncBuffer
	q := asynclog.New(&out, func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
		asynclog.Options{Delay: time.Hour})
	cfg := defaultConfig()
	a := &app{cfg: &cfg, log: slog.New(slog.DiscardHandler), health: &health{}, accessQueue: q}
	var mode atomic.Value
	mode.Store("all")
	entered, release := make(chan struct{}), make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
	})
	h := instrument(slog.New(q.Handler()), "/pwreset", &mode, newMetrics(a), routedFunc(slow), func(*http.Request) netip.Addr { return netip.Addr{} }, &a.inflight)
	srv := httptest.NewServer(h)
	defer srv.Close()
	for i := range 20 {
		resp, err := http.Get(fmt.Sprintf("%s/page/%d", srv.URL, i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	slowDone := make(chan error, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/slow")
		if err == nil {
			resp.Body.Close()
		}
		slowDone <- err
	}()
	<-entered
	drained := make(chan struct{})
	go func() { a.drain(srv.Config, nil, func() {}); close(drained) }()
	close(release) // the last request finishes during the drain
	<-drained
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}
	lines := out.logLines("request")
	if len(lines) != 21 {
		t.Fatalf("after drain: %d access lines, want all 21 (20 pages and the request finished during the drain)\n%s", len(lines), out.String())
	}
	if p := lines[20]["path"]; p != "/slow" {
		t.Errorf("last line is %v, want /slow's", p)
	}
}

// routedFunc routes every request upstream to h.
type routedFunc http.HandlerFunc

func (f routedFunc) Route(*http.Request) web.Route { return web.Upstream }
func (f routedFunc) ServeRoute(w http.ResponseWriter, r *http.Request, _ web.Route) {
	f(w, r)
}
