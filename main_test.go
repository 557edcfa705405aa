package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"resetgate/internal/testenv"
	"resetgate/reset/passhash"
)

// syncBuffer is the log output of a resetgate under test, read while it is written.
type syncBuffer struct{ testenv.Buffer }

// logLines returns the JSON log lines whose msg is msg.
func (b *syncBuffer) logLines(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// waitLog waits until a log line with msg appears and returns it.
func (b *syncBuffer) waitLog(t *testing.T, msg string, n int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if lines := b.logLines(msg); len(lines) >= n {
			return lines[n-1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no log line %q (#%d) within 20s; log:\n%s", msg, n, b.String())
	return nil
}

// echoApp is the legacy app of these tests: it answers every request with what it received.
func echoApp(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-App", "legacy")
		json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "uri": r.RequestURI, "body_sha256": hex.EncodeToString(sum[:]), "len": len(body),
			"xff": r.Header.Get("X-Forwarded-For"), "xfh": r.Header.Get("X-Forwarded-Host"), "xfp": r.Header.Get("X-Forwarded-Proto"),
			"host": r.Host, "cookie": r.Header.Get("Cookie"),
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

type legacyDB struct {
	driver, dsn string
	db          *sql.DB
}

func (l legacyDB) hash(t *testing.T) string {
	t.Helper()
	var h string
	if err := l.db.QueryRow("SELECT password FROM users WHERE id = 1").Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func sqliteUsers(t testing.TB, oldPassword string) legacyDB {
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	seedUsers(t, db, "INTEGER PRIMARY KEY", "?", oldPassword)
	return legacyDB{"sqlite", "file:" + path, db}
}

func postgresUsers(t testing.TB, oldPassword string) legacyDB {
	dsn := testenv.Postgres(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	seedUsers(t, db, "SERIAL PRIMARY KEY", "$", oldPassword)
	return legacyDB{"postgres", dsn, db}
}

func seedUsers(t testing.TB, db *sql.DB, idType, placeholder, oldPassword string) {
	t.Helper()
	h, err := passhash.New("werkzeug")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash(oldPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE users (id " + idType + ", name TEXT, email TEXT NOT NULL, password TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	q := "INSERT INTO users (name, email, password) VALUES (?, ?, ?)"
	if placeholder == "$" {
		q = "INSERT INTO users (name, email, password) VALUES ($1, $2, $3)"
	}
	if _, err := db.Exec(q, "Alice", "Alice@Example.com", hash); err != nil {
		t.Fatal(err)
	}
}

type instance struct {
	base, admin string
	log         *syncBuffer
	cancel      context.CancelFunc
	done        chan error
	dataDir     string
}

// startResetgate writes a config and runs `resetgate serve` in-process through run().
func startResetgate(t *testing.T, users legacyDB, upstream string, extra string) *instance {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`listen = "127.0.0.1:0"
public_url = "https://app.example"
upstream = %q
data_dir = %q
log_level = "debug"
[users]
driver = %q
dsn_env = "TEST_LEGACY_DSN"
[mail]
from = "Example <no-reply@example.com>"
[admin]
listen = "127.0.0.1:0"
%s`, upstream, filepath.Join(dir, "data"), users.driver, extra)
	return runConfig(t, dir, cfg, map[string]string{"TEST_LEGACY_DSN": users.dsn})
}

// runConfig writes cfg (whose data_dir is dir/data) to dir and runs `resetgate serve` with it
// in-process through run(), with env as the environment.
func runConfig(t *testing.T, dir, cfg string, env map[string]string) *instance {
	t.Helper()
	inst, err := tryConfig(t, dir, cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// tryConfig is runConfig that returns the error of a server that exits before it listens.
func tryConfig(t *testing.T, dir, cfg string, env map[string]string) (*instance, error) {
	t.Helper()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	inst := &instance{log: &syncBuffer{}, cancel: cancel, done: make(chan error, 1), dataDir: filepath.Join(dir, "data")}
	go func() {
		inst.done <- run(ctx, []string{"resetgate", "serve", "-config", path}, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, inst.log)
	}()
	t.Cleanup(func() { inst.stop(t) })
	for _, w := range []struct {
		addr *string
		msg  string
	}{{&inst.base, "resetgate listening"}, {&inst.admin, "admin listening"}} {
		addr, err := inst.tryAddr(w.msg)
		if err != nil {
			return nil, err
		}
		*w.addr = "http://" + addr
	}
	return inst, nil
}

func (in *instance) waitAddr(t *testing.T, msg string) string {
	t.Helper()
	addr, err := in.tryAddr(msg)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// tryAddr waits for the log line msg and returns its addr; an error if the server exits
// first (it then needs no stopping) or does not log it within 20 s.
func (in *instance) tryAddr(msg string) (string, error) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-in.done:
			in.cancel = nil // nothing left to stop
			return "", fmt.Errorf("resetgate exited early: %v\n%s", err, in.log.String())
		default:
		}
		if lines := in.log.logLines(msg); len(lines) > 0 {
			return lines[0]["addr"].(string), nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "", fmt.Errorf("resetgate did not log %q:\n%s", msg, in.log.String())
}

func (in *instance) stop(t *testing.T) {
	if in.cancel == nil {
		return
	}
	in.cancel()
	in.cancel = nil
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("run() = %v, want nil after a clean shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("resetgate did not stop within 30s")
	}
}

// browser is a cookie-keeping client that sends same-origin fetch metadata on posts, like a
// browser submitting resetgate's own forms, and does not follow redirects.
type browser struct {
	t    *testing.T
	c    *http.Client
	base string
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path, form string) (*http.Response, string) {
	b.t.Helper()
	resp, body, err := b.try(method, path, form)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp, body
}

// try is do for goroutines other than the test's: it returns the error instead of failing.
func (b *browser) try(method, path, form string) (*http.Response, string, error) {
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(form))
	if err != nil {
		return nil, "", err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

func (b *browser) expect(method, path, form string, status int, location string) string {
	b.t.Helper()
	resp, body := b.do(method, path, form)
	if resp.StatusCode != status || resp.Header.Get("Location") != location {
		b.t.Fatalf("%s %s = %d → %q, want %d → %q\n%s", method, path, resp.StatusCode, resp.Header.Get("Location"), status, location, body)
	}
	return body
}

func TestEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name  string
		users func(testing.TB, string) legacyDB
	}{
		{"sqlite", sqliteUsers},
		{"postgres", postgresUsers},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const oldPassword, newPassword = "old-password-1", "cobalt lantern orchard 42"
			users := tc.users(t, oldPassword)
			app := echoApp(t)
			rg := startResetgate(t, users, app.URL, "")
			b := newBrowser(t, rg.base)

			// Ask for a link: the outbox mailer logs it (demo-style), addressed to the stored
			// address, built from public_url.
			b.expect("GET", "/pwreset", "", 200, "")
			b.expect("POST", "/pwreset", "email=+alice%40example.COM+", 303, "/pwreset/sent")
			mail := rg.log.waitLog(t, "mail written to outbox", 1)
			if mail["to"] != "Alice@Example.com" {
				t.Errorf("mail to %v, want the stored address", mail["to"])
			}
			link, _ := url.Parse(mail["link"].(string))
			if link.Scheme != "https" || link.Host != "app.example" {
				t.Fatalf("link %s is not on public_url", link)
			}
			token := strings.TrimPrefix(link.Path, "/pwreset/")
			if strings.Count(rg.log.String(), token) != 1 {
				t.Errorf("the token appears %d times in the log, want once (the outbox line)", strings.Count(rg.log.String(), token))
			}
			files, _ := filepath.Glob(filepath.Join(rg.dataDir, "outbox", "*.eml"))
			if len(files) != 1 {
				t.Errorf("outbox has %d files, want 1", len(files))
			}

			b.expect("GET", link.Path, "", 303, "/pwreset/new")
			b.expect("GET", "/pwreset/new", "", 200, "")
			body := b.expect("POST", "/pwreset/new", "password=password&password2=password", 422, "")
			if !strings.Contains(body, "commonly used") {
				t.Errorf("weak password page does not say why:\n%s", body)
			}
			b.expect("POST", "/pwreset/new", "password="+url.QueryEscape(newPassword)+"&password2="+url.QueryEscape(newPassword), 303, "/pwreset/done")
			b.expect("GET", "/pwreset/done", "", 200, "")

			stored := users.hash(t)
			if ok, err := passhash.Verify(newPassword, stored); !ok || err != nil {
				t.Errorf("stored hash %q does not verify the new password (%v)", stored[:20], err)
			}
			if ok, _ := passhash.Verify(oldPassword, stored); ok {
				t.Errorf("stored hash still verifies the old password")
			}
			if !strings.HasPrefix(stored, "pbkdf2:sha256:") {
				t.Errorf("stored hash %q… is not in the app's werkzeug format", stored[:14])
			}
			b.expect("GET", link.Path, "", 303, "/pwreset/invalid")
			rg.log.waitLog(t, "password-changed notice sent", 1)

			// Everything else is proxied byte for byte.
			payload := strings.Repeat("legacy-body-", 5000)
			req, _ := http.NewRequest("POST", rg.base+"/api/items%2F7?a=1&b=%20x;y", strings.NewReader(payload))
			req.Header.Set("X-Forwarded-For", "203.0.113.66")
			req.Header.Set("X-Forwarded-Host", "evil.example")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var echo map[string]any
			json.NewDecoder(resp.Body).Decode(&echo)
			resp.Body.Close()
			sum := sha256.Sum256([]byte(payload))
			if echo["uri"] != "/api/items%2F7?a=1&b=%20x;y" || echo["body_sha256"] != hex.EncodeToString(sum[:]) {
				t.Errorf("upstream saw %v", echo)
			}
			if echo["xff"] != "127.0.0.1" || echo["xfh"] != "app.example" || echo["xfp"] != "https" {
				t.Errorf("forwarded headers at the app: xff=%v xfh=%v xfp=%v, want 127.0.0.1, app.example, https", echo["xff"], echo["xfh"], echo["xfp"])
			}

			// resetgate's session cookie stays with resetgate; the app's own cookies pass.
			b.c.Jar.SetCookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(rg.base, "http://")}, []*http.Cookie{{Name: "app_session", Value: "s1", Path: "/"}})
			_, body = b.do("GET", "/account", "")
			var seen map[string]any
			json.Unmarshal([]byte(body), &seen)
			if c, _ := seen["cookie"].(string); !strings.Contains(c, "app_session=s1") || strings.Contains(c, "resetgate") {
				t.Errorf("the app received Cookie %q, want app_session only", c)
			}

			// The admin listener.
			for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"upstream"`, "/healthz?verbose": `"database"`, "/metrics": `resetgate_events_total{event="password_changed"} 1`} {
				resp, err := http.Get(rg.admin + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
					t.Errorf("admin %s = %d, want 200 containing %s:\n%s", path, resp.StatusCode, want, body)
				}
			}
			if strings.Contains(rg.log.String(), newPassword) || strings.Contains(rg.log.String(), oldPassword) {
				t.Errorf("a password reached the log")
			}
		})
	}
}
