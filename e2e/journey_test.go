package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"resetgate/reset/passhash"
)

// The passwords the journey types. The weak one is on every common-password list; the good one
// is long, unrelated words that any strength policy accepts.
const (
	weakPassword = "password"
	goodPassword = "Quartz-lantern-meadow-57"
)

// account is the legacy app's user whose password the journey resets.
type account struct{ email, name, password string }

// scenario is one legacy app with resetgate in front of it, started and seeded, ready for the
// journey.
type scenario struct {
	name   string
	public *url.URL // resetgate's public_url: the only origin the browser may talk to
	prefix string
	user   account
	// loginPath is the app's login form (fields email and password); logout is a CSS selector
	// for the sign-out button on the page behind the login.
	loginPath, logout string
	mail              mailbox
	// loggedLink, when set, returns the reset link that resetgate logged (the outbox does).
	loggedLink func(ctx context.Context) (string, error)
	// storedHash reads the user's password column in the app's own database, where the
	// app's own hashes start with one of hashes.
	storedHash func(ctx context.Context) (string, error)
	hashes     []string
	// servers' output must contain none of the bad strings once the journey is over.
	servers []*proc
	bad     []string
}

// journey is one run of the user's story through a scenario.
type journey struct {
	t  *testing.T
	sc *scenario
	b  *browser
}

// runJourney walks issue 6's story in the browser, checking every reset page on the way
// (status, address, heading, both widths, accessibility, third-party requests, console).
func runJourney(t *testing.T, sc *scenario) {
	since := time.Now()
	j := &journey{t: t, sc: sc, b: newBrowser(t, sc.public, screenshotDir(t, sc.name))}
	base := strings.TrimSuffix(sc.public.String(), "/")
	submit := chromedp.Click(chromedp.CSS("form[method=post] button[type=submit]"))

	var oldHash string
	j.step("read the stored hash", func(ctx context.Context) (err error) {
		if oldHash, err = sc.storedHash(ctx); err != nil {
			return err
		}
		for _, p := range sc.hashes {
			if strings.HasPrefix(oldHash, p) {
				return nil
			}
		}
		return fmt.Errorf("the app stored %q, want a hash starting with one of %q", oldHash, sc.hashes)
	})
	j.step("sign in with the old password", func(ctx context.Context) error { return j.signIn(ctx, sc.user.password, true) })
	j.step("sign out", j.signOut)

	j.step("follow the link resetgate added to the app's sign-in page", func(ctx context.Context) error {
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+sc.loginPath))
		if err != nil {
			return err
		}
		if resp.Status != 200 {
			return fmt.Errorf("sign-in page: status %d, want 200", resp.Status)
		}
		link := `p.resetgate-forgot a[href="` + sc.prefix + `"]`
		if ok, err := j.exists(ctx, link); err != nil || !ok {
			return fmt.Errorf("the app's sign-in page has no injected reset link (%s): %v", link, err)
		}
		if _, err := j.b.photograph(ctx, "app-sign-in-with-link", false); err != nil {
			return err
		}
		resp, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(link)))
		return j.resetPage(ctx, resp, err, "request-form", sc.prefix, 200, "Forgot your password?")
	})
	j.step("ask for a link", func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#email"), sc.user.email)); err != nil {
			return err
		}
		resp, err := chromedp.RunResponse(ctx, submit)
		return j.resetPage(ctx, resp, err, "sent", sc.prefix+"/sent", 200, "Check your e-mail")
	})

	var resetMail *message
	var link, token string
	j.step("read the reset mail", func(ctx context.Context) error {
		msgs, err := sc.mail.wait(ctx, 1)
		if err != nil {
			return err
		}
		resetMail = msgs[0]
		problems := checkCommon(resetMail, sc.user.email, sc.public, since)
		if !strings.Contains(strings.ToLower(resetMail.subject), "reset") {
			problems = append(problems, fmt.Sprintf("subject %q does not say reset", resetMail.subject))
		}
		if link, token, err = resetLink(resetMail, sc.public, sc.prefix); err != nil {
			problems = append(problems, err.Error())
		}
		if sc.loggedLink != nil {
			logged, err := sc.loggedLink(ctx)
			if err != nil || logged != link {
				problems = append(problems, fmt.Sprintf("logged link %q (%v), want the mail's %q", logged, err, link))
			}
		}
		return problemsErr(problems)
	})

	j.step("open the link", func(ctx context.Context) error {
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(link))
		if err := j.resetPage(ctx, resp, err, "new-password", sc.prefix+"/new", 200, "Choose a new password"); err != nil {
			return err
		}
		// The redirect took the token out of the address bar; it must not linger in the
		// history either (SECURITY.md RQ-LNK-06).
		hist, err := chromedp.Run(ctx, chromedp.NavigationEntries())
		if err != nil {
			return err
		}
		for _, e := range hist.Entries {
			if strings.Contains(e.URL, token) {
				return fmt.Errorf("the token is still in the history: %s", e.URL)
			}
		}
		return nil
	})
	j.step("a weak password is refused", func(ctx context.Context) error {
		if err := j.fillPasswords(ctx, weakPassword); err != nil {
			return err
		}
		resp, err := chromedp.RunResponse(ctx, submit)
		if err := j.resetPage(ctx, resp, err, "new-password-refused", sc.prefix+"/new", 422, "Choose a new password"); err != nil {
			return err
		}
		reasons, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#problems li")].map(li => li.textContent.trim())`))
		if err != nil {
			return err
		}
		if len(reasons) == 0 || reasons[0] == "" {
			return fmt.Errorf("the page does not explain why %q is refused: reasons %q", weakPassword, reasons)
		}
		if h, err := sc.storedHash(ctx); err != nil || h != oldHash {
			return fmt.Errorf("after a refused password the stored hash is %q (%v), want it unchanged %q", h, err, oldHash)
		}
		return nil
	})
	j.step("a good password, twice", func(ctx context.Context) error {
		if err := j.fillPasswords(ctx, goodPassword); err != nil {
			return err
		}
		resp, err := chromedp.RunResponse(ctx, submit)
		return j.resetPage(ctx, resp, err, "done", sc.prefix+"/done", 200, "Your password was changed")
	})
	j.step("the app's own table has a new hash in the same format", func(ctx context.Context) error {
		h, err := sc.storedHash(ctx)
		if err != nil {
			return err
		}
		if h == oldHash || hashFormat(h) != hashFormat(oldHash) {
			return fmt.Errorf("stored hash %q (%s), want a new one in the format of %q (%s)", h, hashFormat(h), oldHash, hashFormat(oldHash))
		}
		return nil
	})

	j.step("sign in with the new password", func(ctx context.Context) error { return j.signIn(ctx, goodPassword, true) })
	j.step("sign out again", j.signOut)
	j.step("the old password is refused", func(ctx context.Context) error { return j.signIn(ctx, sc.user.password, false) })

	var wasntMe string
	j.step("read the password-changed mail", func(ctx context.Context) error {
		msgs, err := sc.mail.wait(ctx, 2)
		if err != nil {
			return err
		}
		m := msgs[1]
		wasntMe = wasntMeLinkRE.FindString(m.text)
		if wasntMe == "" || !strings.Contains(m.html, wasntMe) {
			return fmt.Errorf("the notice has no this-wasn't-me link in both parts:\n%s", m.text)
		}
		problems := checkCommon(m, sc.user.email, sc.public, since)
		if !strings.Contains(strings.ToLower(m.subject), "changed") {
			problems = append(problems, fmt.Sprintf("subject %q does not say changed", m.subject))
		}
		if strings.Contains(m.text, token) || strings.Contains(m.html, token) {
			problems = append(problems, "the notice repeats the used token")
		}
		if strings.Contains(m.text, goodPassword) || strings.Contains(m.html, goodPassword) {
			problems = append(problems, "the notice contains the new password")
		}
		if m.header.Get("Message-ID") == resetMail.header.Get("Message-ID") {
			problems = append(problems, "the notice has the reset mail's Message-ID "+m.header.Get("Message-ID"))
		}
		return problemsErr(problems)
	})
	j.step("the used link is no longer valid", func(ctx context.Context) error {
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(link))
		return j.resetPage(ctx, resp, err, "invalid", sc.prefix+"/invalid", 200, "This link is no longer valid")
	})

	j.wasntMe(wasntMe, since)

	j.step("no third-party requests, no console errors, no server errors", func(ctx context.Context) error {
		problems := j.b.hygiene()
		for _, p := range sc.servers {
			for _, line := range logProblems(p.out.String(), sc.bad...) {
				problems = append(problems, p.name+" logged: "+line)
			}
		}
		return problemsErr(problems)
	})
	if *docsFlag && sc.name == "flask" {
		j.step("copy the README screenshots", func(context.Context) error { return j.b.copyDocs(filepath.Join("..", "docs", "screenshots")) })
	}
}

// step runs one named step of the journey with a bound on its time; on failure it stops the
// test with the step's name, what went wrong, a screenshot and the page's HTML.
func (j *journey) step(name string, f func(ctx context.Context) error) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.b.ctx, stepTimeout)
	defer cancel()
	if err := f(ctx); err != nil {
		shot := j.b.failShot(name)
		j.t.Fatalf("%s: step %q failed:\n%v\nscreenshot: %s\npage HTML %s", j.sc.name, name, err, shot, j.b.html())
	}
}

// resetPage checks a page of resetgate's that the browser has just loaded: its status, its
// address (on the public origin, with no query string), its heading, then both widths
// (photographed), the accessibility smoke check and the hygiene of everything so far.
func (j *journey) resetPage(ctx context.Context, resp *network.Response, err error, name, wantPath string, wantStatus int64, wantH1 string) error {
	if err != nil {
		return err
	}
	if resp == nil {
		return errors.New("no response for the page")
	}
	var problems []string
	if resp.Status != wantStatus {
		problems = append(problems, fmt.Sprintf("status %d, want %d", resp.Status, wantStatus))
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return err
	}
	if u, err := url.Parse(loc); err != nil || u.Host != j.sc.public.Host || u.Path != wantPath || u.RawQuery != "" {
		problems = append(problems, fmt.Sprintf("address bar %s, want %s%s", loc, j.sc.public, wantPath))
	}
	h1, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("h1") || {textContent: ""}).textContent.trim()`))
	if err != nil {
		return err
	}
	if !strings.Contains(h1, wantH1) {
		problems = append(problems, fmt.Sprintf("heading %q, want %q", h1, wantH1))
	}
	if len(problems) > 0 {
		// The wrong page: the checks below would only add noise.
		return problemsErr(problems)
	}
	more, err := j.b.photograph(ctx, name, true)
	if err != nil {
		return err
	}
	problems = append(problems, more...)
	if more, err = j.b.accessibility(ctx); err != nil {
		return err
	}
	problems = append(problems, more...)
	problems = append(problems, j.b.hygiene()...)
	return problemsErr(problems)
}

// signIn uses the legacy app's own login form, as the user does after the reset, and checks
// that the app lets the user in (wantOK) or refuses the password.
func (j *journey) signIn(ctx context.Context, password string, wantOK bool) error {
	base := strings.TrimSuffix(j.sc.public.String(), "/")
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+j.sc.loginPath))
	if err != nil {
		return err
	}
	if resp.Status != 200 {
		return fmt.Errorf("login form: status %d, want 200", resp.Status)
	}
	if _, err := j.b.photograph(ctx, "app-sign-in", false); err != nil {
		return err
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("input[name=email]"), j.sc.user.email),
		chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
	); err != nil {
		return err
	}
	resp, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("form[method=post] button[type=submit]")))
	if err != nil {
		return err
	}
	signedIn, err := j.exists(ctx, j.sc.logout)
	if err != nil {
		return err
	}
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		return err
	}
	if wantOK {
		if resp.Status != 200 || !signedIn || !strings.Contains(body, j.sc.user.email) {
			return fmt.Errorf("signing in with %q: status %d, signed in %v; want 200 and the page behind the login", password, resp.Status, signedIn)
		}
		_, err = j.b.photograph(ctx, "app-signed-in", false)
		return err
	}
	if resp.Status != 401 || signedIn {
		return fmt.Errorf("signing in with the old password %q: status %d, signed in %v; want 401 and refused", password, resp.Status, signedIn)
	}
	_, err = j.b.photograph(ctx, "app-sign-in-refused", false)
	return err
}

// signOut presses the app's sign-out button and checks that the app forgot the user.
func (j *journey) signOut(ctx context.Context) error {
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(j.sc.logout)))
	if err != nil {
		return err
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return err
	}
	still, err := j.exists(ctx, j.sc.logout)
	if err != nil {
		return err
	}
	if resp.Status != 200 || still || !strings.HasSuffix(loc, j.sc.loginPath) {
		return fmt.Errorf("signing out: status %d at %s, still signed in %v; want the login form", resp.Status, loc, still)
	}
	return nil
}

// fillPasswords types the new password into both fields, emptying them first (a refused
// submission may leave them filled, depending on the page).
func (j *journey) fillPasswords(ctx context.Context, pw string) error {
	for _, sel := range []string{"#password", "#password2"} {
		// Emptied through the property, not chromedp.Clear: Clear sets the value attribute,
		// and the attributeModified event it causes races with SendKeys' unlocked read of
		// the node's attributes (chromedp v0.23.0 query.go; a data race seen in CI).
		if err := chromedp.Do(ctx,
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf("document.querySelector(%q).value = ''", sel)),
			chromedp.SendKeys(chromedp.CSS(sel), pw),
		); err != nil {
			return err
		}
	}
	return nil
}

// exists reports whether the page has an element matching the CSS selector, without waiting.
func (j *journey) exists(ctx context.Context, sel string) (bool, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q) !== null", sel)))
}

// hashFormat is a stored hash's scheme and variant (its cost may rise: [users]
// upgrade_cost raises outdated costs to today's minimums, which the app verifies as well).
func hashFormat(h string) string {
	info, err := passhash.Describe(h)
	if err != nil {
		return "unrecognised: " + err.Error()
	}
	return info.Scheme + " " + info.Variant
}

func problemsErr(problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return errors.New("- " + strings.Join(problems, "\n- "))
}

// docPages are the four pages the README shows.
var docPages = []string{"request-form", "sent", "new-password", "done"}

// copyDocs copies the README's screenshots ({page}-{width}.png) into dir.
func (b *browser) copyDocs(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, page := range docPages {
		for _, w := range widths {
			src := b.saved[page][w.w]
			png, err := os.ReadFile(src)
			if err != nil {
				return fmt.Errorf("screenshot of %s at %d: %w", page, w.w, err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", page, w.w)), png, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
