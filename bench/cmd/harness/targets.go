package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the bench users database, in the format resetgate's sqlite driver reads

	"resetgate/reset/passhash"
)

// target is one thing wrk is pointed at: the upstream itself, or a proxy in front of it.
type target struct {
	key   string // short name used in flags and tables
	label string // what the tables show
	url   string // http://127.0.0.1:port, no trailing slash
	p     *proc  // nil for direct
	grp   group  // the processes whose CPU and memory are measured
	// stats reads the Go runtime's allocation counters, for the Go proxies that expose them.
	stats func(context.Context) (memStats, error)
	// pprofURL is the base of the target's net/http/pprof handlers, if it has them.
	pprofURL string
	// metrics is resetgate's Prometheus endpoint (admin listener).
	metrics string
}

// isProxy reports whether t is a proxy (has its own process to measure).
func (t *target) isProxy() bool { return t.p != nil }

// env is where the harness keeps its files and finds its tools.
type env struct {
	root     string // the module root (…/main)
	work     string // the run's scratch directory
	self     string // this binary, re-executed for the upstream and the bare proxy
	tools    string // where Caddy is installed
	resetgt  string // the resetgate binary built for this run
	pprofBin string // resetgate built with the profiling overlay (may be empty)
	nginx    string // nginx binary, or "" when absent
	caddy    string // caddy binary, or "" when absent
	upstream string // http://127.0.0.1:port of the upstream
}

func startUpstream(e *env) (*proc, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	p, err := startProc("upstream", filepath.Join(e.work, "upstream.log"), nil, e.self, "upstream", "-listen", addr)
	if err != nil {
		return nil, "", err
	}
	u := "http://" + addr
	if err := waitHTTP(p, u+pathPage, 20*time.Second); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, u, nil
}

func directTarget(e *env) *target {
	return &target{key: "direct", label: "direct (no proxy)", url: e.upstream}
}

func startBare(e *env, key string, fullDuplex bool) (*target, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"bare", "-listen", addr, "-upstream", e.upstream, "-admin", admin}
	label := "bare ReverseProxy + pool"
	if fullDuplex {
		args = append(args, "-fullduplex")
		label += " + full duplex"
	}
	p, err := startProc(key, filepath.Join(e.work, key+".log"), nil, e.self, args...)
	if err != nil {
		return nil, err
	}
	t := &target{key: key, label: label, url: "http://" + addr, p: p, grp: group{p.pid()}, pprofURL: "http://" + admin + "/debug/pprof"}
	t.stats = func(ctx context.Context) (memStats, error) {
		var m memStats
		err := getJSON(ctx, "http://"+admin+"/memstats", &m)
		return m, err
	}
	return t, waitHTTP(p, t.url+pathPage, 20*time.Second)
}

// nginxConf is nginx as ops would put it in front of an app: Debian's defaults (workers =
// CPUs, an access log in the combined format) plus what a reverse proxy needs — HTTP/1.1
// keep-alive to the upstream, no body size limit (for the 1 GiB transfers) — and nothing
// else: request and response buffering stay on, as in a default install.
func nginxConf(dir, listen, upstream string) string {
	up := strings.TrimPrefix(upstream, "http://")
	return fmt.Sprintf(`worker_processes auto;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
    access_log %[1]s/access.log combined;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    upstream app {
        server %[3]s;
        keepalive 128;
    }
    server {
        listen %[2]s;
        client_max_body_size 0;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
        }
    }
}
`, dir, listen, up)
}

func startNginx(e *env) (*target, error) {
	dir := filepath.Join(e.work, "nginx")
	// The workers run as nobody and write request bodies under dir.
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	os.Chmod(dir, 0o777)
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(dir, addr, e.upstream)), 0o644); err != nil {
		return nil, err
	}
	p, err := startProc("nginx", filepath.Join(e.work, "nginx.log"), nil, e.nginx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf)
	if err != nil {
		return nil, err
	}
	t := &target{key: "nginx", label: "nginx " + nginxVersion(e), url: "http://" + addr, p: p}
	if err := waitHTTP(p, t.url+pathPage, 20*time.Second); err != nil {
		return t, err
	}
	t.grp = append(group{p.pid()}, children(p.pid())...)
	return t, nil
}

// caddyfile is Caddy's documented minimal reverse proxy, with the admin API and automatic
// HTTPS off (loopback, no certificates) and no access log (Caddy's default).
func caddyfile(listen, upstream string) string {
	return fmt.Sprintf(`{
	admin off
	auto_https off
}

http://%s {
	reverse_proxy %s
}
`, listen, strings.TrimPrefix(upstream, "http://"))
}

func startCaddy(e *env) (*target, error) {
	dir := filepath.Join(e.work, "caddy")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(conf, []byte(caddyfile(addr, e.upstream)), 0o644); err != nil {
		return nil, err
	}
	envv := []string{"HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	p, err := startProc("caddy", filepath.Join(e.work, "caddy.log"), envv, e.caddy, "run", "--config", conf, "--adapter", "caddyfile")
	if err != nil {
		return nil, err
	}
	t := &target{key: "caddy", label: "Caddy " + caddyVersion(e) + " reverse_proxy", url: "http://" + addr, p: p, grp: group{p.pid()}}
	return t, waitHTTP(p, t.url+pathPage, 30*time.Second)
}

// rgOptions are the few ways the bench's resetgate configs differ.
type rgOptions struct {
	key       string
	label     string
	accessLog string // "" keeps the default ("all")
	unlimited bool   // [limits] all "0": to measure the raw POST /pwreset path
	profiled  bool   // the build with the pprof overlay
	// features configures link injection, session tracking and wrap mode on the upstream's
	// sign-in page (pathLogin), so that every other request passes by all three (issue 17,
	// item 4: what they cost where they do not apply).
	features bool
	extraEnv []string
}

// resetgateConfig writes the config the bench runs resetgate with: the required keys, the
// addresses of this run, and the documented defaults for everything else (access_log =
// "all", limits on, admin listener on), unless opts says otherwise.
func resetgateConfig(dataDir, listen, upstream, admin, usersDB string, o rgOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen     = %q\npublic_url = %q\nupstream   = %q\ndata_dir   = %q\n", listen, "http://"+listen, upstream, dataDir)
	if o.accessLog != "" {
		fmt.Fprintf(&b, "access_log = %q\n", o.accessLog)
	} else {
		b.WriteString("access_log = \"all\"                     # the default\n")
	}
	fmt.Fprintf(&b, "\n[users]\ndriver = \"sqlite\"\ndsn    = %q\n", "file:"+usersDB)
	b.WriteString("\n[mail]\ntransport = \"outbox\"\nfrom      = \"Bench <no-reply@example.com>\"\n")
	if o.unlimited {
		b.WriteString("\n[limits]                               # off, to measure the raw request path\nper_email    = \"0\"\nper_ip       = \"0\"\ntoken_per_ip = \"0\"\ntoken_global = \"0\"\nmail_global  = \"0\"\nmail_per_domain = \"0\"\n")
	}
	if o.features {
		fmt.Fprintf(&b, "\n[app]                                  # sign-in: link injection and session tracking\nlogin_path      = %q\nsession_cookies = [\"session\"]\n", pathLogin)
		fmt.Fprintf(&b, "\n[ui]\nwrap_path = %q                     # the reset pages inside the app's sign-in page\n", pathLogin)
	}
	fmt.Fprintf(&b, "\n[admin]\nlisten = %q\n", admin)
	return b.String()
}

func startResetgate(e *env, o rgOptions) (*target, error) {
	dir := filepath.Join(e.work, o.key)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(conf, []byte(resetgateConfig(filepath.Join(dir, "data"), addr, e.upstream, admin, usersDBPath(e), o)), 0o600); err != nil {
		return nil, err
	}
	bin, envv := e.resetgt, o.extraEnv
	var pprofAddr string
	if o.profiled {
		if pprofAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		bin = e.pprofBin
		envv = append(envv, "RESETGATE_BENCH_PPROF="+pprofAddr)
	}
	p, err := startProc(o.key, filepath.Join(dir, "resetgate.log"), envv, bin, "serve", "-config", conf)
	if err != nil {
		return nil, err
	}
	t := &target{key: o.key, label: o.label, url: "http://" + addr, p: p, grp: group{p.pid()}}
	if pprofAddr != "" {
		t.pprofURL = "http://" + pprofAddr + "/debug/pprof"
	}
	metricsURL := "http://" + admin + "/metrics"
	t.metrics = metricsURL
	t.stats = func(ctx context.Context) (memStats, error) {
		m, err := scrape(ctx, metricsURL, "go_memstats_mallocs_total", "go_memstats_alloc_bytes_total", "go_gc_duration_seconds_count")
		return memStats{Mallocs: uint64(m["go_memstats_mallocs_total"]), TotalAlloc: uint64(m["go_memstats_alloc_bytes_total"]),
			NumGC: uint64(m["go_gc_duration_seconds_count"])}, err
	}
	return t, waitHTTP(p, t.url+pathPage, 30*time.Second)
}

// scrape reads the named unlabelled samples from a Prometheus text endpoint. Labelled
// series are summed under their bare name ("x{a="b"} 3" counts towards "x").
func scrape(ctx context.Context, url string, names ...string) (map[string]float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(l, " ")
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
			if j := strings.LastIndexByte(l, ' '); j >= 0 {
				rest, ok = l[j+1:], true
			}
		}
		if !ok || !want[name] {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err == nil {
			out[name] += v
		}
	}
	return out, sc.Err()
}

func getJSON(ctx context.Context, url string, v any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Users in the bench database. Every account of one kind shares one hash (computing 1,400
// PBKDF2 hashes at 600,000 iterations would take minutes); resetgate's "auto" mode writes each
// new hash with the same scheme and parameters, so the completions cost the default amount.
const (
	knownUsers    = 1000 // user0…user999@example.com: POST /pwreset for existing accounts
	completeUsers = 200  // comp0…: the completion runs (werkzeug, resetgate's fallback default)
	argonUsers    = 220  // argon0…: the same with argon2id, the memory-hard scheme (20 + 200 bursts)
	oldPassword   = "Old-password-for-bench-1"
)

func usersDBPath(e *env) string { return filepath.Join(e.work, "users.db") }

// seedUsers creates the legacy app's users table in SQLite.
func seedUsers(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE, password TEXT NOT NULL)`); err != nil {
		return err
	}
	hashes := map[string]string{}
	for _, scheme := range []string{"werkzeug", "argon2id"} {
		h, err := passhash.New(scheme)
		if err != nil {
			return err
		}
		if hashes[scheme], err = h.Hash(oldPassword); err != nil {
			return err
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO users (name, email, password) VALUES (?, ?, ?)")
	if err != nil {
		return err
	}
	for _, g := range []struct {
		prefix, scheme string
		n              int
	}{{"user", "werkzeug", knownUsers}, {"comp", "werkzeug", completeUsers}, {"argon", "argon2id", argonUsers}} {
		for i := range g.n {
			if _, err := stmt.ExecContext(ctx, fmt.Sprintf("Bench %s %d", g.prefix, i), fmt.Sprintf("%s%d@example.com", g.prefix, i), hashes[g.scheme]); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

func nginxVersion(e *env) string {
	out, _ := runCmd(context.Background(), "", nil, e.nginx, "-v")
	_, v, _ := strings.Cut(strings.TrimSpace(out), "nginx/")
	return v
}

// caddyVersion reads the module version from the binary's build info (`caddy version`
// says "unknown" for a go install build).
func caddyVersion(e *env) string {
	out, _ := runCmd(context.Background(), "", nil, "go", "version", "-m", e.caddy)
	for l := range strings.Lines(out) {
		f := strings.Fields(l)
		if len(f) >= 3 && f[0] == "mod" && f[1] == "github.com/caddyserver/caddy/v2" {
			return f[2]
		}
	}
	return ""
}
