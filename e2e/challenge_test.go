package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"resetgate/examples/demoapp"
)

// challengeConfig is resetgate with the request form's proof of work always on, at the
// default difficulty, in front of the demo app's SQLite users.
const challengeConfig = `listen     = "127.0.0.1:%d"
public_url = %q
upstream   = %q
data_dir   = %q
log_format = "json"

[users]
driver  = "sqlite"
dsn_env = "LEGACY_DSN"

[mail]
transport = "outbox"
from      = "Demo <no-reply@example.com>"

[abuse]
challenge = "always"

[admin]
listen = ""
`

// TestChallengeInChromium (issue 16, finding 9): Chromium solves the request form's proof of
// work with the page's own script, under the strict CSP, and the link is mailed; with
// JavaScript off, the page says plainly what to do.
func TestChallengeInChromium(t *testing.T) {
	t.Parallel()
	needChromium(t)
	bin := resetgateBinary(t)
	dir := t.TempDir()
	users := filepath.Join(dir, "users.db")
	app, err := demoapp.Open(t.Context(), users)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	up := httptest.NewServer(app)
	t.Cleanup(up.Close)

	var public *url.URL
	startOnFreePort(t, "resetgate", func(port int) *exec.Cmd {
		public = &url.URL{Scheme: "http", Host: net.JoinHostPort("localhost", strconv.Itoa(port))}
		cfg := filepath.Join(dir, fmt.Sprintf("config-%d.toml", port))
		body := fmt.Sprintf(challengeConfig, port, public.String(), up.URL, filepath.Join(dir, "data"))
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "serve", "-config", cfg)
		cmd.Env = append(os.Environ(), "LEGACY_DSN=file:"+users+"?_pragma=busy_timeout(5000)")
		return cmd
	}, func(ctx context.Context, p *proc, port int) error {
		_, err := waitLog(ctx, p, "resetgate listening")
		return err
	})

	b := newBrowser(t, public, screenshotDir(t, "challenge"))
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	form := public.String() + "/pwreset"
	if err := chromedp.Do(ctx,
		chromedp.Navigate(form),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), demoapp.Email),
		// Sent at once: the script holds the form until its answer is found, then sends it.
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
	); err != nil {
		t.Fatalf("the request form with the proof of work: %v\n%s", err, b.html())
	}
	// The page navigates when the answer is found; asking in between may meet a page that
	// is going away, so the question is repeated until the answer page is there.
	for loc := ""; loc != public.String()+"/pwreset/sent"; {
		if ctx.Err() != nil {
			t.Fatalf("the form with the proof of work did not reach /pwreset/sent: at %s\n%s", loc, b.html())
		}
		time.Sleep(50 * time.Millisecond)
		loc, _ = chromedp.Run(ctx, chromedp.Location())
	}
	mctx, mcancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer mcancel()
	msgs, err := outboxBox{filepath.Join(dir, "data", "outbox")}.wait(mctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := resetLink(msgs[0], public, "/pwreset"); err != nil {
		t.Errorf("the mail after the solved form: %v", err)
	}
	if problems := b.hygiene(); len(problems) > 0 {
		t.Errorf("browser hygiene: %s", strings.Join(problems, "; "))
	}

	// Without JavaScript: the form says what to do, and sending it anyway explains again.
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(form)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "turn JavaScript on for this site") {
		t.Errorf("the form without JavaScript does not say what to do:\n%s", text)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#email"), demoapp.Email),
		chromedp.Submit(chromedp.CSS("#email")),
		chromedp.WaitVisible(chromedp.CSS("#problems")),
	); err != nil {
		t.Fatal(err)
	}
	if text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#problems"))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Turn JavaScript on") {
		t.Errorf("the form sent without JavaScript answers %q, want what to do", text)
	}
}
