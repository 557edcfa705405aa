package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"resetgate/internal/testenv"
)

// lookApp is one example app for TestAppLook: how to start it, and its [ui] settings.
type lookApp struct {
	name, site string
	start      func(t *testing.T) (upstream, driver, dsn string)
	loginPath  string
	ui         string // the [ui] keys of the themed pages
}

var lookApps = []lookApp{
	{name: "flask", site: "Example Flask App", start: startFlaskExample, loginPath: "/login", ui: `brand = "Example Flask App"
logo_url = "/static/logo.svg"
accent_color = "#0f766e"
stylesheets = ["/static/app.css"]
`},
	{name: "php", site: "Example PHP App", start: startPHPExample, loginPath: "/login.php", ui: `brand = "Example PHP App"
logo_url = "/static/logo.svg"
accent_color = "#6d28d9"
stylesheets = ["/static/app.css"]
`},
}

// TestAppLook is issue 12's [ui] on the Flask and PHP examples in Chromium: the themed pages
// (brand, logo, accent, the app's stylesheet) and the wrapped pages (wrap_path: the app's own
// header, navigation and footer around the reset form, none of the app's forms or scripts),
// both through the request form to the "sent" page, with no console error (a CSP refusal
// included) and no request to another origin. With -docs the pictures go to docs/screenshots.
func TestAppLook(t *testing.T) {
	for _, app := range lookApps {
		t.Run(app.name, func(t *testing.T) {
			t.Parallel()
			needChromium(t)
			upstream, driver, dsn := app.start(t)
			mp := testenv.Mailpit(t)
			host, port := mp.SMTPAddr()
			for _, mode := range []struct{ name, ui string }{
				{"themed", app.ui},
				{"wrapped", app.ui + fmt.Sprintf("wrap_path = %q\nwrap_selector = \"main\"\n", app.loginPath)},
			} {
				public, gate := startResetgate(t, gateOptions{driver: driver, dsn: dsn, upstream: upstream, site: app.site,
					smtpHost: host, smtpPort: port, loginPath: app.loginPath, extra: "\n[ui]\n" + mode.ui})
				name := app.name + "-" + mode.name
				sc := &scenario{name: name, public: public, prefix: "/pwreset"}
				j := &journey{t: t, sc: sc, b: newBrowser(t, public, screenshotDir(t, name))}
				base := strings.TrimSuffix(public.String(), "/")
				if mode.name == "wrapped" {
					// The copy is fetched in the background at start-up: wait for it.
					j.step("wait for the app's page", func(ctx context.Context) error {
						_, err := waitLog(ctx, gate, "wrap: the reset pages wear the app's page")
						return err
					})
				}
				j.step("click the link on the app's sign-in page", func(ctx context.Context) error {
					if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+app.loginPath)); err != nil {
						return err
					}
					resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`p.resetgate-forgot a[href="/pwreset"]`)))
					if err := j.resetPage(ctx, resp, err, name, "/pwreset", 200, "Forgot your password?"); err != nil {
						return err
					}
					return checkLook(ctx, j, mode.name == "wrapped")
				})
				// Themed pages ask for an address without an account; wrapped ones go all the way.
				email := "nobody@example.com"
				if mode.name == "wrapped" {
					email = "alice@example.com"
				}
				j.step("ask for a link", func(ctx context.Context) error {
					if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#email"), email)); err != nil {
						return err
					}
					resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/pwreset"] button[type=submit]`)))
					if err := j.resetPage(ctx, resp, err, name+"-sent", "/pwreset/sent", 200, "Check your e-mail"); err != nil {
						return err
					}
					return checkLook(ctx, j, mode.name == "wrapped")
				})
				if mode.name == "wrapped" {
					finishWrapped(t, j, mailpitBox{mp}, app, name)
				}
				j.step("no errors in the logs", func(context.Context) error {
					return problemsErr(logProblems(gate.out.String(), resetgateBad...))
				})
				if *docsFlag {
					j.step("copy the README screenshots", func(context.Context) error {
						return j.b.copyShots(filepath.Join("..", "docs", "screenshots"), name)
					})
				}
			}
		})
	}
}

// finishWrapped reads the reset mail (in the app's brand and colour), opens its link and sets
// a new password, each page wrapped in the app's page, then reads the password-changed mail.
func finishWrapped(t *testing.T, j *journey, box mailbox, app lookApp, name string) {
	t.Helper()
	var link string
	j.step("read the branded reset mail", func(ctx context.Context) error {
		msgs, err := box.wait(ctx, 1)
		if err != nil {
			return err
		}
		m := msgs[0]
		if link, _, err = resetLink(m, j.sc.public, j.sc.prefix); err != nil {
			return err
		}
		return checkMailLook(m, app, j.sc.public.String())
	})
	j.step("open the link", func(ctx context.Context) error {
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(link))
		if err := j.resetPage(ctx, resp, err, name+"-new-password", "/pwreset/new", 200, "Choose a new password"); err != nil {
			return err
		}
		return checkLook(ctx, j, true)
	})
	j.step("set a new password", func(ctx context.Context) error {
		if err := j.fillPasswords(ctx, goodPassword); err != nil {
			return err
		}
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/pwreset/new"] button[type=submit]`)))
		if err := j.resetPage(ctx, resp, err, name+"-done", "/pwreset/done", 200, "Your password was changed"); err != nil {
			return err
		}
		return checkLook(ctx, j, true)
	})
	j.step("read the branded password-changed mail", func(ctx context.Context) error {
		msgs, err := box.wait(ctx, 2)
		if err != nil {
			return err
		}
		return checkMailLook(msgs[1], app, j.sc.public.String())
	})
}

// checkMailLook checks that an HTML mail wears the app's brand, logo (absolute, from
// public_url) and accent colour, and that its text part stays plain.
func checkMailLook(m *message, app lookApp, public string) error {
	var problems []string
	accent := app.ui[strings.Index(app.ui, "#") : strings.Index(app.ui, "#")+7]
	for _, want := range []string{app.site, `src="` + strings.TrimSuffix(public, "/") + `/static/logo.svg"`, accent} {
		if !strings.Contains(m.html, want) {
			problems = append(problems, fmt.Sprintf("the HTML part lacks %q", want))
		}
	}
	if strings.Contains(m.text, "#") || strings.Contains(m.text, "<") {
		problems = append(problems, "the text part is not plain:\n"+m.text)
	}
	return problemsErr(problems)
}

// checkLook checks the current page's [ui] look: the logo and the app's stylesheet when
// themed; the app's header and footer around the reset content, and nothing of the app's
// forms or scripts, when wrapped.
func checkLook(ctx context.Context, j *journey, wrapped bool) error {
	type check struct{ sel, what string }
	want := []check{{`link[rel=stylesheet][href="/static/app.css"]`, "the app's stylesheet"}}
	unwanted := []check{}
	if wrapped {
		want = append(want, check{"header.top nav", "the app's header and navigation"}, check{"footer.bottom", "the app's footer"},
			check{"main > .resetgate-page h1", "the reset content in the app's main element"})
		unwanted = append(unwanted, check{`form:not([action^="/pwreset"])`, "a form of the app"},
			check{`script:not([src^="/pwreset/static/"])`, "a script of the app"}, check{"header.site", "resetgate's own header"})
	} else {
		want = append(want, check{`header.site img.logo[src="/static/logo.svg"][alt]`, "the app's logo in resetgate's header"})
	}
	var problems []string
	for _, c := range want {
		if ok, err := j.exists(ctx, c.sel); err != nil || !ok {
			problems = append(problems, fmt.Sprintf("no %s (%s)", c.what, c.sel))
		}
	}
	for _, c := range unwanted {
		if ok, err := j.exists(ctx, c.sel); err != nil || ok {
			problems = append(problems, fmt.Sprintf("%s is on the page (%s)", c.what, c.sel))
		}
	}
	// The images must have loaded: same origin, allowed by the CSP.
	broken, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)`))
	if err != nil {
		return err
	}
	for _, src := range broken {
		problems = append(problems, "image did not load: "+src)
	}
	return problemsErr(problems)
}

// copyShots copies the pictures of page (both widths) to dir as {page}-{width}.png.
func (b *browser) copyShots(dir, page string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, w := range widths {
		png, err := os.ReadFile(b.saved[page][w.w])
		if err != nil {
			return fmt.Errorf("screenshot of %s at %d: %w", page, w.w, err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", page, w.w)), png, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// startFlaskExample seeds and starts examples/flask on PostgreSQL, as TestFlaskPostgres does.
func startFlaskExample(t *testing.T) (upstream, driver, dsn string) {
	python := testenv.Env("E2E_PYTHON", "/usr/bin/python3")
	testenv.Need(t, "python3-flask and python3-psycopg2 (apt-get install python3-flask python3-psycopg2)",
		runTool(t.Context(), "", nil, python, "-c", "import flask, psycopg2, werkzeug"))
	dsn = testenv.Postgres(t)
	appDir, err := filepath.Abs(filepath.Join("..", "examples", "flask"))
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"DATABASE_URL=" + dsn, "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"}
	if err := runTool(t.Context(), appDir, env, python, "seed.py", "alice@example.com", "Alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	_, port := startOnFreePort(t, "flask app", func(port int) *exec.Cmd {
		cmd := exec.Command(python, "app.py")
		cmd.Dir = appDir
		cmd.Env = slices.Concat(os.Environ(), env, []string{"SECRET_KEY=" + rand.Text(), "HOST=127.0.0.1", "PORT=" + strconv.Itoa(port)})
		return cmd
	}, func(ctx context.Context, p *proc, port int) error {
		return waitHTTP(ctx, p, fmt.Sprintf("http://127.0.0.1:%d/login", port))
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port), "postgres", dsn
}

// startPHPExample seeds and starts examples/php on MariaDB, as TestPHPMariaDB does.
func startPHPExample(t *testing.T) (upstream, driver, dsn string) {
	php := runPHPExample(t, account{email: "alice@example.com", name: "Alice", password: "wonderland"})
	return php.upstream, "mysql", php.dsn
}
