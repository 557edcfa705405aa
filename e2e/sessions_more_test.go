package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"resetgate/examples/demoapp"
	"resetgate/internal/testenv"
)

// TestPHPSessionsEndAtReset: examples/php, whose session id (PHPSESSID, in files) is
// regenerated at sign-in.
func TestPHPSessionsEndAtReset(t *testing.T) {
	t.Parallel()
	needChromium(t)
	user := account{email: "alice@example.com", name: "Alice", password: "wonderland"}
	php := runPHPExample(t, user)
	mp := testenv.Mailpit(t)
	app := startTrackedGate(t, gateOptions{driver: "mysql", dsn: php.dsn, upstream: php.upstream,
		loginPath: "/login.php"}, mp, user, "PHPSESSID")
	testSessionsEndAtReset(t, app)
}

// rotating puts the demo app behind a cookie that changes on every response, as apps that
// rotate their session id do: each answer to a signed-in browser carries a new value of
// "sid" (the older ones keep working, so parallel requests of a page do not sign it out).
type rotating struct {
	next   http.Handler
	mu     sync.Mutex
	inner  map[string]string // sid → the demo app's own session id
	issued atomic.Int64      // sid values handed out
}

func (rt *rotating) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var inner string
	if c, err := r.Cookie("sid"); err == nil {
		rt.mu.Lock()
		inner = rt.inner[c.Value]
		rt.mu.Unlock()
	}
	r.Header.Del("Cookie")
	if inner != "" {
		r.AddCookie(&http.Cookie{Name: "demo_session", Value: inner})
	}
	rec := httptest.NewRecorder()
	rt.next.ServeHTTP(rec, r)
	res := rec.Result()
	for _, c := range res.Cookies() {
		if c.Name == "demo_session" {
			inner = c.Value
			if c.MaxAge < 0 {
				inner = ""
			}
		}
	}
	for k, v := range rec.Header() {
		if k != "Set-Cookie" {
			w.Header()[k] = v
		}
	}
	if inner != "" {
		sid := rand.Text()
		rt.mu.Lock()
		rt.inner[sid] = inner
		rt.mu.Unlock()
		rt.issued.Add(1)
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// TestRotatingCookieSessionsEndAtReset: an app that rotates its cookie on every response.
func TestRotatingCookieSessionsEndAtReset(t *testing.T) {
	t.Parallel()
	needChromium(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "users.db")
	demo, err := demoapp.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { demo.Close() })
	rt := &rotating{next: demo, inner: map[string]string{}}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	mp := testenv.Mailpit(t)
	user := account{email: demoapp.Email, name: demoapp.Name, password: demoapp.Password}
	app := startTrackedGate(t, gateOptions{driver: "sqlite", dsn: "file:" + db + "?_pragma=busy_timeout(5000)",
		upstream: srv.URL, loginPath: "/login"}, mp, user, "sid")
	pub, err := url.Parse(app.public)
	if err != nil {
		t.Fatal(err)
	}
	ctxA := newBrowser(t, pub, t.TempDir()).ctx
	ctxB := newBrowser(t, pub, t.TempDir()).ctx
	run := func(name string, ctx context.Context, f func(ctx context.Context) error) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := f(sctx); err != nil {
			t.Fatalf("%s: %v\ngate log:\n%s", name, err, tail(app.gate.out.String(), 30, ""))
		}
	}
	const newPassword = "a much longer and fresher passphrase 42"
	run("A signs in", ctxA, func(ctx context.Context) error { return app.signIn(ctx, user.password, true) })
	for i := range 3 {
		run(fmt.Sprintf("A's request %d rotates the cookie", i), ctxA, func(ctx context.Context) error { return app.wantSignedIn(ctx, true) })
	}
	run("every value A was given is bound", ctxA, func(ctx context.Context) error {
		return waitMetric(ctx, app.admin, `resetgate_session_events_total{event="session_bound"}`, float64(rt.issued.Load()))
	})
	if n := rt.issued.Load(); n < 4 {
		t.Fatalf("the app handed out %d cookie values, want at least 4 (sign-in and three rotations)", n)
	}
	run("B resets the password", ctxB, func(ctx context.Context) error { _, err := app.reset(ctx, newPassword, 1); return err })
	run("A is signed out on its next request", ctxA, func(ctx context.Context) error { return app.wantSignedIn(ctx, false) })
	run("B signs in with the new password", ctxB, func(ctx context.Context) error { return app.signIn(ctx, newPassword, true) })
	run("B's rotating session keeps working", ctxB, func(ctx context.Context) error { return app.wantSignedIn(ctx, true) })
}

// TestReplicasShareRevocations: two resetgate replicas on one Redis; the password is reset
// through one, and the cookie revoked there is refused by the other.
func TestReplicasShareRevocations(t *testing.T) {
	t.Parallel()
	upstream, dsn, user := startFlask(t)
	redis := testenv.Redis(t)
	mp := testenv.Mailpit(t)
	store := fmt.Sprintf("\n[store]\nbackend = \"redis\"\nredis_url = \"redis://%s/0\"\nkey_prefix = %q\n", redis, testenv.Name("resetgate-e2e-sessions-")+":")
	o := gateOptions{driver: "postgres", dsn: dsn, upstream: upstream, loginPath: "/login", extra: store}
	one := startTrackedGate(t, o, mp, user, "session")
	two := startTrackedGate(t, o, mp, user, "session")
	pub1, _ := url.Parse(one.public)
	pub2, _ := url.Parse(two.public)
	ctxA := newBrowser(t, pub1, t.TempDir()).ctx
	ctxB := newBrowser(t, pub2, t.TempDir()).ctx
	run := func(name string, ctx context.Context, f func(ctx context.Context) error) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := f(sctx); err != nil {
			t.Fatalf("%s: %v\nreplica one:\n%s\nreplica two:\n%s", name, err, tail(one.gate.out.String(), 20, ""), tail(two.gate.out.String(), 20, ""))
		}
	}
	const newPassword = "a much longer and fresher passphrase 42"
	run("A signs in through replica one", ctxA, func(ctx context.Context) error { return one.signIn(ctx, user.password, true) })
	run("the binding is stored", ctxA, func(ctx context.Context) error {
		return waitMetric(ctx, one.admin, `resetgate_session_events_total{event="session_bound"}`, 1)
	})
	run("B resets through replica two", ctxB, func(ctx context.Context) error {
		_, err := two.resetVia(ctx, newPassword, 1, []*url.URL{pub1, pub2})
		return err
	})
	run("replica two counted the revocation", ctxB, func(ctx context.Context) error {
		return waitMetric(ctx, two.admin, `resetgate_events_total{event="sessions_ended"}`, 1)
	})
	run("replica one refuses A's cookie", ctxA, func(ctx context.Context) error {
		// Replica one hears of the revocation at its next poll (every 500 ms): A's requests
		// until then may still pass; the first refused one signs A out for good.
		return waitSignedOut(ctx, one)
	})
	run("A stays signed out", ctxA, func(ctx context.Context) error { return one.wantSignedIn(ctx, false) })
	run("B signs in with the new password", ctxB, func(ctx context.Context) error { return two.signIn(ctx, newPassword, true) })
}

// waitSignedOut repeats A's request until the app answers it as a signed-out visitor.
func waitSignedOut(ctx context.Context, a *sessionApp) error {
	for {
		if err := a.wantSignedIn(ctx, false); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replica one never refused the revoked cookie")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// resetVia is reset for a reset mail whose link may name another replica's public URL (the
// worker of either replica may send it): the token is opened on this replica.
func (a *sessionApp) resetVia(ctx context.Context, password string, n int, publics []*url.URL) (string, error) {
	orig := a.mail
	a.mail = relinked{box: orig, publics: publics, to: a.public}
	defer func() { a.mail = orig }()
	return a.reset(ctx, password, n)
}

// relinked rewrites the reset links of a mailbox's messages onto one replica.
type relinked struct {
	box     mailbox
	publics []*url.URL
	to      string
}

func (r relinked) wait(ctx context.Context, n int) ([]*message, error) {
	msgs, err := r.box.wait(ctx, n)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		for _, u := range r.publics {
			from := strings.TrimSuffix(u.String(), "/")
			m.text = strings.ReplaceAll(m.text, from, r.to)
			m.html = strings.ReplaceAll(m.html, from, r.to)
		}
	}
	return msgs, nil
}

// TestKillBetweenBindingAndReset: a binding that was stored survives kill -9; after the
// restart, the reset still ends the session.
func TestKillBetweenBindingAndReset(t *testing.T) {
	t.Parallel()
	upstream, dsn, user := startFlask(t)
	mp := testenv.Mailpit(t)
	data := t.TempDir()
	o := gateOptions{driver: "postgres", dsn: dsn, upstream: upstream, loginPath: "/login", dataDir: data}
	first := startTrackedGate(t, o, mp, user, "session")
	pub1, _ := url.Parse(first.public)
	ctxA := newBrowser(t, pub1, t.TempDir()).ctx
	run := func(name string, ctx context.Context, f func(ctx context.Context) error) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := f(sctx); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	run("A signs in", ctxA, func(ctx context.Context) error { return first.signIn(ctx, user.password, true) })
	run("the binding is durable", ctxA, func(ctx context.Context) error {
		return waitMetric(ctx, first.admin, `resetgate_session_events_total{event="session_bound"}`, 1)
	})
	if err := first.gate.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.gate.exited
	second := startTrackedGate(t, o, mp, user, "session")
	pub2, _ := url.Parse(second.public)
	// Cookies belong to the host, whatever the port: A's browser sends its cookie to the
	// restarted resetgate too.
	a := *second
	ctxB := newBrowser(t, pub2, t.TempDir()).ctx
	const newPassword = "a much longer and fresher passphrase 42"
	run("A is still signed in through the restarted resetgate", ctxA, func(ctx context.Context) error { return a.wantSignedIn(ctx, true) })
	run("B resets the password", ctxB, func(ctx context.Context) error { _, err := second.reset(ctx, newPassword, 1); return err })
	run("A is signed out on its next request", ctxA, func(ctx context.Context) error { return a.wantSignedIn(ctx, false) })
}
