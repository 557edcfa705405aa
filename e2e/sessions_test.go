package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"resetgate/internal/testenv"
)

// Session tracking (issue 11) with real Chromium: browser context A signs in to the app,
// context B resets the password, and A is signed out on its next request while B signs in
// with the new password.

// sessionApp is an app behind resetgate, started, with tracking on.
type sessionApp struct {
	public    string // resetgate's public URL, no trailing slash
	loginPath string
	user      account
	mail      mailbox
	admin     string // the admin listener's base URL, for /metrics
	gate      *proc
}

// trackingConfig is the [app] section of the scenarios.
func trackingConfig(loginPath string, cookies ...string) string {
	return fmt.Sprintf("\n[app]\nlogin_path = %q\nsession_cookies = [%s]\n", loginPath, `"`+strings.Join(cookies, `", "`)+`"`)
}

// startFlask starts examples/flask on PostgreSQL, seeded, and returns its address and DSN.
func startFlask(t *testing.T) (upstream, dsn string, user account) {
	t.Helper()
	python := testenv.Env("E2E_PYTHON", "/usr/bin/python3")
	testenv.Need(t, "python3-flask and python3-psycopg2 (apt-get install python3-flask python3-psycopg2)",
		runTool(t.Context(), "", nil, python, "-c", "import flask, psycopg2, werkzeug"))
	needChromium(t)
	dsn = testenv.Postgres(t)
	appDir, err := filepath.Abs(filepath.Join("..", "examples", "flask"))
	if err != nil {
		t.Fatal(err)
	}
	user = account{email: "alice@example.com", name: "Alice", password: "wonderland"}
	env := []string{"DATABASE_URL=" + dsn, "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"}
	if err := runTool(t.Context(), appDir, env, python, "seed.py", user.email, user.name, user.password); err != nil {
		t.Fatal(err)
	}
	_, appPort := startOnFreePort(t, "flask app", func(port int) *exec.Cmd {
		cmd := exec.Command(python, "app.py")
		cmd.Dir = appDir
		cmd.Env = slices.Concat(os.Environ(), env, []string{"SECRET_KEY=" + rand.Text(), "HOST=127.0.0.1", "PORT=" + strconv.Itoa(port)})
		return cmd
	}, func(ctx context.Context, p *proc, port int) error {
		return waitHTTP(ctx, p, fmt.Sprintf("http://127.0.0.1:%d/login", port))
	})
	return fmt.Sprintf("http://127.0.0.1:%d", appPort), dsn, user
}

// startTrackedGate starts resetgate in front of upstream with session tracking on and an
// admin listener; o's driver, dsn, loginPath and extra say the rest.
func startTrackedGate(t *testing.T, o gateOptions, mp *testenv.MailpitServer, user account, cookies ...string) *sessionApp {
	t.Helper()
	adminPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	host, port := mp.SMTPAddr()
	admin := "127.0.0.1:" + strconv.Itoa(adminPort)
	o.site, o.smtpHost, o.smtpPort, o.admin = "Example App", host, port, admin
	o.extra = trackingConfig(o.loginPath, cookies...) + o.extra
	public, gate := startResetgate(t, o)
	return &sessionApp{public: strings.TrimSuffix(public.String(), "/"), loginPath: o.loginPath, user: user,
		mail: mailpitBox{mp}, admin: "http://" + admin, gate: gate}
}

// startFlaskTracked starts examples/flask on PostgreSQL behind resetgate with tracking on.
func startFlaskTracked(t *testing.T) *sessionApp {
	t.Helper()
	upstream, dsn, user := startFlask(t)
	mp := testenv.Mailpit(t)
	return startTrackedGate(t, gateOptions{driver: "postgres", dsn: dsn, upstream: upstream, loginPath: "/login"}, mp, user, "session")
}

func TestFlaskSessionsEndAtReset(t *testing.T) {
	t.Parallel()
	app := startFlaskTracked(t)
	testSessionsEndAtReset(t, app)
}

// testSessionsEndAtReset is the browser case, for any app whose sign-in form has the
// fields email and password and whose home page "/" names the signed-in user.
func testSessionsEndAtReset(t *testing.T, app *sessionApp) {
	pub, err := url.Parse(app.public)
	if err != nil {
		t.Fatal(err)
	}
	// Two browsers, each with its own profile: two people's cookie jars. (Two browser
	// contexts of one Chromium share it, but chromedp then misses the load events of the
	// page that is not in front.)
	ctxA := newBrowser(t, pub, t.TempDir()).ctx
	ctxB := newBrowser(t, pub, t.TempDir()).ctx
	const newPassword = "a much longer and fresher passphrase 42"
	step := func(name string, ctx context.Context, f func(ctx context.Context) error) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := f(sctx); err != nil {
			t.Fatalf("%s: %v\ngate log:\n%s", name, err, tail(app.gate.out.String(), 30, ""))
		}
	}
	step("A signs in", ctxA, func(ctx context.Context) error { return app.signIn(ctx, app.user.password, true) })
	step("A's binding is stored", ctxA, func(ctx context.Context) error {
		return waitMetric(ctx, app.admin, `resetgate_session_events_total{event="session_bound"}`, 1)
	})
	step("A is signed in on its next request", ctxA, func(ctx context.Context) error { return app.wantSignedIn(ctx, true) })

	step("B resets the password", ctxB, func(ctx context.Context) error {
		body, err := app.reset(ctx, newPassword, 1)
		if err != nil {
			return err
		}
		if !strings.Contains(body, "Every other sign-in to your account was ended") {
			return fmt.Errorf("the done page does not say the other sign-ins were ended:\n%s", body)
		}
		return nil
	})
	step("A is signed out on its next request", ctxA, func(ctx context.Context) error { return app.wantSignedIn(ctx, false) })
	step("B signs in with the new password", ctxB, func(ctx context.Context) error { return app.signIn(ctx, newPassword, true) })
	step("B stays signed in", ctxB, func(ctx context.Context) error { return app.wantSignedIn(ctx, true) })
	step("A signs in again with the new password", ctxA, func(ctx context.Context) error { return app.signIn(ctx, newPassword, true) })
	step("the changed notice says so", ctxB, func(ctx context.Context) error {
		msgs, err := app.mail.wait(ctx, 2)
		if err != nil {
			return err
		}
		if m := msgs[1]; !strings.Contains(m.text, "Every other sign-in") {
			return fmt.Errorf("the changed notice does not say the other sign-ins were ended:\n%s", m.text)
		}
		return nil
	})
	step("revocations are counted", ctxB, func(ctx context.Context) error {
		return waitMetric(ctx, app.admin, `resetgate_events_total{event="sessions_ended"}`, 1)
	})
	if bad := logProblems(app.gate.out.String(), resetgateBad...); len(bad) > 0 {
		t.Errorf("resetgate logged errors: %q", bad)
	}
}

// submit sends the page's form. Through JavaScript rather than key and mouse events: those
// reach only the browser's active page, and two browser contexts take turns here.
var submit = chromedp.Submit(chromedp.CSS("form[method=post]"))

// signIn fills the app's sign-in form and reports whether the app let the user in.
func (a *sessionApp) signIn(ctx context.Context, password string, wantOK bool) error {
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(a.public+a.loginPath)); err != nil {
		return fmt.Errorf("open the sign-in page: %w", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("input[name=email]"), a.user.email),
		chromedp.SetValue(chromedp.CSS("input[name=password]"), password),
	); err != nil {
		return fmt.Errorf("fill the sign-in form: %w", err)
	}
	if _, err := chromedp.RunResponse(ctx, submit); err != nil {
		return fmt.Errorf("submit the sign-in form: %w", err)
	}
	return a.wantSignedIn(ctx, wantOK)
}

// wantSignedIn opens the app's home page, which shows the user's address when signed in.
func (a *sessionApp) wantSignedIn(ctx context.Context, want bool) error {
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(a.public+"/")); err != nil {
		return err
	}
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		return err
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return err
	}
	if got := strings.Contains(body, a.user.email) && !strings.Contains(loc, a.loginPath); got != want {
		return fmt.Errorf("signed in = %v at %s, want %v; page:\n%s", got, loc, want, body)
	}
	return nil
}

// reset asks for a link, reads mail number n, and sets password; it returns the done page.
func (a *sessionApp) reset(ctx context.Context, password string, n int) (string, error) {
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(a.public+"/pwreset")); err != nil {
		return "", err
	}
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#email"), a.user.email)); err != nil {
		return "", err
	}
	if _, err := chromedp.RunResponse(ctx, submit); err != nil {
		return "", err
	}
	msgs, err := a.mail.wait(ctx, n)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(a.public)
	if err != nil {
		return "", err
	}
	link, _, err := resetLink(msgs[n-1], u, "/pwreset")
	if err != nil {
		return "", err
	}
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(link)); err != nil {
		return "", err
	}
	for _, sel := range []string{"#password", "#password2"} {
		if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(sel), password)); err != nil {
			return "", err
		}
	}
	resp, err := chromedp.RunResponse(ctx, submit)
	if err != nil {
		return "", err
	}
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		return "", err
	}
	if resp.Status != 200 || !strings.Contains(body, "Your password was changed") {
		return "", fmt.Errorf("completing the reset: status %d, page:\n%s", resp.Status, body)
	}
	return body, nil
}

// waitMetric polls /metrics until the sample named by series (name{labels}) reaches min.
func waitMetric(ctx context.Context, admin, series string, min float64) error {
	var last string
	for {
		if v, err := metricValue(ctx, admin, series); err == nil && v >= min {
			return nil
		} else {
			last = fmt.Sprint(v, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never reached %v (last: %s)", series, min, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func metricValue(ctx context.Context, admin, series string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no %s in /metrics", series)
}
