package e2e

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/chromedp/chromedp"
)

// wasntMeLinkRE finds the "this wasn't me" link in the notice's text.
var wasntMeLinkRE = regexp.MustCompile(`https?://[^/\s]+/[a-z0-9/_-]*?/wasnt-me/[A-Za-z0-9_-]+`)

// wasntMe continues the journey with the "password changed" notice's "this wasn't me" link
// (issue 11): the page it opens, the confirmation, and the fresh reset mail that follows.
func (j *journey) wasntMe(wasntMe string, since time.Time) {
	submit := chromedp.Click(chromedp.CSS("form[method=post] button[type=submit]"))
	j.step("open the this-wasn't-me link", func(ctx context.Context) error {
		u, err := url.Parse(wasntMe)
		if err != nil || u.Host != j.sc.public.Host {
			return fmt.Errorf("this-wasn't-me link %q is not on the public origin", wasntMe)
		}
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(wasntMe))
		return j.resetPage(ctx, resp, err, "wasnt-me", u.Path, 200, "Wasn't you?")
	})
	j.step("confirm it wasn't me", func(ctx context.Context) error {
		resp, err := chromedp.RunResponse(ctx, submit)
		return j.resetPage(ctx, resp, err, "wasnt-me-done", j.sc.prefix+"/wasnt-me", 200, "Your account is being secured")
	})
	j.step("read the fresh reset mail", func(ctx context.Context) error {
		msgs, err := j.sc.mail.wait(ctx, 3)
		if err != nil {
			return err
		}
		problems := checkCommon(msgs[2], j.sc.user.email, j.sc.public, since)
		if _, _, err := resetLink(msgs[2], j.sc.public, j.sc.prefix); err != nil {
			problems = append(problems, err.Error())
		}
		return problemsErr(problems)
	})
}
