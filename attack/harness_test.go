// Package attack attacks a real resetgate binary the way attackers attacked other products'
// password-reset flows, one or more tests per requirement of SECURITY.md (RQ-*). Each test
// runs `resetgate serve` as a process in front of a recording upstream, with the legacy users
// in a real database (PostgreSQL, SQLite where the database does not matter) and mail going
// to a real SMTP server (Mailpit), and asserts only what an outsider, the app, the mailbox,
// the database, the state file or the logs can see.
//
// A test that fails today because resetgate is still vulnerable is skipped with
// t.Skip("KNOWN: …") at its top, so the suite stays green while the weakness stays listed;
// removing the skip is how its fix is proven.
package attack

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pelletier/go-toml/v2"
	_ "modernc.org/sqlite"

	"resetgate/internal/testenv"
)

// oldPassword is every seeded account's password before a reset.
const oldPassword = "old-password-1"

// goodPassword passes every default policy check (length, common list, zxcvbn ≥ 3).
const goodPassword = "cobalt lantern orchard 42"

var (
	// bin is the resetgate binary built once by TestMain.
	bin string
	// werkzeugHash and bcryptHash are oldPassword hashed by the binary itself, in the formats
	// a Flask and a PHP/Rails app store.
	werkzeugHash, bcryptHash string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "resetgate-attack-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "resetgate")
	// Build the module's main package, whatever directory `go test` runs in (attack/).
	build := exec.Command("go", "build", "-o", bin, "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "attack: building resetgate failed:", err)
		return 1
	}
	for scheme, dst := range map[string]*string{"werkzeug": &werkzeugHash, "bcrypt": &bcryptHash} {
		cmd := exec.Command(bin, "hash", "-scheme", scheme)
		cmd.Stdin = strings.NewReader(oldPassword + "\n")
		out, err := cmd.Output()
		if err != nil {
			fmt.Fprintf(os.Stderr, "attack: resetgate hash -scheme %s: %v\n", scheme, err)
			return 1
		}
		*dst = strings.TrimSpace(string(out))
	}
	return m.Run()
}

// setup says how a test's world differs from the default one: resetgate with public_url
// https://app.example in front of a recording upstream, accounts in PostgreSQL, SMTP to
// Mailpit through a relay the test can cut, and generous limits.
type setup struct {
	sqlite bool
	// conf overrides config keys, dotted ("reset.token_ttl"); a nil value removes the key.
	conf map[string]any
	// noStart leaves resetgate stopped, for tests that start it themselves.
	noStart bool
	// mailpit configures the world's SMTP server (TLS, AUTH).
	mailpit []testenv.MailpitOption
}

// world is one resetgate process and everything around it.
type world struct {
	t       *testing.T
	dir     string
	cfgPath string
	dataDir string
	conf    map[string]any

	env map[string]string // extra environment of every resetgate process

	driver string  // "postgres" or "sqlite"
	db     *sql.DB // the test's own connection to the legacy users, never through a relay
	dsn    string  // what resetgate connects to
	dbLink *relay  // between resetgate and PostgreSQL; nil for SQLite

	up   *upstream
	mail *testenv.MailpitServer
	smtp *relay // between resetgate and Mailpit

	procs       []*proc // every process started, the last one current
	syncs       int     // marker requests sent by sync
	base, admin string  // http://addr of the current process's listeners
}

// users seeded in every world, with oldPassword.
const (
	aliceID, aliceEmail = "1", "Alice@Example.com"
	bobID, bobEmail     = "2", "bob@example.com"
	carolID, carolEmail = "3", "carol@example.net"
)

func newWorld(t *testing.T, s setup) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir(), env: map[string]string{}}
	w.dataDir = filepath.Join(w.dir, "data")
	w.cfgPath = filepath.Join(w.dir, "config.toml")
	w.up = newUpstream(t)
	w.mail = testenv.Mailpit(t, s.mailpit...)
	host, port := w.mail.SMTPAddr()
	w.smtp = newRelay(t, net.JoinHostPort(host, strconv.Itoa(port)))

	if s.sqlite {
		w.driver = "sqlite"
		path := filepath.Join(w.dir, "app.db")
		w.db = mustOpenDB(t, "sqlite", path)
		w.dsn = "file:" + path
		w.mustExec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT NOT NULL, password TEXT NOT NULL)`)
		w.mustExec(`CREATE TABLE sessions (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL)`)
	} else {
		w.driver = "postgres"
		dsn := testenv.Postgres(t)
		w.db = mustOpenDB(t, "pgx", dsn)
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		w.dbLink = newRelay(t, u.Host)
		u.Host = w.dbLink.addr()
		w.dsn = u.String()
		w.mustExec(`CREATE TABLE users (id SERIAL PRIMARY KEY, name TEXT, email TEXT NOT NULL, password TEXT NOT NULL)`)
		w.mustExec(`CREATE TABLE sessions (id SERIAL PRIMARY KEY, user_id INTEGER NOT NULL)`)
	}
	w.mustExec(`CREATE TABLE resets (user_id INTEGER NOT NULL)`)
	for _, u := range [][2]string{{"Alice", aliceEmail}, {"Bob", bobEmail}, {"Carol", carolEmail}} {
		w.addUser(u[0], u[1], werkzeugHash)
	}

	w.conf = map[string]any{
		"listen":              "127.0.0.1:0",
		"public_url":          "https://app.example",
		"upstream":            w.up.srv.URL,
		"data_dir":            w.dataDir,
		"log_format":          "json",
		"log_level":           "debug", // the most a log can say: still nothing secret
		"users.driver":        w.driver,
		"users.dsn_env":       "LEGACY_DSN",
		"mail.transport":      "smtp",
		"mail.from":           "Example App <no-reply@example.com>",
		"mail.smtp.host":      "127.0.0.1",
		"mail.smtp.port":      w.smtp.port(),
		"mail.smtp.tls":       "none",
		"mail.smtp.timeout":   "5s",
		"limits.per_email":    "100/hour",
		"limits.per_ip":       "1000/hour",
		"limits.token_per_ip": "1000/hour",
		"limits.token_global": "10000/hour",
		"admin.listen":        "127.0.0.1:0",
	}
	for k, v := range s.conf {
		if v == nil {
			delete(w.conf, k)
		} else {
			w.conf[k] = v
		}
	}
	w.writeConfig()
	if !s.noStart {
		w.start()
	}
	return w
}

func mustOpenDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	return db
}

// writeConfig writes w.conf as config.toml, nesting dotted keys into tables.
func (w *world) writeConfig() {
	w.t.Helper()
	root := map[string]any{}
	for k, v := range w.conf {
		m := root
		parts := strings.Split(k, ".")
		for _, p := range parts[:len(parts)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		m[parts[len(parts)-1]] = v
	}
	b, err := toml.Marshal(root)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(w.cfgPath, b, 0o600); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) mustExec(q string, args ...any) sql.Result {
	w.t.Helper()
	res, err := w.db.Exec(q, args...)
	if err != nil {
		w.t.Fatalf("%s: %v", q, err)
	}
	return res
}

// addUser inserts an account and returns its id.
func (w *world) addUser(name, email, hash string) string {
	w.t.Helper()
	var id int64
	if err := w.db.QueryRow(`INSERT INTO users (name, email, password) VALUES ($1, $2, $3) RETURNING id`, name, email, hash).Scan(&id); err != nil {
		w.t.Fatalf("insert user %q: %v", email, err)
	}
	return strconv.FormatInt(id, 10)
}

// user returns the stored row of an account: email and password hash.
func (w *world) user(id string) (email, hash string) {
	w.t.Helper()
	if err := w.db.QueryRow(`SELECT email, password FROM users WHERE id = $1`, id).Scan(&email, &hash); err != nil {
		w.t.Fatalf("user %s: %v", id, err)
	}
	return email, hash
}

func (w *world) hash(id string) string {
	w.t.Helper()
	_, h := w.user(id)
	return h
}

func (w *world) count(q string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.db.QueryRow(q, args...).Scan(&n); err != nil {
		w.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// ---------------------------------------------------------------------------------------------
// The resetgate process.

// proc is one run of `resetgate serve`.
type proc struct {
	cmd         *exec.Cmd
	stderr      *testenv.Buffer
	done        chan struct{}
	err         error  // set before done is closed
	base, admin string // http://addr of its listeners
}

func (w *world) command(args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "LEGACY_DSN="+w.dsn)
	for k, v := range w.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// start writes the config, runs `resetgate serve` on it and waits until it listens.
func (w *world) start() {
	w.t.Helper()
	if out, err := w.launch(); err != nil {
		w.t.Fatalf("%v:\n%s", err, out)
	}
}

// launch starts `resetgate serve` and waits until it listens; on failure it returns what the
// process printed.
func (w *world) launch() (string, error) {
	w.t.Helper()
	p, err := w.spawn()
	if p == nil {
		return "", err
	}
	// The current process is always last in procs.
	w.procs = append(w.procs, p)
	if err != nil {
		return p.stderr.String(), err
	}
	w.base, w.admin = p.base, p.admin
	return "", nil
}

// replica starts another `resetgate serve` on the same config (a second replica sharing the
// store and the database) and returns its base URL.
func (w *world) replica() string {
	w.t.Helper()
	p, err := w.spawn()
	if p == nil || err != nil {
		w.t.Fatalf("replica: %v", err)
	}
	last := len(w.procs) - 1
	w.procs = append(w.procs[:last:last], p, w.procs[last])
	return p.base
}

// spawn runs `resetgate serve` on the current config and waits until it listens. The process
// is stopped when the test ends.
func (w *world) spawn() (*proc, error) {
	w.t.Helper()
	w.writeConfig()
	p := &proc{stderr: &testenv.Buffer{}, done: make(chan struct{})}
	p.cmd = w.command("serve", "-config", w.cfgPath)
	p.cmd.Stdout = p.stderr
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start resetgate: %w", err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	w.t.Cleanup(func() {
		p.stop(w.t)
		if w.t.Failed() && p == w.procs[len(w.procs)-1] {
			w.t.Logf("resetgate output:\n%s", w.logText())
		}
	})
	wantAdmin := w.conf["admin.listen"] != nil && w.conf["admin.listen"] != ""
	deadline := time.Now().Add(30 * time.Second)
	for p.base == "" || (wantAdmin && p.admin == "") {
		select {
		case <-p.done:
			return p, fmt.Errorf("resetgate exited at start (%v)", p.err)
		default:
		}
		if time.Now().After(deadline) {
			return p, errors.New("resetgate did not start listening within 30s")
		}
		for _, l := range parseLog(p.stderr.String()) {
			switch l["msg"] {
			case "resetgate listening":
				p.base = "http://" + l.str("addr")
			case "admin listening":
				p.admin = "http://" + l.str("addr")
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return p, nil
}

// stop ends the current process with SIGINT (as systemd would with SIGTERM) and waits.
func (w *world) stop() {
	w.t.Helper()
	if len(w.procs) == 0 {
		return
	}
	w.base, w.admin = "", ""
	w.procs[len(w.procs)-1].stop(w.t)
}

// stop ends p with SIGINT and waits; a process that already ended is left alone.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("resetgate exited with %v after SIGINT, want a clean shutdown", p.err)
		}
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("resetgate did not stop within 30s of SIGINT")
	}
}

// restart stops resetgate, rewrites the config and starts it again on the same data_dir.
func (w *world) restart() {
	w.t.Helper()
	w.stop()
	w.start()
}

// mustRefuseToStart runs `resetgate serve` on the current config and requires it to exit
// with an error before listening; it returns what it printed.
func (w *world) mustRefuseToStart() string {
	w.t.Helper()
	w.writeConfig()
	out := &testenv.Buffer{}
	cmd := w.command("serve", "-config", w.cfgPath)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case err := <-done:
			if err == nil {
				w.t.Fatalf("resetgate serve exited 0, want a refusal:\n%s", out.String())
			}
			return out.String()
		case <-deadline:
			cmd.Process.Kill()
			<-done
			w.t.Fatalf("resetgate serve neither started nor refused within 30s:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
			if strings.Contains(out.String(), `"resetgate listening"`) {
				cmd.Process.Kill()
				<-done
				w.t.Fatalf("resetgate serve started, want a refusal:\n%s", out.String())
			}
		}
	}
}

// run runs a one-shot resetgate command (tokens, queue, check…) on the world's config.
func (w *world) run(args ...string) (string, error) {
	w.t.Helper()
	w.writeConfig()
	args = append(args[:1:1], append([]string{"-config", w.cfgPath}, args[1:]...)...)
	cmd := w.command(args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// logText is everything every process of this world wrote to stderr.
func (w *world) logText() string {
	var b strings.Builder
	for _, p := range w.procs {
		b.WriteString(p.stderr.String())
	}
	return b.String()
}

// logLine is one JSON log record.
type logLine map[string]any

func (l logLine) str(k string) string {
	switch v := l[k].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func parseLog(s string) []logLine {
	var out []logLine
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// sentinelPath is where sync sends its marker requests; the upstream does not record them
// and logs leaves their access records out.
const sentinelPath = "/__attack_sentinel__/"

// logs returns the log records with the given msg (every record when msg is "").
func (w *world) logs(msg string) []logLine {
	var out []logLine
	for _, l := range parseLog(w.logText()) {
		if strings.HasPrefix(l.str("path"), sentinelPath) {
			continue
		}
		if msg == "" || l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// sync makes every record that resetgate logged before now readable: stderr reaches the test
// through a pipe and a copying goroutine, so a record written before a response may still be
// in flight when the response arrives. sync sends a marker request and waits for its access
// record, which the pipe delivers after everything logged earlier.
func (w *world) sync() {
	w.t.Helper()
	for _, p := range w.procs {
		select {
		case <-p.done:
			continue
		default:
		}
		w.syncs++
		marker := fmt.Sprintf("%s%d", sentinelPath, w.syncs)
		c := w.browser()
		c.base = p.base
		c.get(marker)
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(p.stderr.String(), `"path":"`+marker+`"`) {
			if time.Now().After(deadline) {
				w.t.Fatalf("the access record of %s did not arrive within 30s (access_log must be \"all\")", marker)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// waitLog waits until at least n records satisfy match and returns them.
func (w *world) waitLog(what string, n int, match func(logLine) bool) []logLine {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got []logLine
		for _, l := range w.logs("") {
			if match(l) {
				got = append(got, l)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("waited 30s for %d log record(s) %s, have %d", n, what, len(got))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func msgIs(msgs ...string) func(logLine) bool {
	return func(l logLine) bool {
		for _, m := range msgs {
			if l["msg"] == m {
				return true
			}
		}
		return false
	}
}

// drain waits until the mail worker has finished every job queued so far: each queued reset
// request has been sent or found no account, and each password change has its notice out.
func (w *world) drain() {
	w.t.Helper()
	w.sync()
	deadline := time.Now().Add(30 * time.Second)
	for {
		queued, handled, changed, noticed := 0, 0, 0, 0
		for _, l := range w.logs("") {
			switch l["msg"] {
			case "reset requested":
				if l["outcome"] == "queued" {
					queued++
				}
			case "reset link sent", "reset request handled":
				handled++
			case "password changed":
				changed++
			case "password-changed notice sent", "account gone before its notice was sent":
				noticed++
			}
		}
		if handled >= queued && noticed >= changed {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("mail queue not drained within 30s: %d/%d requests, %d/%d notices handled", handled, queued, noticed, changed)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------------------------
// Mail.

// mails returns every message Mailpit received, oldest first, in full.
func (w *world) mails() []testenv.Detail {
	w.t.Helper()
	ctx := context.Background()
	list, err := w.mail.Messages(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	out := make([]testenv.Detail, 0, len(list))
	for i := len(list) - 1; i >= 0; i-- {
		d, err := w.mail.Message(ctx, list[i].ID)
		if err != nil {
			w.t.Fatal(err)
		}
		// The summary's Bcc lists envelope recipients absent from every header.
		d.Bcc = list[i].Bcc
		out = append(out, d)
	}
	return out
}

// waitMails waits until Mailpit holds at least n messages and returns them, oldest first.
func (w *world) waitMails(n int) []testenv.Detail {
	w.t.Helper()
	if _, err := w.mail.WaitMessages(context.Background(), n); err != nil {
		w.t.Fatalf("%v\nresetgate log:\n%s", err, w.logText())
	}
	return w.mails()
}

// recipients lists every address a message went to: To, Cc and hidden envelope recipients.
func recipients(d testenv.Detail) []string {
	var out []string
	for _, l := range [][]testenv.MailAddress{d.To, d.Cc, d.Bcc} {
		for _, a := range l {
			out = append(out, a.Address)
		}
	}
	return out
}

var linkRe = regexp.MustCompile(`https?://[^\s"<>]+/pwreset/([A-Za-z0-9_-]{43})\b`)

// requestLink asks for a link for email as a browser would and returns the token of the new
// message that arrives for want (the stored address), which must be its only recipient.
func (w *world) requestLink(email, want string) string {
	w.t.Helper()
	old := map[string]bool{}
	for _, m := range w.mails() {
		old[m.ID] = true
	}
	r := w.browser().post("/pwreset", "email="+url.QueryEscape(email))
	if r.StatusCode != http.StatusSeeOther {
		w.t.Fatalf("POST /pwreset email=%q = %d, want 303\n%s", email, r.StatusCode, r.body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, d := range w.mails() {
			m := linkRe.FindStringSubmatch(d.Text)
			if old[d.ID] || m == nil {
				continue
			}
			if got := recipients(d); len(got) != 1 || got[0] != want {
				w.t.Fatalf("link mail went to %v, want only %s", got, want)
			}
			return m[1]
		}
		time.Sleep(25 * time.Millisecond)
	}
	w.t.Fatalf("no reset link for %s arrived within 30s\nresetgate log:\n%s", want, w.logText())
	return ""
}

// ---------------------------------------------------------------------------------------------
// HTTP clients.

// client is a browser-like HTTP client: it keeps cookies, sends same-origin fetch metadata
// on form posts and does not follow redirects.
type client struct {
	t    *testing.T
	w    *world
	c    *http.Client
	jar  http.CookieJar
	base string // "" means the world's current base
}

func (w *world) browser() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: w.t, w: w, jar: jar, c: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is an answer with its body read.
type response struct {
	*http.Response
	body string
}

// do sends a request; hdr is alternating names and values, and "Host" sets the Host header.
func (c *client) do(method, path string, body io.Reader, hdr ...string) *response {
	c.t.Helper()
	r, err := c.try(method, path, body, hdr...)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func (c *client) try(method, path string, body io.Reader, hdr ...string) (*response, error) {
	base := c.base
	if base == "" {
		base = c.w.base
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &response{Response: resp, body: string(b)}, nil
}

func (c *client) get(path string, hdr ...string) *response {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil, hdr...)
}

// post submits a url-encoded form the way a browser submits the site's own form.
func (c *client) post(path, form string, hdr ...string) *response {
	c.t.Helper()
	h := append([]string{"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin"}, hdr...)
	return c.do(http.MethodPost, path, strings.NewReader(form), h...)
}

// expect checks a response's status and Location.
func (r *response) expect(t *testing.T, status int, location string) *response {
	t.Helper()
	if r.StatusCode != status || r.Header.Get("Location") != location {
		t.Fatalf("%s %s = %d → %q, want %d → %q\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, r.Header.Get("Location"), status, location, r.body)
	}
	return r
}

// openLink opens a reset link in this browser: the token goes into its session.
func (c *client) openLink(token string) {
	c.t.Helper()
	c.get("/pwreset/"+token).expect(c.t, http.StatusSeeOther, "/pwreset/new")
}

// setPassword submits the new-password form with the same password twice.
func (c *client) setPassword(pw string, extra ...string) *response {
	c.t.Helper()
	form := "password=" + url.QueryEscape(pw) + "&password2=" + url.QueryEscape(pw)
	for _, e := range extra {
		form += "&" + e
	}
	return c.post("/pwreset/new", form)
}

// rawRequest writes payload to the listener at base on a fresh connection and returns
// everything read until the server closes it or 10 seconds pass.
func rawRequest(t *testing.T, base, payload string) string {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, payload); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(conn)
	return string(b)
}

// ---------------------------------------------------------------------------------------------
// The legacy app.

// seen is one request as the upstream received it.
type seen struct {
	Method, URI, Host, Proto string
	Header                   http.Header
	Body                     []byte
}

// upstream is the legacy app: it records every request and answers 200.
type upstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.HasPrefix(r.RequestURI, sentinelPath) {
			return // world.sync's marker, not the test's traffic
		}
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{Method: r.Method, URI: r.RequestURI, Host: r.Host, Proto: r.Proto, Header: r.Header.Clone(), Body: body})
		u.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "legacy app\n")
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) requests() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs...)
}

// dump is everything the app received, as text, for searching.
func (u *upstream) dump() string {
	var b strings.Builder
	for _, r := range u.requests() {
		fmt.Fprintf(&b, "%s %s %s\nHost: %s\n", r.Method, r.URI, r.Proto, r.Host)
		keys := make([]string, 0, len(r.Header))
		for k := range r.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(r.Header[k], ", "))
		}
		b.Write(r.Body)
		b.WriteString("\n\n")
	}
	return b.String()
}

// ---------------------------------------------------------------------------------------------
// A TCP relay, to take a dependency down or freeze it while resetgate runs.

type relayMode int

const (
	relayOpen   relayMode = iota
	relayFrozen           // connections are accepted and held; no byte moves
	relayDown             // every connection is closed at once
)

// relay forwards TCP connections to a target until told otherwise.
type relay struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cond   *sync.Cond
	mode   relayMode
	conns  map[net.Conn]bool
	closed bool
}

func newRelay(t *testing.T, target string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln, target: target, conns: map[net.Conn]bool{}}
	r.cond = sync.NewCond(&r.mu)
	go r.serve()
	t.Cleanup(r.close)
	return r
}

func (r *relay) addr() string { return r.ln.Addr().String() }
func (r *relay) port() int    { return r.ln.Addr().(*net.TCPAddr).Port }

func (r *relay) set(m relayMode) {
	r.mu.Lock()
	r.mode = m
	if m == relayDown {
		for c := range r.conns {
			c.Close()
		}
	}
	r.cond.Broadcast()
	r.mu.Unlock()
}

func (r *relay) close() {
	r.mu.Lock()
	r.closed = true
	for c := range r.conns {
		c.Close()
	}
	r.cond.Broadcast()
	r.mu.Unlock()
	r.ln.Close()
}

func (r *relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.mode == relayDown {
		c.Close()
		return false
	}
	r.conns[c] = true
	return true
}

// gate blocks while the relay is frozen and reports whether bytes may move.
func (r *relay) gate() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.mode == relayFrozen && !r.closed {
		r.cond.Wait()
	}
	return !r.closed && r.mode == relayOpen
}

func (r *relay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		if !r.track(c) {
			continue
		}
		go func() {
			if !r.gate() {
				c.Close()
				return
			}
			d, err := net.Dial("tcp", r.target)
			if err != nil || !r.track(d) {
				c.Close()
				if d != nil {
					d.Close()
				}
				return
			}
			go r.pipe(d, c)
			r.pipe(c, d)
		}()
	}
}

// pipe copies src to dst, holding every chunk while the relay is frozen.
func (r *relay) pipe(dst, src net.Conn) {
	defer func() {
		dst.Close()
		src.Close()
		r.mu.Lock()
		delete(r.conns, dst)
		delete(r.conns, src)
		r.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !r.gate() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

// needPython returns a python3 that can import the given modules — the system's first (where
// Debian's python3-werkzeug and python3-bcrypt live), then whichever is on PATH — or skips
// the test (fails it in CI) when there is none.
func needPython(t *testing.T, modules ...string) string {
	t.Helper()
	var err error
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if err = exec.Command(py, "-c", "import "+strings.Join(modules, ", ")).Run(); err == nil {
			return py
		}
	}
	testenv.Need(t, "python3 with "+strings.Join(modules, ", "), err)
	return ""
}

// pythonVerifies asks the real framework whether hash verifies password: werkzeug's
// check_password_hash or the bcrypt module, on the exact UTF-8 bytes of password.
func pythonVerifies(t *testing.T, scheme, hash, password string) bool {
	t.Helper()
	var script, py string
	switch scheme {
	case "werkzeug":
		py = needPython(t, "werkzeug")
		script = `import sys
from werkzeug.security import check_password_hash
pw = sys.stdin.buffer.read().decode("utf-8")
sys.exit(0 if check_password_hash(sys.argv[1], pw) else 3)`
	case "bcrypt":
		py = needPython(t, "bcrypt")
		script = `import sys, bcrypt
pw = sys.stdin.buffer.read()
h = sys.argv[1].encode()
if h.startswith(b"$2y$"):
    h = b"$2b$" + h[4:]  # PHP's name for the same algorithm
sys.exit(0 if bcrypt.checkpw(pw, h) else 3)`
	default:
		t.Fatalf("no python verifier for %s", scheme)
	}
	cmd := exec.Command(py, "-c", script, hash)
	cmd.Stdin = strings.NewReader(password)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true
	case errors.As(err, &ee) && ee.ExitCode() == 3:
		return false
	}
	t.Fatalf("python %s verifier: %v\n%s", scheme, err, out)
	return false
}

// metrics returns the admin listener's /metrics text.
func (w *world) metrics() string {
	w.t.Helper()
	resp, err := http.Get(w.admin + "/metrics")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	return string(b)
}

// metricValue returns the value of the sample whose line starts with series (name and
// labels exactly as exposed), or 0 when absent.
func metricValue(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return 0
}

// allFiles returns the bytes of every regular file under dir.
func allFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
