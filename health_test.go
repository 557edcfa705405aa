package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"log/slog"

	"resetgate/internal/clientip"
	"resetgate/web"
)

// TestReadinessIgnoresMailAndStore is issue 20's third point: /readyz ran a full SMTP session
// and pinged the state store, so a mail outage marked every pod unready and the app lost all
// its traffic. Readiness now follows only what proxying needs; the dependencies are reported
// by /healthz?verbose and /status.
func TestReadinessIgnoresMailAndStore(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	app := echoApp(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	_, smtpPort, _ := net.SplitHostPort(closedPort(t))
	cfg := fmt.Sprintf(`listen = "127.0.0.1:0"
public_url = "https://app.example"
upstream = %q
data_dir = %q
log_format = "json"
[admin]
listen = "127.0.0.1:0"
[users]
driver = %q
dsn = %q
[mail]
transport = "smtp"
from = "Example <no-reply@example.com>"
[mail.smtp]
host = "127.0.0.1"
port = %s
tls = "none"
timeout = "2s"
`, app.URL, filepath.Join(dir, "data"), users.driver, users.dsn, smtpPort)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	rg := mustServe(t, path)
	admin := "http://" + rg.waitAddr(t, "admin listening")

	get := func(path string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(admin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, body
	}
	failing := func(body map[string]any) []string {
		var names []string
		checks, _ := body["checks"].([]any)
		for _, c := range checks {
			if m := c.(map[string]any); m["ok"] != true {
				names = append(names, m["name"].(string))
			}
		}
		return names
	}

	if code, body := get("/readyz"); code != http.StatusOK || len(failing(body)) != 0 {
		t.Errorf("/readyz with the mail server down = %d %v, want 200: mail is not what proxying needs", code, body)
	}
	if code, body := get("/healthz"); code != http.StatusOK || body["status"] != "ok" {
		t.Errorf("/healthz = %d %v, want 200 ok", code, body)
	}
	code, body := get("/healthz?verbose")
	if code != http.StatusOK || body["status"] != "degraded" || fmt.Sprint(failing(body)) != "[mail]" {
		t.Errorf("/healthz?verbose = %d %v, want 200, degraded, with mail failing", code, body)
	}
	code, body = get("/status")
	if _, ok := body["queue"].(map[string]any); code != http.StatusOK || !ok || fmt.Sprint(failing(body)) != "[mail]" {
		t.Errorf("/status = %d %v, want 200 with the queue and mail failing", code, body)
	}
	app.Close()
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || fmt.Sprint(failing(body)) != "[upstream]" {
		t.Errorf("/readyz with the app down = %d %v, want 503 naming the upstream", code, body)
	}
}

// fakeRouted answers every request with status, or not at all when status is 0.
type fakeRouted struct {
	route  web.Route
	status int
}

func (f fakeRouted) Route(*http.Request) web.Route { return f.route }
func (f fakeRouted) ServeRoute(w http.ResponseWriter, r *http.Request, _ web.Route) {
	if f.status != 0 {
		w.WriteHeader(f.status)
	}
}

// TestAccessLogNamesTheResolvedClient is from issue 20's smaller points: the access log's
// remote was the socket peer (the proxy in front), and a request whose client went away
// before any answer was counted as a 101.
func TestAccessLogNamesTheResolvedClient(t *testing.T) {
	ips, err := clientip.New([]string{"127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		status     int
		cancelled  bool
		wantStatus float64
	}{
		{"answered", http.StatusNoContent, false, 204},
		{"client gone before any answer", 0, true, 499},
		{"handler wrote nothing", 0, false, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf syncBuffer
			log := slog.New(slog.NewJSONHandler(&buf, nil))
			var mode atomic.Value
			mode.Store("all")
			var inflight sync.WaitGroup
			h := instrument(log, "/pwreset", &mode, newMetrics(&app{}), fakeRouted{route: web.Upstream, status: tc.status}, ips.IP, &inflight)
			r := httptest.NewRequest("GET", "/account", nil)
			r.RemoteAddr = "127.0.0.1:4711"
			r.Header.Set("X-Forwarded-For", "203.0.113.9")
			if tc.cancelled {
				ctx, cancel := context.WithCancel(r.Context())
				cancel()
				r = r.WithContext(ctx)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			line := buf.waitLog(t, "request", 1)
			if line["remote"] != "203.0.113.9" {
				t.Errorf("remote = %v, want the client resolved through trusted_proxies", line["remote"])
			}
			if line["status"] != tc.wantStatus {
				t.Errorf("status = %v, want %v", line["status"], tc.wantStatus)
			}
		})
	}
}
