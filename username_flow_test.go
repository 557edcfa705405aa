package main

import (
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"resetgate/internal/testenv"
	"resetgate/reset/passhash"
)

func mysqlUsers(t testing.TB, oldPassword string) legacyDB {
	dsn := testenv.MySQL(t)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	seedUsers(t, db, "INT AUTO_INCREMENT PRIMARY KEY", "?", oldPassword)
	return legacyDB{"mysql", dsn, db}
}

// TestUsernameFlow walks the whole flow by username on PostgreSQL and MariaDB, with an
// eligibility condition: the link goes to the stored address of the account the username
// names, and an ineligible account is treated as an unknown one.
func TestUsernameFlow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		users func(testing.TB, string) legacyDB
		bind  string
	}{
		{"postgres", postgresUsers, "$"},
		{"mariadb", mysqlUsers, "?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const oldPassword, newPassword = "old-password-1", "cobalt lantern orchard 42"
			users := tc.users(t, oldPassword)
			for _, q := range []string{
				"ALTER TABLE users ADD COLUMN login VARCHAR(64)",
				"ALTER TABLE users ADD COLUMN active INT NOT NULL DEFAULT 1",
				"UPDATE users SET login = 'Alice.W' WHERE id = 1",
			} {
				if _, err := users.db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			insert := "INSERT INTO users (name, email, password, login, active) VALUES (?, ?, ?, ?, 0)"
			if tc.bind == "$" {
				insert = "INSERT INTO users (name, email, password, login, active) VALUES ($1, $2, $3, $4, 0)"
			}
			if _, err := users.db.Exec(insert, "Idle", "idle@example.com", users.hash(t), "idle"); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			rg := runConfig(t, dir, fmt.Sprintf(`listen = "127.0.0.1:0"
public_url = "https://app.example"
upstream = %q
data_dir = %q
[users]
driver = %q
dsn_env = "TEST_LEGACY_DSN"
username_column = "login"
eligible = "active = 1"
[mail]
from = "Example <no-reply@example.com>"
[admin]
listen = "127.0.0.1:0"
`, echoApp(t).URL, filepath.Join(dir, "data"), users.driver), map[string]string{"TEST_LEGACY_DSN": users.dsn})
			b := newBrowser(t, rg.base)

			if page := b.expect("GET", "/pwreset", "", 200, ""); !strings.Contains(page, "Username or e-mail address") {
				t.Errorf("the request form does not ask for a username:\n%s", page)
			}
			b.expect("POST", "/pwreset", "email=idle", 303, "/pwreset/sent")      // ineligible: no mail
			b.expect("POST", "/pwreset", "email=+ALICE.w+", 303, "/pwreset/sent") // the username, leniently
			mail := rg.log.waitLog(t, "mail written to outbox", 1)
			if handled := rg.log.waitLog(t, "reset request handled", 1); handled["outcome"] != "no_account" {
				t.Errorf("the ineligible account's request ended %v, want no_account", handled["outcome"])
			}
			if mail["to"] != "Alice@Example.com" {
				t.Errorf("mail to %v, want the stored address", mail["to"])
			}
			if n := len(rg.log.logLines("mail written to outbox")); n != 1 {
				t.Errorf("%d mails written, want 1 (none for the ineligible account)", n)
			}
			link, _ := url.Parse(mail["link"].(string))
			b.expect("GET", link.Path, "", 303, "/pwreset/new")
			b.expect("POST", "/pwreset/new", "password="+url.QueryEscape(newPassword)+"&password2="+url.QueryEscape(newPassword), 303, "/pwreset/done")
			if ok, err := passhash.Verify(newPassword, users.hash(t)); !ok || err != nil {
				t.Errorf("the stored hash does not verify the new password (%v)", err)
			}
		})
	}
}
