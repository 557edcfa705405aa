package main

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"resetgate/internal/testenv"
)

// guideGrant returns the privileges a guide tells the reader to grant resetgate's login,
// e.g. "SELECT (id, name, email, password), UPDATE (password)", read from the guide itself so
// that the test follows it when it changes.
func guideGrant(t *testing.T, guide string) string {
	t.Helper()
	md, err := os.ReadFile(guide)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`GRANT (SELECT .*?) ON `).FindSubmatch(md)
	if m == nil {
		t.Fatalf("%s has no GRANT SELECT … ON line any more: update this test", guide)
	}
	return string(m[1])
}

// restrictedLogin is an account table on a real server and a login of its own that holds
// exactly the guide's grant, created for one test and dropped after it.
type restrictedLogin struct {
	admin  *sql.DB
	dsn    string // the login's, in the URL form
	revoke string // takes UPDATE (password) away again
}

// The table has a column the grant leaves out, as real ones do (here a TOTP secret): nothing
// resetgate runs may read it.
const grantTable = "(id %s PRIMARY KEY, name VARCHAR(100), email VARCHAR(255) NOT NULL, password VARCHAR(255) NOT NULL, totp_secret VARCHAR(64))"

// The login's password has the characters a DSN and a URL treat specially.
const loginPassword = `p@ss/w:rd?&=%;x`

func mustPostgresLogin(t *testing.T, grant string) restrictedLogin {
	t.Helper()
	adminDSN := testenv.Postgres(t)
	admin := mustOpenDB(t, "pgx", adminDSN)
	login := testenv.Name("rg_")
	mustExecSQL(t, admin, "CREATE TABLE users "+fmt.Sprintf(grantTable, "SERIAL"))
	mustExecSQL(t, admin, "INSERT INTO users (name, email, password, totp_secret) VALUES ('Alice', 'alice@example.com', 'x', 'JBSWY3DP')")
	mustExecSQL(t, admin, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", login, loginPassword))
	t.Cleanup(func() {
		admin.Exec("DROP OWNED BY " + login) // its privileges in this database
		if _, err := admin.Exec("DROP ROLE " + login); err != nil {
			t.Errorf("drop role %s: %v", login, err)
		}
	})
	mustExecSQL(t, admin, "GRANT "+grant+" ON users TO "+login)
	u, _ := url.Parse(adminDSN)
	u.Scheme, u.User = "postgresql", url.UserPassword(login, loginPassword)
	return restrictedLogin{admin: admin, dsn: u.String(), revoke: "REVOKE UPDATE (password) ON users FROM " + login}
}

func mustMariaDBLogin(t *testing.T, grant string) restrictedLogin {
	t.Helper()
	adminDSN := testenv.MySQL(t)
	admin := mustOpenDB(t, "mysql", adminDSN)
	db := adminDSN[strings.LastIndexByte(adminDSN, '/')+1:]
	login := testenv.Name("rg_")
	account := fmt.Sprintf("'%s'@'127.0.0.1'", login) // as in the PHP guide
	mustExecSQL(t, admin, "CREATE TABLE users "+fmt.Sprintf(grantTable, "INT AUTO_INCREMENT"))
	mustExecSQL(t, admin, "INSERT INTO users (name, email, password, totp_secret) VALUES ('Alice', 'alice@example.com', 'x', 'JBSWY3DP')")
	mustExecSQL(t, admin, fmt.Sprintf("CREATE USER %s IDENTIFIED BY '%s'", account, loginPassword))
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP USER " + account); err != nil {
			t.Errorf("drop user %s: %v", account, err)
		}
	})
	mustExecSQL(t, admin, "GRANT "+grant+" ON "+db+".users TO "+account)
	dsn := (&url.URL{Scheme: "mysql", User: url.UserPassword(login, loginPassword), Host: "127.0.0.1:3306", Path: "/" + db}).String()
	return restrictedLogin{admin: admin, dsn: dsn, revoke: "REVOKE UPDATE (password) ON " + db + ".users FROM " + account}
}

func mustOpenDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExecSQL(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	if _, err := db.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// TestCheckUnderTheGuidesGrant is issue 19's first report: check failed with "permission
// denied for table users" under the very grant the guides recommend.
func TestCheckUnderTheGuidesGrant(t *testing.T) {
	for _, tc := range []struct {
		name, driver, guide string
		login               func(*testing.T, string) restrictedLogin
	}{
		{"postgres, the Flask guide's grant", "postgres", "examples/flask/README.md", mustPostgresLogin},
		{"mariadb, the PHP guide's grant", "mysql", "examples/php/README.md", mustMariaDBLogin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			grant := guideGrant(t, tc.guide)
			login := tc.login(t, grant)
			path := writeConfig(t, legacyDB{driver: tc.driver, dsn: login.dsn}, echoApp(t).URL, "")

			code, out, errOut := cli(t, env(), "", "check", "-config", path)
			if code != 0 || !strings.Contains(out, "ok    database") {
				t.Fatalf("check under %q = %d, want 0:\n%s%s", grant, code, out, errOut)
			}

			mustExecSQL(t, login.admin, login.revoke)
			code, out, _ = cli(t, env(), "", "check", "-config", path)
			line := ""
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "FAIL  database") {
					line = l
				}
			}
			if code != 1 || line == "" {
				t.Fatalf("check without UPDATE (password) = %d, want 1 and a FAIL database line:\n%s", code, out)
			}
			for _, want := range []string{"set_password", "GRANT SELECT (id, email, password, name), UPDATE (password) ON users TO rg_"} {
				if !strings.Contains(line, want) {
					t.Errorf("the failure %q does not say %q", line, want)
				}
			}
			var stored string
			if err := login.admin.QueryRow("SELECT password FROM users").Scan(&stored); err != nil || stored != "x" {
				t.Errorf("the account's password is %q (%v) after check, want it untouched", stored, err)
			}
			if strings.Contains(out, loginPassword) || strings.Contains(out, url.QueryEscape(loginPassword)) {
				t.Errorf("check printed the login's password:\n%s", out)
			}
		})
	}
}
