package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"resetgate/internal/testenv"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds resetgate once for the tests that need a real process (signals, kill -9).
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "resetgate-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "resetgate")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type process struct {
	cmd     *exec.Cmd
	log     *syncBuffer
	base    string
	done    chan struct{} // closed when the process has exited
	waitErr error         // its exit status, once done is closed
}

func startProcess(t *testing.T, config string) *process {
	t.Helper()
	p := &process{log: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary(t), "serve", "-config", config)
	p.cmd.Stderr = p.log
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waitErr = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if lines := p.log.logLines("resetgate listening"); len(lines) > 0 {
			p.base = "http://" + lines[0]["addr"].(string)
			return p
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("resetgate did not start:\n%s", p.log.String())
	return nil
}

// heldApp is a legacy app whose every request waits until release is closed; arrived
// receives once per request as it reaches the app, so a test knows requests are in flight.
func heldApp(t *testing.T) (url string, arrived <-chan struct{}, release chan<- struct{}) {
	t.Helper()
	in, out := make(chan struct{}, 1024), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in <- struct{}{}
		select {
		case <-out:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "slow ok")
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-out:
		default:
			close(out)
		}
	})
	return srv.URL, in, out
}

// stalledSMTP listens where an SMTP server would and accepts connections but never answers
// (not even the greeting), so a send hangs mid-delivery. accepted receives each connection.
func stalledSMTP(t *testing.T) (port int, accepted <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			conns <- c
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, conns
}

// refusesConnections waits until nothing listens at addr any more.
func refusesConnections(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s still accepts connections", addr)
}

// hangGuard bounds a wait for something that must happen; it only turns a hang into a
// failure with a message, and is no timing assertion.
const hangGuard = 3 * time.Minute

func TestSIGTERMDrainsInFlightRequestsAndKeepsJobs(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	upstream, arrived, release := heldApp(t)
	deadSMTP := strings.Split(closedPort(t), ":")[1]
	// SMTP is down: the queued mail must wait, not be lost.
	config := writeConfig(t, users, upstream, "transport = \"smtp\"\n"+
		fmt.Sprintf("[mail.smtp]\nhost = \"127.0.0.1\"\nport = %s\ntls = \"none\"\ntimeout = \"1s\"\n", deadSMTP))
	p := startProcess(t, config)

	b := newBrowser(t, p.base)
	b.expect("POST", "/pwreset", "email=alice%40example.com", 303, "/pwreset/sent")
	p.log.waitLog(t, "mail failed; will retry", 1)

	const n = 40
	results := make(chan error, n)
	for range n {
		go func() {
			resp, err := http.Get(p.base + "/slow")
			if err != nil {
				results <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "slow ok" {
				err = fmt.Errorf("status %d body %q", resp.StatusCode, body)
			}
			results <- err
		}()
	}
	for i := range n {
		select {
		case <-arrived:
		case err := <-results:
			t.Fatalf("request %d never reached the app: %v", i+1, err)
		}
	}
	// Every request is now in flight, held by the app: stop resetgate, wait until it takes no
	// new connections (shutdown has begun), and only then let the app answer.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	refusesConnections(t, strings.TrimPrefix(p.base, "http://"))
	close(release)
	for range n {
		if err := <-results; err != nil {
			t.Errorf("in-flight request failed during shutdown: %v", err)
		}
	}
	select {
	case <-p.done:
		if p.waitErr != nil {
			t.Errorf("resetgate exited with %v after SIGTERM, want 0\n%s", p.waitErr, p.log.String())
		}
	case <-time.After(hangGuard):
		t.Fatal("resetgate did not exit after SIGTERM")
	}
	code, out, _ := cli(t, env(), "", "queue", "-config", config, "list")
	if code != 0 || !strings.Contains(out, "1 job(s)") || !strings.Contains(out, "reset") {
		t.Errorf("after shutdown the queued mail is gone:\n%s", out)
	}
}

func TestKill9KeepsTokens(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	config := writeConfig(t, users, echoApp(t).URL, "")
	p := startProcess(t, config)
	b := newBrowser(t, p.base)
	b.expect("POST", "/pwreset", "email=alice%40example.com", 303, "/pwreset/sent")
	mail := p.log.waitLog(t, "mail written to outbox", 1)
	link := strings.TrimPrefix(mail["link"].(string), "https://app.example")
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done

	p2 := startProcess(t, config)
	b2 := newBrowser(t, p2.base)
	b2.expect("GET", link, "", 303, "/pwreset/new")
	b2.expect("POST", "/pwreset/new", "password=cobalt+lantern+orchard+42&password2=cobalt+lantern+orchard+42", 303, "/pwreset/done")
}

// A job whose mail is not out yet survives kill -9: resetgate is killed while its worker is
// mid-delivery to an SMTP server that never answers, and after a restart against a working
// one the mail arrives (once the dead worker's lease lapses) with a link that works.
func TestKill9KeepsQueuedMail(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a job lease (1m) to lapse")
	}
	users := sqliteUsers(t, "old-password-1")
	mp := testenv.Mailpit(t)
	host, port := mp.SMTPAddr()
	stallPort, accepted := stalledSMTP(t)
	smtpAt := func(host string, port int) string {
		return fmt.Sprintf("transport = \"smtp\"\n[mail.smtp]\nhost = %q\nport = %d\ntls = \"none\"\ntimeout = \"30s\"\n", host, port)
	}
	config := writeConfig(t, users, echoApp(t).URL, smtpAt("127.0.0.1", stallPort))
	p := startProcess(t, config)
	newBrowser(t, p.base).expect("POST", "/pwreset", "email=alice%40example.com", 303, "/pwreset/sent")
	select {
	case <-accepted: // the worker has the job and waits for the server's greeting
	case <-time.After(hangGuard):
		t.Fatal("the worker never started delivering")
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	if code, out, errOut := cli(t, env(), "", "queue", "-config", config, "list"); code != 0 || !strings.Contains(out, "1 job(s)") {
		t.Fatalf("after kill -9 the queued mail is gone (queue list = %d):\n%s%s", code, out, errOut)
	}

	// The same data_dir, now with a working SMTP server.
	cfg, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte(strings.Replace(string(cfg), smtpAt("127.0.0.1", stallPort), smtpAt(host, port), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	p2 := startProcess(t, config)
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	msgs, err := mp.WaitMessages(ctx, 1)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("the queued mail never arrived after the restart: %d message(s), %v\n%s", len(msgs), err, p2.log.String())
	}
	b := newBrowser(t, p2.base)
	b.expect("GET", linkFrom(t, mp, msgs[0].ID), "", 303, "/pwreset/new")
	b.expect("POST", "/pwreset/new", "password=cobalt+lantern+orchard+42&password2=cobalt+lantern+orchard+42", 303, "/pwreset/done")
}

func TestSecondInstanceFailsFast(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	config := writeConfig(t, users, echoApp(t).URL, "")
	first := startProcess(t, config)
	// The second one must give up on its own while the first holds the data_dir, not wait for
	// the lock (the guard only ends a hang).
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary(t), "serve", "-config", config).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the second instance was still waiting for the data_dir after %s:\n%s", hangGuard, out)
	}
	if err == nil {
		t.Fatalf("a second resetgate on the same data_dir started")
	}
	if !strings.Contains(string(out), "in use by another resetgate") {
		t.Errorf("the error does not say why:\n%s", out)
	}
	select {
	case <-first.done:
		t.Errorf("the first instance exited while the second tried to start: %v\n%s", first.waitErr, first.log.String())
	default:
	}
}

// TestSecondSignalStopsAtOnce is from issue 20's shutdown point: a second Ctrl-C could not
// force an exit while a request held the graceful stop. With a 10-minute grace and a request
// the app never answers, the second SIGTERM must end the process long before that grace.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	upstream, arrived, _ := heldApp(t)
	path := writeConfig(t, users, upstream, "")
	cfg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append([]byte("shutdown_grace = \"10m\"\n"), cfg...), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, path)
	go http.Get(p.base + "/held") // the app holds it: the graceful stop would wait for it
	<-arrived
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.log.waitLog(t, "shutting down; send the signal again to stop at once", 1)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute): // far below the 10-minute grace it would otherwise take
		t.Fatalf("a second SIGTERM did not stop resetgate\n%s", p.log.String())
	}
}
