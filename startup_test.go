package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"resetgate/internal/testenv"
)

// mustServe runs `resetgate serve -config path` in-process through run() until the test ends.
func mustServe(t *testing.T, path string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{log: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		in.done <- run(ctx, []string{"resetgate", "serve", "-config", path}, env(), strings.NewReader(""), io.Discard, in.log)
	}()
	t.Cleanup(func() { in.stop(t) })
	in.base = "http://" + in.waitAddr(t, "resetgate listening")
	return in
}

// TestServeSaysWhatWillNotWork is issue 19's sixth report: serve started without a word when
// the mail server was unreachable, and the first sign was a user's mail failing.
func TestServeSaysWhatWillNotWork(t *testing.T) {
	settled := watchSettled(t)
	saved := recheck
	recheck = backoff{first: 20 * time.Millisecond, max: 100 * time.Millisecond, giveUp: time.Hour}
	t.Cleanup(func() { recheck = saved }) // runs after serve has stopped (cleanups run last first)

	_, port, _ := net.SplitHostPort(closedPort(t))
	users := sqliteUsers(t, "old-password-1")
	path := writeConfig(t, users, echoApp(t).URL, fmt.Sprintf("transport = \"smtp\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = %s\ntls = \"none\"\ntimeout = \"2s\"\n", port))
	rg := mustServe(t, path)

	// The listener answers although the mail server does not.
	b := newBrowser(t, rg.base)
	b.expect("GET", "/pwreset", "", 200, "")

	warn := rg.log.waitLog(t, "dependency unavailable", 1)
	if warn["dependency"] != "mail" || warn["level"] != "WARN" || !strings.Contains(warn["err"].(string), "connection refused") ||
		!strings.Contains(warn["effect"].(string), "not delivered") {
		t.Errorf("warning = %v, want mail, level WARN, what breaks and why (connection refused)", warn)
	}

	p, _ := strconv.Atoi(port)
	testenv.Mailpit(t, testenv.MailpitSMTPPort(p))
	recovered := rg.log.waitLog(t, "dependency recovered", 1)
	if recovered["dependency"] != "mail" {
		t.Errorf("recovery = %v, want mail", recovered)
	}
	if n := len(rg.log.logLines("dependency unavailable")); n != 1 {
		t.Errorf("%d warnings, want one: re-checks of a failing dependency warn no more\n%s", n, rg.log.String())
	}
	if n := len(rg.log.logLines("start-up checks passed: database, store, upstream and mail answer")); n != 0 {
		t.Errorf("start-up checks passed, with the mail server down")
	}
	// Start-up is over once every dependency was checked once, answering or not.
	if n := settled(); n != 1 {
		t.Errorf("start-up settled %d times, want once", n)
	}
}

// watchSettled counts serve's calls of startupSettled, and still releases the pages.
func watchSettled(t *testing.T) (calls func() int) {
	var mu sync.Mutex
	n := 0
	saved := startupSettled
	startupSettled = func(log *slog.Logger) {
		mu.Lock()
		n++
		mu.Unlock()
		saved(log)
	}
	t.Cleanup(func() { startupSettled = saved })
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

func TestServeStartupChecksPass(t *testing.T) {
	settled := watchSettled(t)
	users := sqliteUsers(t, "old-password-1")
	rg := mustServe(t, writeConfig(t, users, echoApp(t).URL, ""))
	rg.log.waitLog(t, "start-up checks passed: database, store, upstream and mail answer", 1)
	// The pages go after the checks' line; it is the same goroutine's next step.
	deadline := time.Now().Add(5 * time.Second)
	for settled() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := settled(); n != 1 {
		t.Errorf("start-up settled %d times, want once", n)
	}
	// Serving goes on after the executable's pages were released.
	newBrowser(t, rg.base).expect("GET", "/pwreset", "", 200, "")
	if lines := rg.log.logLines("dependency unavailable"); len(lines) != 0 {
		t.Errorf("warnings with every dependency up: %v", lines)
	}
}
