package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testAdminToken = "0123456789abcdef0123456789abcdef-admin"

// freeAddr returns a loopback address that nothing listens on, for a config that commands
// must be able to reach (":0" would not tell them the port).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// reachableConfig is a serve config whose admin listener is on a fixed free port, so that
// commands run with the same config can find the server; admin continues the [admin] table.
func reachableConfig(t *testing.T, dir string, users legacyDB, admin string) string {
	t.Helper()
	return fmt.Sprintf(`listen = "127.0.0.1:0"
public_url = "https://app.example"
upstream = %q
data_dir = %q
[users]
driver = %q
dsn = %q
[mail]
from = "Example <no-reply@example.com>"
[admin]
listen = %q
`, echoApp(t).URL, filepath.Join(dir, "data"), users.driver, users.dsn, freeAddr(t)) + admin
}

// runReachable runs a server with reachableConfig. Its admin port is chosen free then bound
// by the server, so another process may take it in between: then it tries another.
func runReachable(t *testing.T, dir string, users legacyDB, admin string) *instance {
	t.Helper()
	for attempt := 1; ; attempt++ {
		rg, err := tryConfig(t, dir, reachableConfig(t, dir, users, admin), nil)
		if err == nil {
			return rg
		}
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
	}
}

// writeToken writes the admin token to a file and returns its path.
func writeToken(t *testing.T, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// apiCall sends one admin API request with the bearer token (none if "") and returns the
// status and the decoded JSON body.
func apiCall(t *testing.T, base, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s %s = %d %q: not JSON: %v", method, path, resp.StatusCode, data, err)
	}
	return resp.StatusCode, out
}

func TestAdminAPIOffWithoutToken(t *testing.T) {
	rg := startResetgate(t, sqliteUsers(t, "old-password-1"), echoApp(t).URL, "")
	if code, body := apiCall(t, rg.admin, testAdminToken, "GET", "/api/v1/tokens", ""); code != http.StatusNotFound || body["code"] != "api_off" {
		t.Errorf("GET /api/v1/tokens with no token configured = %d %v, want 404 api_off", code, body)
	}
	// Health, status and metrics stay open, as before there was an API.
	for _, path := range []string{"/healthz", "/metrics", "/status"} {
		if resp, err := http.Get(rg.admin + path); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with no token configured = %v %v, want 200", path, resp, err)
		}
	}
}

func TestAdminAPIToken(t *testing.T) {
	rg := startResetgate(t, sqliteUsers(t, "old-password-1"), echoApp(t).URL,
		fmt.Sprintf("token_file = %q\n", writeToken(t, testAdminToken)))
	for _, tc := range []struct {
		name, header string
		want         int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "Bearer " + strings.Repeat("x", len(testAdminToken)), http.StatusUnauthorized},
		{"token as a prefix", "Bearer " + testAdminToken[:32], http.StatusUnauthorized},
		{"not a bearer", "Basic " + testAdminToken, http.StatusUnauthorized},
		{"right token", "Bearer " + testAdminToken, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", rg.admin+"/api/v1/jobs", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("GET /api/v1/jobs with %q = %d, want %d", tc.header, resp.StatusCode, tc.want)
			}
			if tc.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// Every call is audited, the refused ones included, and the token is never logged.
	if n := len(rg.log.logLines("admin api call")); n != 5 {
		t.Errorf("%d audit lines for 5 calls:\n%s", n, rg.log.String())
	}
	// With a token, /status and /metrics need it too; the health checks never do.
	for path, want := range map[string]int{"/metrics": 401, "/status": 401, "/healthz": 200, "/healthz?verbose": 200, "/readyz": 200} {
		resp, err := http.Get(rg.admin + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s without the token = %d, want %d", path, resp.StatusCode, want)
		}
	}
	req, _ := http.NewRequest("GET", rg.admin+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /metrics with the token = %v %v, want 200", resp, err)
	}
	if strings.Contains(rg.log.String(), testAdminToken) {
		t.Error("the admin token appears in the log")
	}
}

func TestAdminAPIActions(t *testing.T) {
	rg := startResetgate(t, sqliteUsers(t, "old-password-1"), echoApp(t).URL,
		fmt.Sprintf("token_file = %q\n", writeToken(t, testAdminToken)))
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		return apiCall(t, rg.admin, testAdminToken, method, path, body)
	}

	code, body := call("POST", "/api/v1/links", `{"email":"alice@example.com"}`)
	if code != http.StatusOK || body["email"] != "Alice@Example.com" || body["valid_for"] == "" {
		t.Fatalf("POST /api/v1/links = %d %v", code, body)
	}
	for k := range body {
		if k != "user_id" && k != "email" && k != "valid_for" {
			t.Errorf("POST /api/v1/links answers %q: the API must never hand out the link", k)
		}
	}
	rg.log.waitLog(t, "mail written to outbox", 1)
	if a := rg.log.logLines("admin api call"); len(a) != 1 || a[0]["event"] != "admin.link.send" || a[0]["email"] != "alice@example.com" {
		t.Errorf("audit of the link = %v", a)
	}

	if code, body = call("POST", "/api/v1/links", `{"email":"nobody@example.com"}`); code != http.StatusNotFound || body["code"] != "no_account" {
		t.Errorf("POST /api/v1/links for an unknown address = %d %v, want 404 no_account", code, body)
	}
	if code, body = call("POST", "/api/v1/links", `{"email":"not an address"}`); code != http.StatusBadRequest || body["code"] != "bad_address" {
		t.Errorf("POST /api/v1/links with a malformed address = %d %v, want 400", code, body)
	}
	if code, body = call("POST", "/api/v1/links", `{`); code != http.StatusBadRequest {
		t.Errorf("POST /api/v1/links with broken JSON = %d %v, want 400", code, body)
	}

	code, body = call("GET", "/api/v1/tokens?email=alice@example.com", "")
	if tokens, _ := body["tokens"].([]any); code != http.StatusOK || len(tokens) != 1 {
		t.Fatalf("GET /api/v1/tokens?email= = %d %v, want alice's one link", code, body)
	}
	if code, body = call("GET", "/api/v1/tokens?email=nobody@example.com", ""); code != http.StatusNotFound {
		t.Errorf("GET /api/v1/tokens for an unknown address = %d %v, want 404", code, body)
	}
	if code, body = call("DELETE", "/api/v1/tokens?email=alice@example.com", ""); code != http.StatusOK || body["revoked"] != 1.0 {
		t.Errorf("DELETE /api/v1/tokens?email= = %d %v, want 1 revoked", code, body)
	}
	if code, body = call("GET", "/api/v1/tokens", ""); code != http.StatusOK || len(body["tokens"].([]any)) != 0 {
		t.Errorf("GET /api/v1/tokens after the revoke = %d %v, want none", code, body)
	}
	if code, body = call("POST", "/api/v1/tokens/purge", ""); code != http.StatusOK || body["deleted"] != 0.0 {
		t.Errorf("POST /api/v1/tokens/purge = %d %v", code, body)
	}
	if code, body = call("GET", "/api/v1/jobs", ""); code != http.StatusOK {
		t.Errorf("GET /api/v1/jobs = %d %v", code, body)
	}
	if code, body = call("POST", "/api/v1/jobs/42/retry", ""); code != http.StatusNotFound || body["code"] != "no_job" {
		t.Errorf("POST /api/v1/jobs/42/retry = %d %v, want 404 no_job", code, body)
	}
	if code, body = call("DELETE", "/api/v1/jobs/42", ""); code != http.StatusNotFound || body["code"] != "no_job" {
		t.Errorf("DELETE /api/v1/jobs/42 = %d %v, want 404 no_job", code, body)
	}
	if code, body = call("POST", "/api/v1/jobs/all/retry", ""); code != http.StatusOK || body["retried"] != 0.0 {
		t.Errorf("POST /api/v1/jobs/all/retry = %d %v", code, body)
	}
}

// TestCommandsUseRunningServer runs the operator commands against a server that holds the
// bolt file: they go through its admin API, and straight to the store once it has stopped.
func TestCommandsUseRunningServer(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	dir := t.TempDir()
	rg := runReachable(t, dir, users, fmt.Sprintf("token_file = %q\n", writeToken(t, testAdminToken)))
	path := filepath.Join(dir, "config.toml")

	code, out, errOut := cli(t, env(), "", "send-link", "-config", path, "alice@example.com")
	if code != 0 || !strings.Contains(out, "mailed a reset link to Alice@Example.com") || !strings.Contains(errOut, "through the admin API") {
		t.Fatalf("send-link with the server running = %d %q %q", code, out, errOut)
	}
	rg.log.waitLog(t, "mail written to outbox", 1)
	code, out, errOut = cli(t, env(), "", "tokens", "-config", path, "list", "alice@example.com")
	if code != 0 || !strings.Contains(out, "1 token(s)") || !strings.Contains(errOut, "through the admin API") {
		t.Errorf("tokens list EMAIL with the server running = %d %q %q", code, out, errOut)
	}
	if code, out, _ = cli(t, env(), "", "tokens", "-config", path, "revoke", "alice@example.com"); code != 0 || !strings.Contains(out, "revoked 1 token(s)") {
		t.Errorf("tokens revoke with the server running = %d %q", code, out)
	}
	if code, out, _ = cli(t, env(), "", "queue", "-config", path, "list"); code != 0 || !strings.Contains(out, "0 job(s)") {
		t.Errorf("queue list with the server running = %d %q", code, out)
	}
	if code, _, errOut = cli(t, env(), "", "queue", "-config", path, "drop", "42"); code == 0 || !strings.Contains(errOut, "no job 42") {
		t.Errorf("queue drop 42 with the server running = %d %q, want no job 42", code, errOut)
	}
	if code, _, errOut = cli(t, env(), "", "send-link", "-config", path, "-print", "alice@example.com"); code == 0 || !strings.Contains(errOut, "-print needs the store itself") {
		t.Errorf("send-link -print with the server running = %d %q, want the store-only explanation", code, errOut)
	}

	// A command with another token is refused, and says what to fix.
	written, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(written)
	other := strings.Replace(cfg, writeTokenPathOf(cfg), writeToken(t, strings.Repeat("z", 40)), 1)
	otherPath := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(otherPath, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut = cli(t, env(), "", "queue", "-config", otherPath, "list"); code == 0 || !strings.Contains(errOut, "refused this command's admin token") {
		t.Errorf("queue list with a wrong token = %d %q", code, errOut)
	}

	code, out, errOut = cli(t, env(), "", "audit", "-config", path, "-since", "1h")
	if code != 0 || !strings.Contains(errOut, "through the admin API") {
		t.Fatalf("audit with the server running = %d %q %q", code, out, errOut)
	}
	running := auditEvents(t, out)
	for _, want := range []string{"admin.link.send ok alice@example.com admin-api", "reset.requested sent Alice@Example.com operator",
		"admin.tokens.revoke ok alice@example.com admin-api", "admin.jobs.drop no_job  admin-api"} {
		if !strings.Contains(strings.Join(running, "\n"), want) {
			t.Errorf("audit with the server running lacks %q:\n%s", want, strings.Join(running, "\n"))
		}
	}

	rg.stop(t)
	code, out, errOut = cli(t, env(), "", "tokens", "-config", path, "list")
	if code != 0 || !strings.Contains(out, "0 token(s)") || !strings.Contains(errOut, "directly on the state store") {
		t.Errorf("tokens list with the server stopped = %d %q %q", code, out, errOut)
	}
	code, out, errOut = cli(t, env(), "", "audit", "-config", path, "-since", "2000-01-01T00:00:00Z")
	if stopped := auditEvents(t, out); code != 0 || len(stopped) < len(running) {
		t.Errorf("audit with the server stopped = %d %q, %d events, want the %d seen through the API at least", code, errOut, len(stopped), len(running))
	}
	if code, _, errOut = cli(t, env(), "", "audit", "-config", path, "-since", "yesterday"); code != 2 || !strings.Contains(errOut, "RFC 3339") {
		t.Errorf("audit -since yesterday = %d %q, want 2 and what -since takes", code, errOut)
	}
}

// auditEvents reads audit's JSON lines as "event outcome email actor" strings.
func auditEvents(t *testing.T, out string) []string {
	t.Helper()
	var lines []string
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var e struct{ Event, Outcome, Email, Actor string }
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("audit printed %q: not JSON lines: %v", out, err)
		}
		lines = append(lines, fmt.Sprintf("%s %s %s %s", e.Event, e.Outcome, e.Email, e.Actor))
	}
	return lines
}

// TestCommandsExplainAPIOff: with the server holding the bolt file and no admin token, a
// command cannot proceed either way, and says how to fix it.
func TestCommandsExplainAPIOff(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	dir := t.TempDir()
	runReachable(t, dir, users, "")
	code, _, errOut := cli(t, env(), "", "tokens", "-config", filepath.Join(dir, "config.toml"), "list")
	if code == 0 || !strings.Contains(errOut, "admin API is off") || !strings.Contains(errOut, "token_env or token_file") {
		t.Errorf("tokens list with the server holding bolt and no token = %d %q", code, errOut)
	}
}

// writeTokenPathOf returns the token_file value in cfg.
func writeTokenPathOf(cfg string) string {
	_, rest, _ := strings.Cut(cfg, "token_file = \"")
	path, _, _ := strings.Cut(rest, "\"")
	return path
}
