package deploy

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"resetgate/internal/testenv"
	"resetgate/reset/passhash"
)

// Generous bounds that only stop a hung test; no assertion depends on how fast anything is.
const waitLimit = 60 * time.Second

// server is a resetgate process (or a podman client running one) with its output kept.
type server struct {
	cmd    *exec.Cmd
	out    *testenv.Buffer
	exited chan struct{}
	err    error // the exit status, once exited is closed
}

func startServer(t *testing.T, cmd *exec.Cmd) *server {
	t.Helper()
	s := &server{cmd: cmd, out: &testenv.Buffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", cmd.Path, s.out.String())
		}
	})
	return s
}

// stop sends SIGTERM and returns the exit status.
func (s *server) stop(t *testing.T) error {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return s.err
	case <-time.After(waitLimit):
		t.Fatalf("%s did not stop on SIGTERM:\n%s", s.cmd.Path, s.out.String())
		return nil
	}
}

// waitHealthy polls url until it answers 200; exited, if not nil, ends the wait early.
func waitHealthy(t *testing.T, url string, exited <-chan struct{}, out func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-exited:
			t.Fatalf("resetgate exited before %s answered:\n%s", url, out())
		case <-ctx.Done():
			t.Fatalf("%s did not answer 200: %v\n%s", url, err, out())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// users is a fresh PostgreSQL database holding the legacy app's users table with one user,
// alice@example.com, whose password is hashed the way a Flask app does (werkzeug).
type users struct {
	dsn string
	db  *sql.DB
}

const oldPassword = "old password 1"

func mustUsers(t *testing.T) users {
	t.Helper()
	dsn := testenv.Postgres(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h, err := passhash.New("werkzeug")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash(oldPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE users (id SERIAL PRIMARY KEY, name TEXT, email TEXT NOT NULL, password TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO users (name, email, password) VALUES ('Alice', 'alice@example.com', $1)", hash); err != nil {
		t.Fatal(err)
	}
	return users{dsn, db}
}

func (u users) passwordIs(t *testing.T, password string) bool {
	t.Helper()
	var hash string
	if err := u.db.QueryRow("SELECT password FROM users WHERE email = 'alice@example.com'").Scan(&hash); err != nil {
		t.Fatal(err)
	}
	ok, err := passhash.Verify(password, hash)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// legacyApp stands for the app behind resetgate: it answers every path with its name.
func legacyApp(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "legacy app: "+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// testConfig is a config for resetgate against the test's services.
func testConfig(listen, admin int, upstream, dataDir string, mail *testenv.MailpitServer) string {
	host, port := mail.SMTPAddr()
	return fmt.Sprintf(`listen     = "127.0.0.1:%d"
public_url = "http://127.0.0.1:%d"
upstream   = %q
data_dir   = %q
log_format = "json"
[users]
driver  = "postgres"
dsn_env = "LEGACY_DSN"
[mail]
transport = "smtp"
from      = "Example App <no-reply@example.com>"
[mail.smtp]
host     = %q
port     = %d
tls      = "none"
username = ""
[admin]
listen = "127.0.0.1:%d"
`, listen, listen, upstream, dataDir, host, port, admin)
}

// resetFlow walks the whole reset through resetgate at base, the way the HTTP contract
// describes it (DESIGN.md), reading the link from Mailpit, and checks the app's database.
func resetFlow(t *testing.T, base string, mail *testenv.MailpitServer, u users) {
	t.Helper()
	client := newBrowser(t)
	client.expect(t, "GET", base+"/some/page", "", 200, "")
	client.expect(t, "GET", base+"/pwreset", "", 200, "")
	client.expect(t, "POST", base+"/pwreset", "email=alice%40example.com", 303, "/pwreset/sent")
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	msgs, err := mail.WaitMessages(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.Message(ctx, msgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(msg.Text, base+"/pwreset/")
	if i < 0 {
		t.Fatalf("no link to %s/pwreset/… in the mail:\n%s", base, msg.Text)
	}
	link := strings.Fields(msg.Text[i:])[0]
	client.expect(t, "GET", link, "", 303, "/pwreset/new")
	const newPassword = "cobalt lantern orchard 42"
	client.expect(t, "POST", base+"/pwreset/new", "password=cobalt+lantern+orchard+42&password2=cobalt+lantern+orchard+42", 303, "/pwreset/done")
	if !u.passwordIs(t, newPassword) {
		t.Error("after the reset, the app's database does not hold a hash of the new password")
	}
	client.expect(t, "GET", link, "", 303, "/pwreset/invalid")
}
