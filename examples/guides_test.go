// Package examples_test follows each guide under examples/ literally: it runs the commands the
// guide marks (see parseGuide) on this machine, with the real PostgreSQL or MariaDB, Mailpit
// and a resetgate built from this clone, then walks the reset through HTTP as a user would and
// signs in with the new password. A guide command that breaks fails the test.
package examples_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"resetgate/internal/testenv"
)

type guide struct {
	dir      string // under examples/
	prefix   string // the names the guide creates start with it
	appPort  int
	login    string // the app's sign-in path
	signedIn string // what the app's home page says to a signed-in user
	needDB   func(t *testing.T) (admin string, cleanup func(t *testing.T, name string))
}

func TestFlaskGuide(t *testing.T) {
	t.Parallel() // each run has its own names and ports
	followGuide(t, guide{dir: "flask", prefix: "flaskdemo", appPort: 5000, login: "/login",
		signedIn: "you are signed in as <strong>alice@example.com</strong>", needDB: needPostgres})
}

func TestPHPGuide(t *testing.T) {
	t.Parallel()
	followGuide(t, guide{dir: "php", prefix: "phpdemo", appPort: 8000, login: "/login.php",
		signedIn: "you are signed in as <strong>alice@example.com</strong>", needDB: needMariaDB})
}

// needPostgres checks that the machine's PostgreSQL answers and returns how to drop what the
// guide creates under name.
func needPostgres(t *testing.T) (string, func(*testing.T, string)) {
	testenv.Postgres(t) // skips, or fails in CI, when PostgreSQL is not there
	return "postgres", func(t *testing.T, name string) {
		for _, sql := range []string{
			"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)",
			"DROP ROLE IF EXISTS " + name + "_resetgate", "DROP ROLE IF EXISTS " + name,
		} {
			if out, err := exec.Command("psql", "-h", "127.0.0.1", "-U", "postgres", "-qAtc", sql).CombinedOutput(); err != nil {
				t.Errorf("cleanup %q: %v %s", sql, err, out)
			}
		}
	}
}

func needMariaDB(t *testing.T) (string, func(*testing.T, string)) {
	testenv.MySQL(t)
	return "mariadb", func(t *testing.T, name string) {
		sql := fmt.Sprintf("DROP DATABASE IF EXISTS %[1]s; DROP USER IF EXISTS %[1]s@'127.0.0.1', %[1]s_resetgate@'127.0.0.1'", name)
		if out, err := exec.Command("mariadb", "-h", "127.0.0.1", "-u", "root", "-e", sql).CombinedOutput(); err != nil {
			t.Errorf("cleanup: %v %s", err, out)
		}
	}
}

func followGuide(t *testing.T, g guide) {
	md, err := os.ReadFile(filepath.Join(g.dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseGuide(string(md))
	if err != nil {
		t.Fatalf("%s/README.md: %v", g.dir, err)
	}
	kinds := map[string]int{}
	for _, b := range blocks {
		kinds[b.kind]++
	}
	if kinds["packages"] != 1 || kinds["run"] < 4 || kinds["file"] != 1 {
		t.Fatalf("%s/README.md marks %v blocks; want one packages, one file and the run blocks", g.dir, kinds)
	}
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("sudo"); err != nil {
			testenv.Need(t, "root or sudo (the guide's database commands)", err)
		}
	}
	_, dropAll := g.needDB(t)
	repo := mustCopyRepo(t)

	// The packages the guide installs: missing ones are a skip here, a failure in CI, as for
	// every other service.
	out, err := runScript(t, repo, "packages", script(blocks, true), time.Minute)
	testenv.Need(t, "what the guide installs", wrap(err, out))

	src, name, ports := substitute(t, script(blocks, false), g.prefix, []int{8080, g.appPort, 1025, 8025, 9090})
	t.Cleanup(func() { dropAll(t, name) })
	out, err = runScript(t, repo, "guide", src, 15*time.Minute)
	appDir := filepath.Join(repo, "examples", g.dir)
	if err != nil {
		t.Fatalf("the guide's commands failed: %v\n%s\nresetgate.log:\n%s\nscript:\n%s", err, lastLines(out, 40), lastLines(readLog(appDir, "resetgate.log"), 20), src)
	}

	public := fmt.Sprintf("http://localhost:%d", ports[8080])
	mailAPI := fmt.Sprintf("http://127.0.0.1:%d", ports[8025])
	u := user{t: t, base: public}
	u.init()

	// Signed in with the seeded password, then out: the app works through resetgate.
	u.mustSignIn(g.login, "wonderland", http.StatusSeeOther, http.StatusFound)
	signedIn := time.Now()
	if body := u.get("/", 200); !strings.Contains(body, g.signedIn) {
		t.Fatalf("home page after signing in lacks %q:\n%s", g.signedIn, body)
	}
	u.c.Jar, _ = cookiejar.New(nil) // sign out: a new browser

	// "Forgot your password?" on the app's page leads to the form, which leads back.
	if body := u.get(g.login, 200); !strings.Contains(body, `href="/pwreset"`) {
		t.Errorf("the app's sign-in page has no link to /pwreset:\n%s", body)
	}
	if body := u.get("/pwreset", 200); !strings.Contains(body, `href="`+g.login+`"`) {
		t.Errorf("the request form does not link back to %s:\n%s", g.login, body)
	}
	u.post("/pwreset", url.Values{"email": {"alice@example.com"}}, http.StatusSeeOther, "/pwreset/sent")

	link := mustResetLink(t, mailAPI, public)
	u.get(strings.TrimPrefix(link, public), http.StatusSeeOther)
	u.get("/pwreset/new", 200)
	const newPassword = "correct horse battery staple 42"
	u.post("/pwreset/new", url.Values{"password": {newPassword}, "password2": {newPassword}}, http.StatusSeeOther, g.login)

	u.c.Jar, _ = cookiejar.New(nil)
	u.mustSignIn(g.login, "wonderland", http.StatusUnauthorized)
	// Flask's session cookie is its content signed with a timestamp in seconds: a sign-in in
	// the same second as the first would get the very cookie the reset revoked (README,
	// session tracking's limits). A user is never that quick; the test waits for the next second.
	time.Sleep(time.Until(signedIn.Truncate(time.Second).Add(time.Second)))
	u.mustSignIn(g.login, newPassword, http.StatusSeeOther, http.StatusFound)
	if body := u.get("/", 200); !strings.Contains(body, g.signedIn) {
		t.Fatalf("home page after signing in with the new password lacks %q:\n%s", g.signedIn, body)
	}

	// The guide's account of the silent per-address limit: three requests an hour get mail, the
	// fourth the same page and no mail, and the log line and the metric it names.
	for range 3 {
		u.post("/pwreset", url.Values{"email": {"alice@example.com"}}, http.StatusSeeOther, "/pwreset/sent")
	}
	metrics := getURL(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[9090]))
	if !strings.Contains(metrics, `resetgate_events_total{event="rate_limited_email"} 1`) {
		t.Errorf("after a fourth request the metric the guide names is not 1:\n%s", grepLines(metrics, "rate_limited"))
	}
	if log := readLog(appDir, "resetgate.log"); !strings.Contains(log, "limited_account") {
		t.Errorf("resetgate.log lacks the outcome=limited_account line the guide names:\n%s", lastLines(log, 20))
	}
}

func wrap(err error, out string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%v: %s", err, strings.TrimSpace(lastLines(out, 5)))
}

// user is a browser: cookies, no automatic redirects (each step checks its own).
type user struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (u *user) init() {
	jar, _ := cookiejar.New(nil)
	u.c = &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (u *user) do(req *http.Request) (*http.Response, string) {
	u.t.Helper()
	resp, err := u.c.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (u *user) get(path string, want int) string {
	u.t.Helper()
	req, _ := http.NewRequest("GET", u.base+path, nil)
	resp, body := u.do(req)
	if resp.StatusCode != want {
		u.t.Fatalf("GET %s = %d, want %d\n%s", path, resp.StatusCode, want, body)
	}
	return body
}

func (u *user) post(path string, form url.Values, want int, wantLocation string) {
	u.t.Helper()
	req, _ := http.NewRequest("POST", u.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := u.do(req)
	if resp.StatusCode != want || resp.Header.Get("Location") != wantLocation {
		u.t.Fatalf("POST %s = %d → %q, want %d → %q\n%s", path, resp.StatusCode, resp.Header.Get("Location"), want, wantLocation, body)
	}
}

// mustSignIn posts the app's sign-in form and checks the status (Flask redirects with 302,
// the PHP app with 303).
func (u *user) mustSignIn(path, password string, want ...int) {
	u.t.Helper()
	form := url.Values{"email": {"alice@example.com"}, "password": {password}}
	req, _ := http.NewRequest("POST", u.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := u.do(req)
	for _, w := range want {
		if resp.StatusCode == w {
			return
		}
	}
	u.t.Fatalf("sign in with %q: POST %s = %d, want one of %v\n%s", password, path, resp.StatusCode, want, body)
}

var linkRE = regexp.MustCompile(`http://localhost:\d+/pwreset/[A-Za-z0-9_-]{43}`)

// mustResetLink waits for the reset mail in Mailpit (its HTTP API) and returns the link in it.
func mustResetLink(t *testing.T, api, public string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		var list struct {
			Messages []struct{ ID, Subject string }
		}
		if err := json.Unmarshal([]byte(getURL(t, api+"/api/v1/messages")), &list); err != nil {
			t.Fatal(err)
		}
		for _, m := range list.Messages {
			var msg struct{ Text string }
			if err := json.Unmarshal([]byte(getURL(t, api+"/api/v1/message/"+m.ID)), &msg); err != nil {
				t.Fatal(err)
			}
			if link := linkRE.FindString(msg.Text); link != "" {
				if !strings.HasPrefix(link, public+"/") {
					t.Fatalf("the link %q is not on public_url %s", link, public)
				}
				return link
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no reset mail with a link arrived in Mailpit (%d messages)", len(list.Messages))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func getURL(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d\n%s", u, resp.StatusCode, b)
	}
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
