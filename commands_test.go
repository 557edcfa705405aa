package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"resetgate/internal/testenv"
)

// cli runs one resetgate command in-process and returns its exit code and output.
func cli(t *testing.T, getenv func(string) string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"resetgate"}, args...), getenv, strings.NewReader(stdin), &out, &errOut)
	var ec exitCode
	switch {
	case err == nil:
	case errors.As(err, &ec):
		code = int(ec)
	default:
		code = 1
		fmt.Fprintln(&errOut, err)
	}
	return code, out.String(), errOut.String()
}

// writeConfig writes a config for the users db and upstream given (any free port, no admin
// listener, outbox mail unless extra, which continues the [mail] table, says otherwise) and
// returns its path.
func writeConfig(t testing.TB, users legacyDB, upstream, extra string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	cfg := fmt.Sprintf(`listen = "127.0.0.1:0"
public_url = "https://app.example"
upstream = %q
data_dir = %q
log_format = "json"
[admin]
listen = ""
[users]
driver = %q
dsn = %q
[mail]
from = "Example <no-reply@example.com>"
%s`, upstream, filepath.Join(dir, "data"), users.driver, users.dsn, extra)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestCheckAllUp(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	path := writeConfig(t, users, echoApp(t).URL, "")
	code, out, errOut := cli(t, env(), "", "check", "-config", path)
	if code != 0 {
		t.Fatalf("check = %d, want 0\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"ok    config", "ok    database", "ok    mail", "ok    upstream", "ok    data_dir", "ok    store", "all checks passed"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckHooks(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	app := echoApp(t)
	dead := closedPort(t)
	path := writeConfig(t, users, app.URL, fmt.Sprintf("[hooks]\npassword_changed = %q\nwasnt_me = %q\nsecret_env = \"HOOK_SECRET\"\n",
		app.URL+"/internal/pw-changed?token=x", "http://"+dead+"/internal/wasnt-me"))
	code, out, _ := cli(t, env("HOOK_SECRET", "0123456789abcdef0123"), "", "check", "-config", path)
	if code != 1 {
		t.Fatalf("check = %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"ok    hooks        password_changed receiver " + app.URL + "/internal/pw-changed accepts connections",
		"FAIL  hooks        webhook receiver " + dead, "1 check(s) failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckServicesDown(t *testing.T) {
	dead := closedPort(t)
	path := writeConfig(t, legacyDB{driver: "postgres", dsn: "postgres://app@" + dead + "/app?sslmode=disable&connect_timeout=2"}, "http://"+closedPort(t),
		"transport = \"smtp\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = "+strings.Split(closedPort(t), ":")[1]+"\ntls = \"none\"\ntimeout = \"2s\"\n")
	code, out, _ := cli(t, env(), "", "check", "-config", path)
	if code != 1 {
		t.Fatalf("check = %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"FAIL  database", "FAIL  mail", "FAIL  upstream", "3 check(s) failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, "FAIL") && !strings.Contains(line, "refused") && !strings.Contains(line, "connect") {
			t.Errorf("failure line does not say why: %q", line)
		}
	}
}

func TestCheckInvalidConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(path, []byte("listen = \"x\"\n[users]\ndrvier = \"sqlite\"\n"), 0o600)
	code, _, errOut := cli(t, env(), "", "check", "-config", path)
	if code != 2 || !strings.Contains(errOut, "line 3: users.drvier: unknown key (did you mean users.driver?)") || !strings.Contains(errOut, "public_url") {
		t.Errorf("check = %d, stderr:\n%s", code, errOut)
	}
}

func TestShippedConfigCheckWithServicesDown(t *testing.T) {
	// The annotated config.toml points at services that are not running in tests (an app on
	// :5000, a placeholder SMTP host): check must say so line by line and exit non-zero.
	dead := closedPort(t)
	code, out, errOut := cli(t, env("LEGACY_DSN", "postgres://app@"+dead+"/app?sslmode=disable&connect_timeout=2"), "", "check", "-config", "config.toml")
	if code != 1 || !strings.Contains(out, "FAIL  database") {
		t.Errorf("check config.toml = %d:\n%s%s", code, out, errOut)
	}
}

func TestHash(t *testing.T) {
	code, out, errOut := cli(t, env(), "correct horse battery staple\n", "hash", "-scheme", "bcrypt")
	if code != 0 || !strings.HasPrefix(out, "$2") {
		t.Fatalf("hash = %d %q %s", code, out, errOut)
	}
	code, _, errOut = cli(t, env(), strings.Repeat("x", 80)+"\n", "hash", "-scheme", "bcrypt")
	if code == 0 || !strings.Contains(errOut, "72") {
		t.Errorf("an 80-byte bcrypt password = %d %s, want a refusal naming 72", code, errOut)
	}
	if code, _, _ := cli(t, env(), "x\n", "hash", "-scheme", "md5"); code == 0 {
		t.Errorf("hash -scheme md5 succeeded")
	}
}

func TestSendTestMailOutbox(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	path := writeConfig(t, users, echoApp(t).URL, "")
	code, out, errOut := cli(t, env(), "", "send-test-mail", "-config", path, "-to", "ops@example.com")
	if code != 0 || !strings.Contains(out, "ops@example.com") {
		t.Fatalf("send-test-mail = %d %s %s", code, out, errOut)
	}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "data", "outbox", "*.eml"))
	if len(files) != 1 {
		t.Errorf("outbox has %d files, want 1", len(files))
	}
}

func TestSendTestMailSMTP(t *testing.T) {
	mp := testenv.Mailpit(t)
	host, port := mp.SMTPAddr()
	users := sqliteUsers(t, "old-password-1")
	path := writeConfig(t, users, echoApp(t).URL, fmt.Sprintf("transport = \"smtp\"\n[mail.smtp]\nhost = %q\nport = %d\ntls = \"none\"\n", host, port))
	code, out, errOut := cli(t, env(), "", "send-test-mail", "-config", path, "-to", "ops@example.com")
	if code != 0 {
		t.Fatalf("send-test-mail = %d %s %s", code, out, errOut)
	}
	msgs, err := mp.WaitMessages(context.Background(), 1)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Mailpit has %d messages (%v)", len(msgs), err)
	}
}

func TestSendLinkTokensQueue(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	path := writeConfig(t, users, echoApp(t).URL, "")
	code, out, errOut := cli(t, env(), "", "send-link", "-config", path, "-print", "alice@example.com")
	if code != 0 || !strings.HasPrefix(out, "https://app.example/pwreset/") {
		t.Fatalf("send-link -print = %d %q %s", code, out, errOut)
	}
	token := strings.TrimSpace(strings.TrimPrefix(out, "https://app.example/pwreset/"))

	code, out, _ = cli(t, env(), "", "tokens", "-config", path, "list")
	if code != 0 || !strings.Contains(out, "Alice@Example.com") || !strings.Contains(out, "1 token(s)") || strings.Contains(out, token) {
		t.Errorf("tokens list = %d:\n%s", code, out)
	}
	code, out, _ = cli(t, env(), "", "tokens", "-config", path, "revoke", "alice@example.com")
	if code != 0 || !strings.Contains(out, "revoked 1 token(s)") {
		t.Errorf("tokens revoke = %d: %s", code, out)
	}
	if code, out, _ = cli(t, env(), "", "tokens", "-config", path, "purge"); code != 0 || !strings.Contains(out, "deleted 0") {
		t.Errorf("tokens purge = %d: %s", code, out)
	}
	if code, _, errOut = cli(t, env(), "", "send-link", "-config", path, "nobody@example.com"); code == 0 || !strings.Contains(errOut, "no account") {
		t.Errorf("send-link to an unknown address = %d %s", code, errOut)
	}

	// Mailing a link goes through the outbox; queue commands see an empty queue.
	if code, out, _ = cli(t, env(), "", "send-link", "-config", path, "alice@example.com"); code != 0 || !strings.Contains(out, "mailed a reset link to Alice@Example.com") {
		t.Errorf("send-link = %d %s", code, out)
	}
	if code, out, _ = cli(t, env(), "", "queue", "-config", path, "list"); code != 0 || !strings.Contains(out, "0 job(s)") {
		t.Errorf("queue list = %d %s", code, out)
	}
	if code, _, errOut = cli(t, env(), "", "queue", "-config", path, "drop", "42"); code == 0 || !strings.Contains(errOut, "no job 42") {
		t.Errorf("queue drop unknown = %d %s", code, errOut)
	}
}

func TestDoctor(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	path := writeConfig(t, users, echoApp(t).URL, "")
	code, out, errOut := cli(t, env(), "", "doctor", "-config", path, "-test-user", "alice@example.com")
	if code != 0 || !strings.Contains(out, "werkzeug") || !strings.Contains(out, "round trip") || !strings.Contains(out, "safe:") {
		t.Fatalf("doctor = %d:\n%s%s", code, out, errOut)
	}
	before := users.hash(t)
	if _, err := users.db.Exec("INSERT INTO users (name, email, password) VALUES ('Bob', 'bob@example.com', '5f4dcc3b5aa765d61d8327deb882cf99')"); err != nil {
		t.Fatal(err)
	}
	code, out, _ = cli(t, env(), "", "doctor", "-config", path)
	if code != 1 || !strings.Contains(out, "FAIL") || !strings.Contains(out, "NOT SAFE") {
		t.Errorf("doctor with an unsalted MD5 row = %d:\n%s", code, out)
	}
	if users.hash(t) != before {
		t.Errorf("doctor's round trip did not restore the test account's hash")
	}
}

func TestHelpAndVersion(t *testing.T) {
	everyCommand := []string{}
	for _, c := range commands {
		everyCommand = append(everyCommand, "\n  "+c.name+" ")
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stdout   []string // each must appear
		stderr   []string
	}{
		{"help lists the commands", []string{"help"}, 0, everyCommand, nil},
		{"--help lists the commands", []string{"--help"}, 0, everyCommand, nil},
		{"-h lists the commands", []string{"-h"}, 0, everyCommand, nil},
		{"-help lists the commands", []string{"-help"}, 0, everyCommand, nil},
		{"version", []string{"version"}, 0, []string{"resetgate ", "go1."}, nil},
		{"--version", []string{"--version"}, 0, []string{"resetgate ", "go1."}, nil},
		{"-v", []string{"-v"}, 0, []string{"resetgate ", "go1."}, nil},
		{"tokens -h lists its actions", []string{"tokens", "-h"}, 0, []string{"usage: resetgate tokens [flags] ACTION", "\n  list ", "\n  revoke EMAIL ", "\n  purge ", "-config"}, nil},
		{"queue -h lists its actions", []string{"queue", "-h"}, 0, []string{"usage: resetgate queue [flags] ACTION", "\n  list ", "\n  retry ID|all ", "\n  drop ID ", "-config"}, nil},
		{"tokens without an action shows them", []string{"tokens"}, 2, nil, []string{"\n  revoke EMAIL "}},
		{"help for one command", []string{"help", "send-link"}, 0, []string{"usage: resetgate send-link [flags] EMAIL", "-print"}, nil},
		{"serve -h shows its flags, not Go's", []string{"serve", "-h"}, 0, []string{"usage: resetgate serve [flags]", "Run the proxy", "-config"}, nil},
		{"check --help", []string{"check", "--help"}, 0, []string{"usage: resetgate check [flags]", "-offline"}, nil},
		{"a bad flag names itself and the usage", []string{"check", "-ofline"}, 2, nil, []string{"-ofline", "usage: resetgate check"}},
		{"unknown command", []string{"frobnicate"}, 1, nil, []string{`unknown command "frobnicate"`, "\n  serve "}},
		{"help for an unknown command", []string{"help", "frobnicate"}, 1, nil, []string{`unknown command "frobnicate"`}},
		{"missing config", []string{"serve", "-config", "/nonexistent/none.toml"}, 2, nil, []string{"none.toml: file not found"}},
	}
	for _, c := range commands {
		if c.name == "help" || c.name == "version" {
			continue
		}
		tests = append(tests, struct {
			name     string
			args     []string
			wantCode int
			stdout   []string
			stderr   []string
		}{c.name + " -h has a description", []string{c.name, "-h"}, 0, []string{"usage: resetgate " + c.name, strings.ToUpper(c.summary[:1]) + c.summary[1:2]}, nil})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := cli(t, env(), "", tt.args...)
			if code != tt.wantCode {
				t.Errorf("resetgate %s = %d, want %d\n%s%s", strings.Join(tt.args, " "), code, tt.wantCode, out, errOut)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(out, want) {
					t.Errorf("resetgate %s: stdout lacks %q:\n%s", strings.Join(tt.args, " "), want, out)
				}
			}
			for _, want := range tt.stderr {
				if !strings.Contains(errOut, want) {
					t.Errorf("resetgate %s: stderr lacks %q:\n%s", strings.Join(tt.args, " "), want, errOut)
				}
			}
			if strings.Contains(out+errOut, "Usage of ") {
				t.Errorf("resetgate %s printed Go's own usage line:\n%s%s", strings.Join(tt.args, " "), out, errOut)
			}
		})
	}
}

func TestWideTrustedProxies(t *testing.T) {
	for _, tt := range []struct {
		cidr string
		warn bool
	}{
		{"10.0.0.0/8", true}, {"0.0.0.0/0", true}, {"172.16.0.0/12", true}, {"::ffff:10.0.0.0/104", true},
		{"2001:db8::/32", true}, {"::/0", true},
		{"10.244.0.0/16", false}, {"10.244.7.0/24", false}, {"192.0.2.7", false}, {"192.0.2.7/32", false},
		{"2001:db8:1::/48", false}, {"fd00::1", false}, {"::ffff:10.1.0.0/112", false},
	} {
		if got := len(wideTrustedProxies([]string{tt.cidr})) > 0; got != tt.warn {
			t.Errorf("wideTrustedProxies(%q) warns = %v, want %v", tt.cidr, got, tt.warn)
		}
	}
}
