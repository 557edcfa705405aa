package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

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
