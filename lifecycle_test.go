package main

import (
	"fmt"
	"io"
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

// slowApp answers after delay, to keep requests in flight.
func slowApp(t *testing.T, delay time.Duration) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		io.WriteString(w, "slow ok")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestSIGTERMDrainsInFlightRequestsAndKeepsJobs(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	upstream := slowApp(t, 300*time.Millisecond)
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
	time.Sleep(100 * time.Millisecond) // let the requests reach the upstream
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
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
	case <-time.After(30 * time.Second):
		t.Fatal("resetgate did not exit after SIGTERM")
	}
	code, out, _ := cli(t, env(), "", "queue", "-config", config, "list")
	if code != 0 || !strings.Contains(out, "1 job(s)") || !strings.Contains(out, "reset") {
		t.Errorf("after shutdown the queued mail is gone:\n%s", out)
	}
}

func TestKill9KeepsTokensAndQueuedMail(t *testing.T) {
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

func TestSecondInstanceFailsFast(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	config := writeConfig(t, users, echoApp(t).URL, "")
	startProcess(t, config)
	start := time.Now()
	out, err := exec.Command(binary(t), "serve", "-config", config).CombinedOutput()
	if err == nil {
		t.Fatalf("a second resetgate on the same data_dir started")
	}
	if !strings.Contains(string(out), "in use by another resetgate") {
		t.Errorf("the error does not say why:\n%s", out)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the second instance took %s to give up", d)
	}
}
