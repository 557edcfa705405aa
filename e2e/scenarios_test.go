package e2e

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"resetgate/examples/demoapp"
	"resetgate/internal/testenv"
)

// resetgateBad are the marks of an error in resetgate's log, in its JSON and text formats.
var resetgateBad = []string{`"level":"ERROR"`, "level=ERROR"}

// TestFlaskPostgres is the seed's case: examples/flask, a Flask app with werkzeug hashes on
// PostgreSQL, behind resetgate, mail over SMTP to a real Mailpit.
func TestFlaskPostgres(t *testing.T) {
	t.Parallel()
	python := testenv.Env("E2E_PYTHON", "/usr/bin/python3")
	testenv.Need(t, "python3-flask and python3-psycopg2 (apt-get install python3-flask python3-psycopg2)",
		runTool(t.Context(), "", nil, python, "-c", "import flask, psycopg2, werkzeug"))
	needChromium(t)
	dsn := testenv.Postgres(t)
	mp := testenv.Mailpit(t)
	appDir, err := filepath.Abs(filepath.Join("..", "examples", "flask"))
	if err != nil {
		t.Fatal(err)
	}
	user := account{email: "alice@example.com", name: "Alice", password: "wonderland"}
	// No __pycache__ in the repository; unbuffered, so a failure shows the app's last words.
	env := []string{"DATABASE_URL=" + dsn, "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"}
	if err := runTool(t.Context(), appDir, env, python, "seed.py", user.email, user.name, user.password); err != nil {
		t.Fatal(err)
	}
	app, appPort := startOnFreePort(t, "flask app", func(port int) *exec.Cmd {
		cmd := exec.Command(python, "app.py")
		cmd.Dir = appDir
		cmd.Env = slices.Concat(os.Environ(), env, []string{"SECRET_KEY=" + rand.Text(), "HOST=127.0.0.1", "PORT=" + strconv.Itoa(port)})
		return cmd
	}, func(ctx context.Context, p *proc, port int) error {
		return waitHTTP(ctx, p, fmt.Sprintf("http://127.0.0.1:%d/login", port))
	})
	host, port := mp.SMTPAddr()
	public, gate := startResetgate(t, gateOptions{
		driver: "postgres", dsn: dsn, upstream: fmt.Sprintf("http://127.0.0.1:%d", appPort),
		site: "Example Flask App", smtpHost: host, smtpPort: port, loginPath: "/login",
	})
	runJourney(t, &scenario{
		name: "flask", public: public, prefix: "/pwreset", user: user,
		loginPath: "/login", logout: `form[action="/logout"] button`,
		mail:       mailpitBox{mp},
		hashes:     []string{"pbkdf2:", "scrypt:"}, // werkzeug's, whichever its version
		storedHash: storedHash("pgx", dsn, "SELECT password FROM users WHERE email = $1", user.email),
		servers:    []*proc{gate, app},
		bad:        append([]string{"Traceback", `" 500 `}, resetgateBad...),
	})
}

// TestPHPMariaDB is examples/php, a PHP app (built-in server, password_hash bcrypt $2y$) on
// MariaDB, behind resetgate, mail over SMTP to a real Mailpit.
func TestPHPMariaDB(t *testing.T) {
	t.Parallel()
	needChromium(t)
	user := account{email: "alice@example.com", name: "Alice", password: "wonderland"}
	php := runPHPExample(t, user)
	app, dsn := php.proc, php.dsn
	mp := testenv.Mailpit(t)
	host, port := mp.SMTPAddr()
	public, gate := startResetgate(t, gateOptions{
		driver: "mysql", dsn: dsn, upstream: php.upstream,
		site: "Example PHP App", smtpHost: host, smtpPort: port, loginPath: "/login.php",
	})
	runJourney(t, &scenario{
		name: "php", public: public, prefix: "/pwreset", user: user,
		loginPath: "/login.php", logout: `form[action="/logout.php"] button`,
		mail:       mailpitBox{mp},
		hashes:     []string{"$2y$"}, // password_hash's bcrypt
		storedHash: storedHash("mysql", dsn, "SELECT password FROM users WHERE email = ?", user.email),
		servers:    []*proc{gate, app},
		bad:        append([]string{"PHP Warning", "PHP Notice", "PHP Deprecated", "PHP Fatal", "PHP Parse"}, resetgateBad...),
	})
}

// TestDemoSQLite is `resetgate demo`: the demo app on SQLite, mail as files in the outbox.
func TestDemoSQLite(t *testing.T) {
	t.Parallel()
	needChromium(t)
	bin := resetgateBinary(t)
	dir := t.TempDir()
	// The demo picks a free port itself (listen, close, listen again); if another process
	// takes it in between, the demo exits and is started again.
	var p *proc
	var attrs map[string]string
	for range 3 {
		var err error
		if p, err = launch("resetgate demo", exec.Command(bin, "demo", "-listen", "127.0.0.1:0", "-data", dir)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
		attrs, err = waitLog(ctx, p, "resetgate listening")
		cancel()
		if err == nil {
			break
		}
		p.stop()
		t.Log(err)
		attrs = nil
	}
	if attrs == nil {
		t.Fatal("resetgate demo did not start")
	}
	p.keep(t)
	public, err := url.Parse(attrs["public_url"])
	if err != nil || public.Host == "" {
		t.Fatalf("demo public_url %q: %v", attrs["public_url"], err)
	}
	runJourney(t, &scenario{
		name: "demo", public: public, prefix: "/pwreset",
		user:      account{email: demoapp.Email, name: demoapp.Name, password: demoapp.Password},
		loginPath: "/login", logout: `form[action="/logout"] button`,
		mail: outboxBox{filepath.Join(dir, "outbox")},
		// The demo promises the link in the terminal too ("link=…").
		loggedLink: func(ctx context.Context) (string, error) {
			attrs, err := waitLog(ctx, p, "mail written to outbox")
			return attrs["link"], err
		},
		hashes: []string{"pbkdf2:"},
		storedHash: storedHash("sqlite", "file:"+filepath.Join(dir, "demo-users.db")+"?_pragma=busy_timeout(5000)",
			"SELECT password FROM users WHERE email = ?", demoapp.Email),
		servers: []*proc{p},
		bad:     resetgateBad,
	})
}

// gateOptions is what differs between the scenarios' resetgate configs.
type gateOptions struct {
	driver, dsn, upstream, site string
	smtpHost                    string
	smtpPort                    int
	loginPath                   string // the app's sign-in page, which gets the reset link
	admin                       string // [admin] listen; "" turns the admin listener off
	extra                       string // more TOML, appended (whole tables, e.g. [app])
	dataDir                     string // data_dir; "": a fresh temporary directory
	env                         []string
}

// gateConfig is a complete config file as an operator writes it for an app on this machine;
// the DSN comes from the environment (LEGACY_DSN), as the README advises.
const gateConfig = `listen     = "127.0.0.1:%d"
public_url = %q
upstream   = %q
prefix     = "/pwreset"
data_dir   = %q
site_name  = %q
log_format = "json"
access_log = "reset"

[users]
driver  = %q
dsn_env = "LEGACY_DSN"

[mail]
transport = "smtp"
from      = "%s <no-reply@example.com>"

[mail.smtp]
host     = %q
port     = %d
tls      = "none"   # Mailpit on loopback
username = ""

[inject]
paths = [%q]   # the app's sign-in page: resetgate adds the "Forgot your password?" link

[admin]
listen = %q
`

// startResetgate runs `resetgate serve` on a free port with public_url http://localhost:PORT
// and returns that URL. The browser uses the name localhost, not the 127.0.0.1 resetgate
// listens on, so links built from public_url are told apart from the listen address.
func startResetgate(t *testing.T, o gateOptions) (*url.URL, *proc) {
	t.Helper()
	bin := resetgateBinary(t)
	dir := t.TempDir()
	var public *url.URL
	p, _ := startOnFreePort(t, "resetgate", func(port int) *exec.Cmd {
		public = &url.URL{Scheme: "http", Host: net.JoinHostPort("localhost", strconv.Itoa(port))}
		cfg := filepath.Join(dir, fmt.Sprintf("config-%d.toml", port))
		data := o.dataDir
		if data == "" {
			data = filepath.Join(dir, "data")
		}
		body := fmt.Sprintf(gateConfig, port, public.String(), o.upstream, data, o.site,
			o.driver, o.site, o.smtpHost, o.smtpPort, o.loginPath, o.admin) + o.extra
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "serve", "-config", cfg)
		cmd.Env = append(append(os.Environ(), "LEGACY_DSN="+o.dsn), o.env...)
		return cmd
	}, func(ctx context.Context, p *proc, port int) error {
		attrs, err := waitLog(ctx, p, "resetgate listening")
		if err != nil {
			return err
		}
		if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(port)); attrs["addr"] != want {
			return fmt.Errorf("resetgate listens on %q, want %q", attrs["addr"], want)
		}
		return nil
	})
	return public, p
}

// storedHash returns a reader of one user's password column in the app's database.
func storedHash(driver, dsn, query, email string) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		db, err := sql.Open(driver, dsn)
		if err != nil {
			return "", err
		}
		defer db.Close()
		var h string
		if err := db.QueryRowContext(ctx, query, email).Scan(&h); err != nil {
			return "", fmt.Errorf("read %s's hash: %w", email, err)
		}
		return h, nil
	}
}
