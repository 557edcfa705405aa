package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"resetgate/internal/testenv"
	"resetgate/reset/passhash"
)

// replicaConfig writes the config of one replica sharing Redis (prefix) and the app's
// PostgreSQL with the others, each with its own data_dir.
func replicaConfig(t *testing.T, users legacyDB, upstream, redisAddr, prefix, smtpHost string, smtpPort int, extra string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`listen = "127.0.0.1:0"
public_url = "https://app.example"
upstream = %q
data_dir = %q
log_format = "json"
%s
[admin]
listen = ""
[users]
driver = %q
dsn = %q
[mail]
transport = "smtp"
from = "Example <no-reply@example.com>"
[mail.smtp]
host = %q
port = %d
tls = "none"
timeout = "30s"
[store]
backend = "redis"
redis_url = "redis://%s/0"
key_prefix = %q
`, upstream, filepath.Join(dir, "data"), extra, users.driver, users.dsn, smtpHost, smtpPort, redisAddr, prefix)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReplicasShareRedis(t *testing.T) {
	redisAddr := testenv.Redis(t)
	mp := testenv.Mailpit(t)
	host, port := mp.SMTPAddr()
	users := postgresUsers(t, "old-password-1")
	app := echoApp(t)
	prefix := testenv.Name("rgtest:") + ":"
	var replicas []*process
	for range 3 {
		replicas = append(replicas, startProcess(t, replicaConfig(t, users, app.URL, redisAddr, prefix, host, port,
			// token_per_ip off: the 40 link requests below come from one address, and this
			// test is about the claim, not about guessing limits (attack/ covers those).
			`[limits]
per_ip = "5/hour"
per_email = "2/hour"
token_per_ip = "0"`)))
	}
	// A link requested on one replica is opened and completed on others.
	b0 := newBrowser(t, replicas[0].base)
	b0.expect("POST", "/pwreset", "email=alice%40example.com", 303, "/pwreset/sent")
	msgs, err := mp.WaitMessages(context.Background(), 1)
	if err != nil {
		t.Fatalf("no mail: %v", err)
	}
	link := linkFrom(t, mp, msgs[0].ID)

	b1 := newBrowser(t, replicas[1].base)
	b1.expect("GET", link, "", 303, "/pwreset/new")
	// The session cookie set by replica 1 is read by replica 2: keys are shared through Redis.
	b1.base = replicas[2].base
	b1.expect("GET", "/pwreset/new", "", 200, "")

	// 20 parallel submissions spread over the replicas: exactly one password change, and the
	// stored hash is the winner's password.
	var mu sync.Mutex
	var winners []string
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			b := newBrowser(t, replicas[i%3].base)
			// Errorf, not Fatalf: this runs outside the test's goroutine.
			resp, _, err := b.try("GET", link, "")
			if err != nil {
				t.Errorf("GET link on replica %d: %v", i%3, err)
				return
			}
			if resp.Header.Get("Location") != "/pwreset/new" && resp.Header.Get("Location") != "/pwreset/invalid" {
				t.Errorf("GET link on replica %d = %d → %q", i%3, resp.StatusCode, resp.Header.Get("Location"))
				return
			}
			pw := fmt.Sprintf("parallel secret number %d", i)
			resp, _, err = b.try("POST", "/pwreset/new", "password="+url.QueryEscape(pw)+"&password2="+url.QueryEscape(pw))
			if err != nil {
				t.Errorf("POST new password on replica %d: %v", i%3, err)
				return
			}
			if resp.Header.Get("Location") == "/pwreset/done" {
				mu.Lock()
				winners = append(winners, pw)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("password changes = %d, want exactly 1", len(winners))
	}
	stored := users.hash(t)
	if ok, err := passhash.Verify(winners[0], stored); !ok || err != nil {
		t.Errorf("passhash.Verify(%q, stored hash %q) = %v, %v; want true: the winner's password does not sign in", winners[0], stored, ok, err)
	}
	if ok, err := passhash.Verify("old-password-1", stored); ok || err != nil {
		t.Errorf("passhash.Verify(old password, stored hash %q) = %v, %v; want false, nil", stored, ok, err)
	}

	// Limits hold across replicas: per_ip = 5/hour counts every replica's requests (1 above).
	statuses := ""
	for i := range 5 {
		b := newBrowser(t, replicas[i%3].base)
		resp, _ := b.do("POST", "/pwreset", "email=someone"+fmt.Sprint(i)+"%40example.com")
		statuses += fmt.Sprint(resp.StatusCode, " ")
	}
	if statuses != "303 303 303 303 429 " {
		t.Errorf("statuses across replicas = %q, want four 303 then 429 (5/hour in all)", statuses)
	}
}

// linkFrom reads the reset link's path from a Mailpit message.
func linkFrom(t *testing.T, mp *testenv.MailpitServer, id string) string {
	t.Helper()
	d, err := mp.Message(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(d.Text, "https://app.example/pwreset/")
	if i < 0 {
		t.Fatalf("no link in the mail:\n%s", d.Text)
	}
	return strings.Fields(d.Text[i+len("https://app.example"):])[0]
}

func TestKilledReplicaLosesNoMail(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a job lease (1m) to lapse")
	}
	redisAddr := testenv.Redis(t)
	mp := testenv.Mailpit(t)
	host, port := mp.SMTPAddr()
	users := postgresUsers(t, "old-password-1")
	app := echoApp(t)
	prefix := testenv.Name("rgtest:") + ":"

	// Replica 1 talks to an SMTP server that accepts and then says nothing: its job hangs
	// mid-delivery until the replica is killed.
	stallPort, accepted := stalledSMTP(t)
	r1 := startProcess(t, replicaConfig(t, users, app.URL, redisAddr, prefix, "127.0.0.1", stallPort, ""))
	newBrowser(t, r1.base).expect("POST", "/pwreset", "email=alice%40example.com", 303, "/pwreset/sent")
	select {
	case <-accepted:
	case <-time.After(hangGuard):
		t.Fatal("replica 1 never started delivering")
	}
	r1.cmd.Process.Signal(syscall.SIGKILL)
	<-r1.done

	// Another replica delivers the mail once the dead one's lease lapses.
	startProcess(t, replicaConfig(t, users, app.URL, redisAddr, prefix, host, port, ""))
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	msgs, err := mp.WaitMessages(ctx, 1)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("the mail of the killed replica was lost: %v", err)
	}
	link := linkFrom(t, mp, msgs[0].ID)
	newBrowser(t, startProcess(t, replicaConfig(t, users, app.URL, redisAddr, prefix, host, port, "")).base).expect("GET", link, "", 303, "/pwreset/new")
}
