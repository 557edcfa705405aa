package e2e

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// mailCodeRE finds the typed code in the reset mail's text (issue 14, item 1).
var mailCodeRE = regexp.MustCompile(`e-mail address: ([0-9A-Z]{4}-[0-9A-Z]{4})`)

// The typed code with real Chromium: browser A asks for a link, the code is read from the
// mail, and browser B, another profile as on another device, types it in small letters with
// a space, sets a new password and signs in with it; A's mailed link is dead by then.
func TestFlaskCodeOnAnotherDevice(t *testing.T) {
	t.Parallel()
	app := startFlaskTracked(t)
	pub, err := url.Parse(app.public)
	if err != nil {
		t.Fatal(err)
	}
	ctxA := newBrowser(t, pub, t.TempDir()).ctx
	bB := newBrowser(t, pub, t.TempDir())
	ctxB := bB.ctx
	const newPassword = "a typed code and a fresh passphrase 7"
	step := func(name string, ctx context.Context, f func(ctx context.Context) error) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := f(sctx); err != nil {
			t.Fatalf("%s: %v\ngate log:\n%s", name, err, tail(app.gate.out.String(), 30, ""))
		}
	}
	text := func(ctx context.Context) (string, error) {
		return chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	}

	step("A asks for a link", ctxA, func(ctx context.Context) error {
		if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(app.public+"/pwreset")); err != nil {
			return err
		}
		if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#email"), app.user.email)); err != nil {
			return err
		}
		if _, err := chromedp.RunResponse(ctx, submit); err != nil {
			return err
		}
		body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('a[href="/pwreset/code"]') ? document.body.innerText : ""`))
		if err != nil || !strings.Contains(body, "Enter the code instead") {
			return fmt.Errorf("the sent page has no link to the code page (%v):\n%s", err, body)
		}
		return nil
	})
	var link, code string
	step("read the code from the mail", ctxA, func(ctx context.Context) error {
		msgs, err := app.mail.wait(ctx, 1)
		if err != nil {
			return err
		}
		m := mailCodeRE.FindStringSubmatch(msgs[0].text)
		if m == nil || !strings.Contains(msgs[0].html, m[1]) {
			return fmt.Errorf("the reset mail has no code in both parts:\n%s", msgs[0].text)
		}
		code = m[1]
		link, _, err = resetLink(msgs[0], pub, "/pwreset")
		return err
	})
	step("B types the code, leniently", ctxB, func(ctx context.Context) error {
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(app.public+"/pwreset/code"))
		if err != nil || resp.Status != 200 {
			return fmt.Errorf("open the code page: %v (status %v)", err, resp)
		}
		ac, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#code').getAttribute('autocomplete')`))
		if err != nil || ac != "one-time-code" {
			return fmt.Errorf("the code field's autocomplete is %q (%v), want one-time-code", ac, err)
		}
		// The page fits both widths, is labelled and reachable by keyboard, like every other.
		problems, err := bB.photograph(ctx, "code", true)
		if err != nil {
			return err
		}
		more, err := bB.accessibility(ctx)
		if err != nil {
			return err
		}
		if problems = append(append(problems, more...), bB.hygiene()...); len(problems) > 0 {
			return problemsErr(problems)
		}
		typed := strings.ToLower(strings.Replace(code, "-", " ", 1))
		if err := chromedp.Do(ctx,
			chromedp.SetValue(chromedp.CSS("#email"), app.user.email),
			chromedp.SetValue(chromedp.CSS("#code"), typed),
		); err != nil {
			return err
		}
		if _, err := chromedp.RunResponse(ctx, submit); err != nil {
			return err
		}
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			return err
		}
		if !strings.HasSuffix(loc, "/pwreset/new") {
			body, _ := text(ctx)
			return fmt.Errorf("after the code B is at %s, want /pwreset/new; page:\n%s", loc, body)
		}
		return nil
	})
	step("B sets a new password", ctxB, func(ctx context.Context) error {
		for _, sel := range []string{"#password", "#password2"} {
			if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(sel), newPassword)); err != nil {
				return err
			}
		}
		if _, err := chromedp.RunResponse(ctx, submit); err != nil {
			return err
		}
		body, err := text(ctx)
		if err != nil || !strings.Contains(body, "Your password was changed") {
			return fmt.Errorf("completing the reset (%v), page:\n%s", err, body)
		}
		return nil
	})
	step("B signs in with the new password", ctxB, func(ctx context.Context) error { return app.signIn(ctx, newPassword, true) })
	step("A's mailed link died with the code", ctxA, func(ctx context.Context) error {
		if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(link)); err != nil {
			return err
		}
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil || !strings.HasSuffix(loc, "/pwreset/invalid") {
			return fmt.Errorf("A's link opened %s (%v), want /pwreset/invalid", loc, err)
		}
		return nil
	})
	if bad := logProblems(app.gate.out.String(), resetgateBad...); len(bad) > 0 {
		t.Errorf("resetgate logged errors: %q", bad)
	}
}
