package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"resetgate/internal/testenv"
	"resetgate/reset"
)

// backend is one database the shared suite runs against, with what its DDL needs.
type backend struct {
	driver    string                  // Options.Driver
	sqlDriver string                  // database/sql driver name for the fixture's own connection
	newDSN    func(testing.TB) string // a fresh, empty database
	types     map[string]string       // replaces {placeholders} in the suite's DDL
}

var backends = []backend{
	{
		driver: "postgres", sqlDriver: "pgx", newDSN: testenv.Postgres,
		types: map[string]string{"{str}": "TEXT", "{uuid}": "UUID", "{idsel}": "account_no::text"},
	},
	{
		// The database default is utf8mb4_general_ci, which equates "ı" and "i".
		driver: "mysql", sqlDriver: "mysql", newDSN: testenv.MySQL,
		types: map[string]string{"{str}": "VARCHAR(255)", "{uuid}": "CHAR(36)", "{idsel}": "account_no"},
	},
	{
		driver: "sqlite", sqlDriver: "sqlite", newDSN: sqliteFile,
		types: map[string]string{"{str}": "TEXT", "{uuid}": "TEXT", "{idsel}": "account_no"},
	},
}

// sqliteFile returns the path of a fresh SQLite database file in t.TempDir().
func sqliteFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE created (x INTEGER)"); err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	return path
}

// fixture is one fresh database of one backend, with a connection of its own for setting up
// rows and checking what was written.
type fixture struct {
	b   backend
	dsn string
	db  *sql.DB
}

// forEachBackend runs test once per backend, each in a database of its own.
func forEachBackend(t *testing.T, test func(t *testing.T, f *fixture)) {
	for _, b := range backends {
		t.Run(b.driver, func(t *testing.T) {
			test(t, mustFixture(t, b))
		})
	}
}

func mustFixture(t *testing.T, b backend) *fixture {
	t.Helper()
	dsn := b.newDSN(t)
	db, err := sql.Open(b.sqlDriver, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", b.driver, err)
	}
	t.Cleanup(func() { db.Close() })
	return &fixture{b: b, dsn: dsn, db: db}
}

// exec runs a statement written with "?" placeholders and {type} names.
func (f *fixture) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := f.db.Exec(f.rebind(query), args...); err != nil {
		t.Fatalf("%s: %s: %v", f.b.driver, query, err)
	}
}

func (f *fixture) rebind(query string) string {
	for k, v := range f.b.types {
		query = strings.ReplaceAll(query, k, v)
	}
	if f.b.driver != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// text returns the single text value query selects.
func (f *fixture) text(t *testing.T, query string, args ...any) string {
	t.Helper()
	var s sql.NullString
	if err := f.db.QueryRow(f.rebind(query), args...).Scan(&s); err != nil {
		t.Fatalf("%s: %s: %v", f.b.driver, query, err)
	}
	return s.String
}

func (f *fixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	n, err := strconv.Atoi(f.text(t, query, args...))
	if err != nil {
		t.Fatalf("%s: %s: %v", f.b.driver, query, err)
	}
	return n
}

// open opens the Users under test on the fixture's database.
func (f *fixture) open(t *testing.T, o Options) *Users {
	t.Helper()
	o.Driver, o.DSN = f.b.driver, f.dsn
	u, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open(%s) error: %v", f.b.driver, err)
	}
	t.Cleanup(func() {
		if err := u.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return u
}

// seedUsers creates the default users table and the sessions table that after_reset
// statements clean up, and fills them.
func (f *fixture) seedUsers(t *testing.T) {
	t.Helper()
	f.exec(t, "CREATE TABLE users (id BIGINT PRIMARY KEY, email {str} NOT NULL, password {str}, name {str})")
	f.exec(t, "CREATE TABLE sessions (id BIGINT PRIMARY KEY, user_id {str} NOT NULL, token {str} NOT NULL)")
	for _, u := range []struct {
		id          int
		email, hash string
		name        any
	}{
		{1, "mike@example.com", "hash-1", "Mike"},
		{2, "Mixed.Case@Example.COM", "hash-2", nil},
		{3, "kate@example.com", "hash-3", "Kate"},
		{4, "dup@example.com", "hash-4", nil},
		{5, "DUP@example.com", "hash-5", nil},
		{6, "tim@example.com", "hash-6", "Tim"},
		{7, "tım@example.com", "hash-7", "Tım the lookalike"}, // dotless ı
		{8, "ann@example.com", "hash-8", ""},
		{9, "bob@example.com", "", nil},
		{10, "carl@example.com", "hash-10", nil},
		{11, "dora@example.com", "hash-11", nil},
	} {
		f.exec(t, "INSERT INTO users (id, email, password, name) VALUES (?, ?, ?, ?)", u.id, u.email, u.hash, u.name)
	}
	f.exec(t, "UPDATE users SET password = NULL WHERE id = 10")
	for i, owner := range []string{"1", "1", "3", "6"} {
		f.exec(t, "INSERT INTO sessions (id, user_id, token) VALUES (?, ?, ?)", i+1, owner, "token-"+strconv.Itoa(i+1))
	}
}

func TestFindUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.seedUsers(t)
		u := f.open(t, Options{NameColumn: "name"})
		mike := reset.User{ID: "1", Email: "mike@example.com", Name: "Mike", PasswordHash: "hash-1"}
		tests := []struct {
			name    string
			email   string
			want    reset.User
			wantErr error
		}{
			{"exact address", "mike@example.com", mike, nil},
			{"ASCII upper case", "MIKE@EXAMPLE.COM", mike, nil},
			{"surrounding spaces trimmed", "  Mike@Example.com\t", mike, nil},
			{"stored in mixed case, returned as stored, NULL name", "mixed.case@example.com",
				reset.User{ID: "2", Email: "Mixed.Case@Example.COM", PasswordHash: "hash-2"}, nil},
			{"empty name", "ann@example.com", reset.User{ID: "8", Email: "ann@example.com", PasswordHash: "hash-8"}, nil},
			{"dotless i does not match i", "mıke@example.com", reset.User{}, reset.ErrUserNotFound},
			{"dotted capital I does not match i", "MİKE@example.com", reset.User{}, reset.ErrUserNotFound},
			{"Kelvin sign does not match k", "\u212Aate@example.com", reset.User{}, reset.ErrUserNotFound},
			{"full-width letter does not match", "ｍike@example.com", reset.User{}, reset.ErrUserNotFound},
			{"full-width address does not match", "ｍｉｋｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", reset.User{}, reset.ErrUserNotFound},
			{"real account beside a lookalike", "TIM@example.com",
				reset.User{ID: "6", Email: "tim@example.com", Name: "Tim", PasswordHash: "hash-6"}, nil},
			{"lookalike account matches only itself", "tım@example.com",
				reset.User{ID: "7", Email: "tım@example.com", Name: "Tım the lookalike", PasswordHash: "hash-7"}, nil},
			{"duplicates differing in ASCII case", "dup@example.com", reset.User{}, reset.ErrAmbiguousUser},
			{"unknown address", "nobody@example.com", reset.User{}, reset.ErrUserNotFound},
			{"empty address", "  ", reset.User{}, reset.ErrUserNotFound},
			{"LIKE wildcards are literal", "m_ke@example.com", reset.User{}, reset.ErrUserNotFound},
			{"percent is literal", "%@example.com", reset.User{}, reset.ErrUserNotFound},
			{"SQL injection: quote and OR", "x' OR '1'='1", reset.User{}, reset.ErrUserNotFound},
			{"SQL injection: comment out the rest", "mike@example.com' --", reset.User{}, reset.ErrUserNotFound},
			{"SQL injection: stacked statement", "'; DROP TABLE users; --", reset.User{}, reset.ErrUserNotFound},
			{"SQL injection: backslash quote", `x\' OR 1=1 #`, reset.User{}, reset.ErrUserNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := u.FindUser(context.Background(), tt.email)
				if !errors.Is(err, tt.wantErr) || got != tt.want {
					t.Errorf("FindUser(%q) = %+v, %v, want %+v, %v", tt.email, got, err, tt.want, tt.wantErr)
				}
			})
		}
		if n := f.count(t, "SELECT COUNT(*) FROM users"); n != 11 {
			t.Errorf("after the injection attempts the users table has %d rows, want 11", n)
		}
	})
}

// TestCollationFoldsMoreThanFindUser shows that the Go-side filter is what keeps lookalikes
// out: for each of these addresses the database's own comparison (the default find_user SQL)
// returns the real account, and FindUser still finds none.
func TestCollationFoldsMoreThanFindUser(t *testing.T) {
	folds := map[string][]string{
		"postgres": {"mİke@example.com"},                     // LOWER('İ') = 'i'
		"mysql":    {"mıke@example.com", "mİke@example.com"}, // utf8mb4_general_ci
		"sqlite":   nil,                                      // NOCASE folds ASCII only
	}
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.seedUsers(t)
		u := f.open(t, Options{NameColumn: "name"})
		for _, email := range folds[f.b.driver] {
			rows, err := u.query(context.Background(), u.findUser, map[string]any{"email": reset.NormalizeEmail(email)})
			if err != nil || len(rows) != 1 || rows[0].ID != "1" {
				t.Fatalf("the database's own match for %q = %+v, %v; want mike (id 1), or this test proves nothing", email, rows, err)
			}
			if got, err := u.FindUser(context.Background(), email); !errors.Is(err, reset.ErrUserNotFound) {
				t.Errorf("FindUser(%q) = %+v, %v, want %v", email, got, err, reset.ErrUserNotFound)
			}
		}
	})
}

func TestFindUserCaseSensitive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.seedUsers(t)
		u := f.open(t, Options{CaseSensitive: true})
		tests := []struct {
			email   string
			wantID  string
			wantErr error
		}{
			{"Mixed.Case@Example.COM", "2", nil},
			{" Mixed.Case@Example.COM ", "2", nil},
			{"mixed.case@example.com", "", reset.ErrUserNotFound},
			{"DUP@example.com", "5", nil},
			{"dup@example.com", "4", nil},
			{"Dup@example.com", "", reset.ErrUserNotFound},
			{"tım@example.com", "7", nil},
		}
		for _, tt := range tests {
			got, err := u.FindUser(context.Background(), tt.email)
			if !errors.Is(err, tt.wantErr) || got.ID != tt.wantID {
				t.Errorf("FindUser(%q) = id %q, %v, want id %q, %v", tt.email, got.ID, err, tt.wantID, tt.wantErr)
			}
		}
	})
}

func TestUserByID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.seedUsers(t)
		u := f.open(t, Options{NameColumn: "name"})
		tests := []struct {
			id      string
			want    reset.User
			wantErr error
		}{
			{"1", reset.User{ID: "1", Email: "mike@example.com", Name: "Mike", PasswordHash: "hash-1"}, nil},
			{"10", reset.User{ID: "10", Email: "carl@example.com"}, nil}, // NULL hash and name
			{"999", reset.User{}, reset.ErrUserNotFound},
			{"", reset.User{}, reset.ErrUserNotFound},
		}
		for _, tt := range tests {
			got, err := u.UserByID(context.Background(), tt.id)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("UserByID(%q) = %+v, %v, want %+v, %v", tt.id, got, err, tt.want, tt.wantErr)
			}
		}
	})
}

func TestTextIDs(t *testing.T) {
	const id = "6f1c3e2a-9b7d-4c5e-8f00-1a2b3c4d5e6f"
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.exec(t, `CREATE TABLE people (uid {uuid} PRIMARY KEY, mail {str} NOT NULL, pw {str} NOT NULL)`)
		f.exec(t, "INSERT INTO people (uid, mail, pw) VALUES (?, ?, ?)", id, "Uma@Example.com", "old")
		u := f.open(t, Options{Table: "people", IDColumn: "uid", EmailColumn: "mail", PasswordColumn: "pw"})
		want := reset.User{ID: id, Email: "Uma@Example.com", PasswordHash: "old"}
		if got, err := u.FindUser(context.Background(), "uma@example.com"); err != nil || got != want {
			t.Errorf("FindUser(%q) = %+v, %v, want %+v", "uma@example.com", got, err, want)
		}
		if got, err := u.UserByID(context.Background(), id); err != nil || got != want {
			t.Errorf("UserByID(%q) = %+v, %v, want %+v", id, got, err, want)
		}
		if err := u.SetPassword(context.Background(), reset.User{ID: id, Email: "Uma@Example.com", PasswordHash: "old"}, "new"); err != nil {
			t.Fatalf("SetPassword(%q) = %v", id, err)
		}
		if got := f.text(t, "SELECT pw FROM people WHERE uid = ?", id); got != "new" {
			t.Errorf("stored hash = %q, want %q", got, "new")
		}
	})
}

func TestCustomQueries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.exec(t, "CREATE TABLE accounts (account_no BIGINT PRIMARY KEY, mail {str}, pw_hash {str}, display_name {str}, active INT, note {str})")
		f.exec(t, "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?)", 100, "Ada@Example.com", "h100", "Ada", 1, "")
		f.exec(t, "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?)", 101, "gone@example.com", "h101", "Gone", 0, "")
		u := f.open(t, Options{
			FindUser: f.rebind("SELECT {idsel}, mail, pw_hash, display_name FROM accounts\n" +
				"WHERE LOWER(mail) = :email AND active = 1 AND note <> ':email is not a parameter' -- nor :id here\n"),
			UserByID: "SELECT account_no, mail, pw_hash FROM accounts WHERE account_no = :id",
			SetPassword: "UPDATE accounts SET pw_hash = :password, note = 'reset: by resetgate'\n" +
				"WHERE account_no = :id AND pw_hash = :old_password AND active = 1",
		})
		if err := u.Check(context.Background()); err != nil {
			t.Fatalf("Check() = %v", err)
		}
		ada := reset.User{ID: "100", Email: "Ada@Example.com", Name: "Ada", PasswordHash: "h100"}
		if got, err := u.FindUser(context.Background(), "ADA@example.com"); err != nil || got != ada {
			t.Errorf("FindUser(%q) = %+v, %v, want %+v", "ADA@example.com", got, err, ada)
		}
		if got, err := u.FindUser(context.Background(), "gone@example.com"); !errors.Is(err, reset.ErrUserNotFound) {
			t.Errorf("FindUser(%q) = %+v, %v, want %v (inactive)", "gone@example.com", got, err, reset.ErrUserNotFound)
		}
		ada.Name = "" // user_by_id selects no name
		if got, err := u.UserByID(context.Background(), "100"); err != nil || got != ada {
			t.Errorf("UserByID(%q) = %+v, %v, want %+v", "100", got, err, ada)
		}
		if err := u.SetPassword(context.Background(), reset.User{ID: "101", Email: "gone@example.com", PasswordHash: "h101"}, "new"); !errors.Is(err, reset.ErrPasswordChanged) {
			t.Errorf("SetPassword(inactive) = %v, want %v", err, reset.ErrPasswordChanged)
		}
		if err := u.SetPassword(context.Background(), reset.User{ID: "100", Email: "Ada@Example.com", PasswordHash: "h100"}, "new"); err != nil {
			t.Fatalf("SetPassword(%q) = %v", "100", err)
		}
		if got := f.text(t, "SELECT pw_hash FROM accounts WHERE account_no = 100"); got != "new" {
			t.Errorf("stored hash = %q, want %q", got, "new")
		}
		if got := f.text(t, "SELECT note FROM accounts WHERE account_no = 100"); got != "reset: by resetgate" {
			t.Errorf("note = %q, want the literal text, colon and all", got)
		}
	})
}

func TestSetPassword(t *testing.T) {
	const endSessions = "DELETE FROM sessions WHERE user_id = :id"
	tests := []struct {
		name          string
		afterReset    []string
		id, old       string
		email         string // as read with the account
		wantErr       error  // errors.Is
		wantErrText   string // when wantErr is nil but an error is expected
		wantHash      string // user id's hash afterwards
		wantSessions1 int    // user 1's sessions afterwards (2 before)
	}{
		{"compare-and-swap succeeds and ends sessions", []string{endSessions},
			"1", "hash-1", "mike@example.com", nil, "", "new-hash", 0},
		{"without after_reset sessions stay", nil,
			"1", "hash-1", "mike@example.com", nil, "", "new-hash", 2},
		{"hash changed elsewhere writes nothing", []string{endSessions},
			"1", "stale-hash", "mike@example.com", reset.ErrPasswordChanged, "", "hash-1", 2},
		{"address changed elsewhere writes nothing", []string{endSessions},
			"1", "hash-1", "old-address@example.com", reset.ErrPasswordChanged, "", "hash-1", 2},
		{"NULL hash never matches", []string{endSessions},
			"10", "", "carl@example.com", reset.ErrPasswordChanged, "", "", 2},
		{"account gone", []string{endSessions},
			"999", "hash-1", "mike@example.com", reset.ErrPasswordChanged, "", "", 2},
		{"failing after_reset rolls everything back", []string{
			endSessions,
			"INSERT INTO sessions (id, user_id, token) VALUES (3, :id, 'duplicate key')",
		}, "1", "hash-1", "mike@example.com", nil, "after_reset[1]", "hash-1", 2},
	}
	for _, b := range backends {
		t.Run(b.driver, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					f := mustFixture(t, b)
					f.seedUsers(t)
					u := f.open(t, Options{AfterReset: tt.afterReset})
					err := u.SetPassword(context.Background(), reset.User{ID: tt.id, Email: tt.email, PasswordHash: tt.old}, "new-hash")
					switch {
					case tt.wantErrText != "":
						if err == nil || errors.Is(err, reset.ErrPasswordChanged) || !strings.Contains(err.Error(), tt.wantErrText) {
							t.Errorf("SetPassword(%q, %q) = %v, want an error naming %q", tt.id, tt.old, err, tt.wantErrText)
						}
					case !errors.Is(err, tt.wantErr):
						t.Errorf("SetPassword(%q, %q) = %v, want %v", tt.id, tt.old, err, tt.wantErr)
					}
					if tt.id != "999" {
						if got := f.text(t, "SELECT password FROM users WHERE id = ?", tt.id); got != tt.wantHash {
							t.Errorf("hash of %s afterwards = %q, want %q", tt.id, got, tt.wantHash)
						}
					}
					if got := f.count(t, "SELECT COUNT(*) FROM sessions WHERE user_id = '1'"); got != tt.wantSessions1 {
						t.Errorf("sessions of user 1 afterwards = %d, want %d", got, tt.wantSessions1)
					}
					if got := f.count(t, "SELECT COUNT(*) FROM sessions WHERE user_id <> '1'"); got != 2 {
						t.Errorf("other users' sessions afterwards = %d, want 2", got)
					}
				})
			}
		})
	}
}

func TestSetPasswordNonUniqueID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.exec(t, "CREATE TABLE twins (id {str}, email {str}, password {str})")
		f.exec(t, "INSERT INTO twins VALUES ('7', 'a@example.com', 'same'), ('7', 'a@example.com', 'same')")
		u := f.open(t, Options{Table: "twins"})
		err := u.SetPassword(context.Background(), reset.User{ID: "7", Email: "a@example.com", PasswordHash: "same"}, "new")
		if err == nil || errors.Is(err, reset.ErrPasswordChanged) || !strings.Contains(err.Error(), "2 rows") {
			t.Errorf("SetPassword(two rows) = %v, want an error saying 2 rows would change", err)
		}
		if n := f.count(t, "SELECT COUNT(*) FROM twins WHERE password = 'same'"); n != 2 {
			t.Errorf("%d rows keep the old hash, want 2 (nothing written)", n)
		}
		if _, err := u.UserByID(context.Background(), "7"); err == nil || errors.Is(err, reset.ErrUserNotFound) {
			t.Errorf("UserByID(two rows) = %v, want an error", err)
		}
	})
}

// TestSetPasswordSameHash writes the hash that is already stored: the row matches, so this
// is a success, not ErrPasswordChanged (MySQL counts such a row as unchanged unless the
// connection asks for found rows).
func TestSetPasswordSameHash(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.seedUsers(t)
		u := f.open(t, Options{})
		if err := u.SetPassword(context.Background(), reset.User{ID: "1", Email: "mike@example.com", PasswordHash: "hash-1"}, "hash-1"); err != nil {
			t.Errorf("SetPassword(%q, %q, %q) = %v, want nil", "1", "hash-1", "hash-1", err)
		}
	})
}

// TestSetPasswordRace runs concurrent resets of one account from the same old hash, as two
// completions racing on two replicas would: the compare-and-swap lets exactly one write.
func TestSetPasswordRace(t *testing.T) {
	const racers = 8
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.seedUsers(t)
		u := f.open(t, Options{AfterReset: []string{"DELETE FROM sessions WHERE user_id = :id"}})
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				errs[i] = u.SetPassword(context.Background(), reset.User{ID: "1", Email: "mike@example.com", PasswordHash: "hash-1"}, fmt.Sprintf("new-%d", i))
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner < 0:
				winner = i
			case err == nil:
				t.Errorf("SetPassword by racers %d and %d both succeeded", winner, i)
			case !errors.Is(err, reset.ErrPasswordChanged):
				t.Errorf("SetPassword by racer %d = %v, want nil or %v", i, err, reset.ErrPasswordChanged)
			}
		}
		if winner < 0 {
			t.Fatalf("no racer succeeded: %v", errs)
		}
		if got, want := f.text(t, "SELECT password FROM users WHERE id = 1"), fmt.Sprintf("new-%d", winner); got != want {
			t.Errorf("stored hash = %q, want the winner's %q", got, want)
		}
	})
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		o        Options
		wantErrs []string // each must appear in the error; none means Check passes
	}{
		{"default statements", Options{NameColumn: "name", AfterReset: []string{"DELETE FROM sessions WHERE user_id = :id"}}, nil},
		{"missing table", Options{Table: "members"}, []string{`"members"`}},
		{"wrong email column", Options{EmailColumn: "emial"},
			[]string{`no column "emial" (email_column)`, "its columns are: id, email, password, name"}},
		{"two wrong columns", Options{PasswordColumn: "pass", NameColumn: "fullname"},
			[]string{`"pass" (password_column)`, `"fullname" (name_column)`}},
		{"custom find_user with a wrong column", Options{
			FindUser: "SELECT id, email, password FROM users WHERE mial = :email"}, []string{"find_user", "mial"}},
		{"custom find_user selecting too little", Options{
			FindUser: "SELECT id, email FROM users WHERE email = :email"}, []string{"find_user must select id, email, password", "2 column(s): id, email"}},
		{"custom set_password with a wrong column", Options{
			SetPassword: "UPDATE users SET pasword = :password WHERE id = :id AND password = :old_password"}, []string{"set_password", "pasword"}},
		{"after_reset on a missing table", Options{
			AfterReset: []string{"DELETE FROM sessions WHERE user_id = :id", "DELETE FROM tokens WHERE user_id = :id"}}, []string{"after_reset[1]", "tokens"}},
		{"every custom statement wrong, all reported", Options{
			FindUser:    "SELECT id, email, password FROM nope WHERE email = :email",
			UserByID:    "SELECT id, email, password FROM nope2 WHERE id = :id",
			SetPassword: "UPDATE nope3 SET password = :password WHERE id = :id AND password = :old_password",
		}, []string{"find_user", "nope", "user_by_id", "nope2", "set_password", "nope3"}},
	}
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.seedUsers(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := f.open(t, tt.o).Check(context.Background())
				if len(tt.wantErrs) == 0 {
					if err != nil {
						t.Errorf("Check() = %v, want nil", err)
					}
					return
				}
				if err == nil {
					t.Fatalf("Check() = nil, want an error naming %q", tt.wantErrs)
				}
				for _, want := range tt.wantErrs {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("Check() = %v, want it to name %q", err, want)
					}
				}
			})
		}
	})
}

func TestSample(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.seedUsers(t)
		u := f.open(t, Options{})
		got, err := u.Sample(context.Background(), 100)
		if err != nil {
			t.Fatalf("Sample(100) error: %v", err)
		}
		slices.Sort(got)
		// All but bob (empty) and carl (NULL).
		want := []string{"hash-1", "hash-11", "hash-2", "hash-3", "hash-4", "hash-5", "hash-6", "hash-7", "hash-8"}
		if !slices.Equal(got, want) {
			t.Errorf("Sample(100) = %q, want %q", got, want)
		}
		if got, err := u.Sample(context.Background(), 3); err != nil || len(got) != 3 {
			t.Errorf("Sample(3) = %q, %v, want 3 hashes", got, err)
		}
		if got, err := u.Sample(context.Background(), 0); err != nil || len(got) != 0 {
			t.Errorf("Sample(0) = %q, %v, want none", got, err)
		}
	})
}

func TestPingAndDescribe(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		u := f.open(t, Options{Table: "app.users"})
		if err := u.Ping(context.Background()); err != nil {
			t.Errorf("Ping() = %v", err)
		}
		want := map[string]string{
			"postgres": "postgres at 127.0.0.1:5432/rgtest_",
			"mysql":    "mysql at 127.0.0.1:3306/rgtest_",
			"sqlite":   "sqlite at " + f.dsn,
		}[f.b.driver]
		if got := u.Describe(); !strings.HasPrefix(got, want) || !strings.HasSuffix(got, ", table app.users") {
			t.Errorf("Describe() = %q, want %q…, table app.users", got, want)
		}
	})
}

// TestDescribeHidesPassword uses PostgreSQL's trust authentication, which ignores the
// password the DSN carries, to open a pool whose DSN holds one.
func TestDescribeHidesPassword(t *testing.T) {
	dsn := strings.Replace(testenv.Postgres(t), "postgres@", "postgres:pw-s3cr3t@", 1)
	u, err := Open(context.Background(), Options{Driver: "postgres", DSN: dsn})
	if err != nil {
		t.Fatalf("Open(%q) error: %v", dsn, err)
	}
	defer u.Close()
	if got := u.Describe(); strings.Contains(got, "s3cr3t") || !strings.HasPrefix(got, "postgres at 127.0.0.1:5432/") {
		t.Errorf("Describe() = %q, want postgres at 127.0.0.1:5432/… without the password", got)
	}
}

// closedPort returns a local TCP port that nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestOpenUnreachable(t *testing.T) {
	const secret = "pw-s3cr3t"
	port := closedPort(t)
	missing := filepath.Join(t.TempDir(), "missing.db")
	tests := []struct {
		driver, dsn string
		want        []string
	}{
		{"postgres", fmt.Sprintf("postgres://app:%s@127.0.0.1:%d/app?sslmode=disable", secret, port),
			[]string{fmt.Sprintf("sqldb: connect to postgres at 127.0.0.1:%d/app: ", port), "connection refused"}},
		{"postgres", fmt.Sprintf("postgres://app:%s@127.0.0.1:%d/app", secret, port), // sslmode=prefer: two attempts
			[]string{fmt.Sprintf("sqldb: connect to postgres at 127.0.0.1:%d/app: connect: connection refused", port)}},
		{"postgres", fmt.Sprintf("host=127.0.0.1 port=%d dbname=app user=app password=%s sslmode=disable", port, secret),
			[]string{fmt.Sprintf("sqldb: connect to postgres at 127.0.0.1:%d/app: ", port), "connection refused"}},
		{"mysql", fmt.Sprintf("app:%s@tcp(127.0.0.1:%d)/app", secret, port),
			[]string{fmt.Sprintf("sqldb: connect to mysql at 127.0.0.1:%d/app: ", port), "connection refused"}},
		{"sqlite", missing,
			[]string{"sqldb: connect to sqlite at " + missing + ": ", "no such file"}},
		{"sqlite", "file:" + missing + "?_pragma=foreign_keys(1)",
			[]string{"sqldb: connect to sqlite at " + missing + ": ", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.driver, func(t *testing.T) {
			u, err := Open(context.Background(), Options{Driver: tt.driver, DSN: tt.dsn})
			if err == nil {
				u.Close()
				t.Fatalf("Open(%q) = nil error, want a connect error", tt.dsn)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Open(%s) = %q, want it to contain %q", tt.driver, err, want)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Open(%s) = %q, which contains the password", tt.driver, err)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("Open(%s) = %q, want one line", tt.driver, err)
			}
		})
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open created the missing SQLite file %s (stat: %v)", missing, err)
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	// Every problem here is found before connecting, so the DSN points nowhere.
	dsn := fmt.Sprintf("postgres://app:pw@127.0.0.1:%d/app", closedPort(t))
	tests := []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"no driver", Options{DSN: dsn}, "no driver"},
		{"unknown driver", Options{Driver: "oracle", DSN: dsn}, `unknown driver "oracle"`},
		{"no dsn", Options{Driver: "postgres"}, "no dsn"},
		{"injection in table", Options{Table: "users; DROP TABLE users"}, `table "users; DROP TABLE users" is not a plain name`},
		{"quote in table", Options{Table: `users"`}, "table"},
		{"three-part table", Options{Table: "a.b.c"}, "at most one dot"},
		{"space in column", Options{EmailColumn: "e mail"}, "email_column"},
		{"dot in column", Options{IDColumn: "users.id"}, "id_column"},
		{"quote in name column", Options{NameColumn: "name`"}, "name_column"},
		{"unknown parameter", Options{FindUser: "SELECT id, email, password FROM users WHERE email = :emial"},
			"find_user: unknown parameter :emial (allowed: :email)"},
		{"find_user without :email", Options{FindUser: "SELECT id, email, password FROM users"}, "find_user: must use the parameter :email"},
		{"set_password without compare-and-swap", Options{SetPassword: "UPDATE users SET password = :password WHERE id = :id"},
			"set_password: must use the parameter :old_password"},
		{"after_reset with a parameter it cannot have", Options{AfterReset: []string{"DELETE FROM sessions WHERE email = :email"}},
			"after_reset[0]: unknown parameter :email (allowed: :id)"},
		{"empty after_reset", Options{AfterReset: []string{"DELETE FROM sessions WHERE user_id = :id", " "}}, "after_reset[1] is empty"},
		{"positional placeholder", Options{FindUser: "SELECT id, email, password FROM users WHERE email = $1"}, "positional parameter $1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			if o.Driver == "" && o.DSN == "" {
				o.Driver, o.DSN = "postgres", dsn
			}
			u, err := Open(context.Background(), o)
			if err == nil {
				u.Close()
				t.Fatalf("Open(%+v) = nil error, want %q", tt.o, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "sqldb: ") {
				t.Errorf("Open(%+v) = %q, want sqldb: …%q…", tt.o, err, tt.wantErr)
			}
		})
	}
}

func TestSQLiteSharesTheFile(t *testing.T) {
	f := mustFixture(t, backends[2])
	u := f.open(t, Options{})
	var mode string
	var busy int
	conn, err := u.db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.QueryRowContext(context.Background(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("PRAGMA journal_mode = %q, %v, want wal", mode, err)
	}
	if err := conn.QueryRowContext(context.Background(), "PRAGMA busy_timeout").Scan(&busy); err != nil || busy != 5000 {
		t.Errorf("PRAGMA busy_timeout = %d, %v, want 5000", busy, err)
	}
}

func TestSQLiteDSN(t *testing.T) {
	path := sqliteFile(t)
	tests := []struct {
		dsn, wantName string
	}{
		{path, path + "?_busy_timeout=5000&_journal_mode=WAL&_txlock=immediate"},
		{"file:" + path, "file:" + path + "?_busy_timeout=5000&_journal_mode=WAL&_txlock=immediate"},
		{"file://" + path + "?_fk=1", "file://" + path + "?_fk=1&_busy_timeout=5000&_journal_mode=WAL&_txlock=immediate"},
		{path + "?_journal_mode=DELETE&_timeout=100&_txlock=deferred", path + "?_journal_mode=DELETE&_timeout=100&_txlock=deferred"},
		{path + "?_pragma=busy_timeout(1)&_pragma=journal_mode(truncate)", path + "?_pragma=busy_timeout(1)&_pragma=journal_mode(truncate)&_txlock=immediate"},
		{"file:" + path + "?mode=ro", "file:" + path + "?mode=ro&_busy_timeout=5000&_txlock=immediate"},
		{":memory:", ":memory:?_busy_timeout=5000&_txlock=immediate"},
		{"file:x?mode=memory", "file:x?mode=memory&_busy_timeout=5000&_txlock=immediate"},
	}
	for _, tt := range tests {
		name, _, err := sqliteDSN(tt.dsn)
		if err != nil || name != tt.wantName {
			t.Errorf("sqliteDSN(%q) = %q, %v, want %q", tt.dsn, name, err, tt.wantName)
		}
	}
}

func TestScrub(t *testing.T) {
	inner := errors.New("auth failed for app:hunter22@db")
	err := scrub(inner, "hunter22")
	if got := err.Error(); got != "auth failed for app:xxxxx@db" {
		t.Errorf("scrub() = %q, want the password cut out", got)
	}
	if !errors.Is(err, inner) {
		t.Errorf("scrub() no longer wraps the driver's error")
	}
	if got := scrub(inner, ""); got != inner {
		t.Errorf("scrub(err, \"\") = %v, want err unchanged", got)
	}
}

func TestPostgresParseErrorHidesDSN(t *testing.T) {
	_, err := Open(context.Background(), Options{Driver: "postgres", DSN: "postgres://app:pw-s3cr3t@127.0.0.1:notaport/app"})
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.HasPrefix(err.Error(), "sqldb: postgres dsn: ") {
		t.Errorf("Open(bad postgres dsn) = %v, want a parse error without the password", err)
	}
}
