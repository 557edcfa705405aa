// Package sqldb is the legacy app's own account table, seen through database/sql: it
// implements [reset.Users] for PostgreSQL (github.com/jackc/pgx/v5), MySQL and MariaDB
// (github.com/go-sql-driver/mysql) and SQLite (modernc.org/sqlite, no cgo).
//
// The statements are built from a table and column names, or configured whole with named
// parameters (:email, :id, :password, :old_password) for unusual schemas. Configured names
// are validated and quoted; values are always bound parameters, never spliced into SQL text.
//
// Addresses are compared by resetgate's one rule, [reset.NormalizeEmail] (ASCII letters
// case-insensitive, nothing else folded), not by the database's collation: the SQL only
// narrows the candidates and every row is checked again with [reset.SameEmail], because
// collations fold far more than ASCII (MariaDB's utf8mb4_general_ci equates "ı" and "i",
// PostgreSQL's LOWER maps "İ" to "i"; SECURITY.md RQ-REQ-07).
//
// A new password is written with a compare-and-swap on the current hash, in one transaction
// with the configured after_reset statements ([Users.SetPassword]).
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"resetgate/reset"
)

// Options says which database to use and how the legacy app's accounts are stored in it.
// Only Driver and DSN are required; every other field has a documented default.
type Options struct {
	// Driver is "postgres", "mysql" (MySQL and MariaDB) or "sqlite".
	Driver string
	// DSN is the driver's connection string: a postgres:// or postgresql:// URL or a
	// key=value string (pgx); user:password@tcp(host:3306)/db (go-sql-driver/mysql) or the
	// URL form mysql://user:password@host:3306/db?param=value (also mariadb://; user and
	// password percent-encoded, parameters as go-sql-driver/mysql's); or a file name or
	// file: URI (modernc.org/sqlite; see [Open] for what is added to it). It may hold a
	// password, which never appears in errors or in [Users.Describe].
	DSN string

	// Table is the accounts table, optionally schema-qualified ("app.users"); default "users".
	// Table and column names must be letters, digits and underscores (Table may have one
	// dot) and are quoted, so reserved words work and, in PostgreSQL, case matters: spell
	// them as the database stores them (lower case unless created quoted).
	Table string
	// IDColumn is the primary key, of any type (integer, uuid, text); default "id".
	IDColumn string
	// EmailColumn holds the address mail goes to; default "email".
	EmailColumn string
	// PasswordColumn holds the hash in the app's format; default "password".
	PasswordColumn string
	// NameColumn holds a display name used in mails and the password checks. Empty means the
	// table has none and [reset.User.Name] stays empty; there is no default.
	NameColumn string
	// LanguageColumn holds the account's own language as the app stores it, such as "de",
	// "pt_BR" or "fr-CA", read into [reset.User.Language] (NULL reads as "", spaces trimmed)
	// so that the account's mails are written in it. Empty means the table has none and
	// Language stays empty; there is no default.
	LanguageColumn string

	// UsernameColumn holds the name users sign in with, for apps where that is a username:
	// the request form then takes an address or a username ([Users.FindUsername]). Empty
	// (the default): addresses only.
	UsernameColumn string
	// Eligible is a SQL condition on the table's columns, such as
	// "active = 1 AND deleted_at IS NULL", ANDed into the built lookups (by address, by
	// username and by id), so that an account failing it is one resetgate cannot find: no
	// mail, the same answer as for an unknown address, and its pending links stop working.
	// It takes no parameters. With a custom FindUser or UserByID, put the condition there
	// instead (Open refuses both at once). Default: every account.
	Eligible string

	// FindUser replaces the lookup by address. It must select id, email, password and
	// optionally name, then optionally language, in that order (a fourth column is read as
	// the name and a fifth as the language whatever NameColumn and LanguageColumn say:
	// select NULL as the name for a language without one), and use :email, which is bound
	// to the address normalised by [reset.NormalizeEmail] (or only trimmed with
	// CaseSensitive). The rows it returns are still filtered with [reset.SameEmail].
	// Default: the columns above, matched case-insensitively per dialect (see
	// [Users.FindUser]).
	FindUser string
	// UserByID replaces the lookup by id: same columns as FindUser, parameter :id. Default:
	// built from the columns above (also when FindUser is set).
	UserByID string
	// SetPassword replaces the write. It must use :password (the new hash), :id and
	// :old_password (the compare-and-swap) and change exactly one row when the hash is still
	// :old_password; it may use :email, the address as read with the account, so that a
	// changed address also stops the write. Default:
	//	UPDATE table SET password = :password WHERE id = :id AND password = :old_password AND email = :email
	SetPassword string
	// AfterReset are statements run after a successful SetPassword, in the same transaction,
	// with the parameter :id, e.g. "DELETE FROM sessions WHERE user_id = :id" to end the
	// account's sessions (SECURITY.md RQ-RST-05). Default: none.
	AfterReset []string

	// CaseSensitive makes addresses match exactly (after trimming spaces) instead of by
	// [reset.NormalizeEmail]. Default false.
	CaseSensitive bool

	// MaxOpenConns caps the pool; default 10, or 4 for SQLite (one writer at a time anyway).
	MaxOpenConns int
	// ConnectTimeout bounds establishing a connection, and Open's first ping; default 10s.
	// A connect_timeout (postgres) or timeout (mysql) in the DSN is kept for the pool's
	// connections.
	ConnectTimeout time.Duration
	// QueryTimeout bounds every call (each lookup, each whole SetPassword transaction) when
	// the caller's context has no earlier deadline; default 10s.
	QueryTimeout time.Duration
}

// Defaults for the zero fields of [Options].
const (
	DefaultTable          = "users"
	DefaultIDColumn       = "id"
	DefaultEmailColumn    = "email"
	DefaultPasswordColumn = "password"
	DefaultMaxOpenConns   = 10
	DefaultConnectTimeout = 10 * time.Second
	DefaultQueryTimeout   = 10 * time.Second
)

// maxCandidates caps the rows FindUser reads for one address. The SQL match is a superset of
// resetgate's rule, but only a few rows wide; a query returning more is broken (a custom
// find_user without its WHERE), and choosing from a truncated list could miss a duplicate.
const maxCandidates = 100

// Users is the legacy app's account table. It implements [reset.Users] and is safe for
// concurrent use. Close it when done.
type Users struct {
	db       *sql.DB
	d        dialect
	where    string // host:port/db or file, no secrets
	secret   string // the DSN's password, scrubbed from errors
	login    string // the DSN's user name, for hints about grants
	cols     columns
	custom   map[string]bool // which statements were configured rather than built
	timeout  time.Duration
	exact    bool // CaseSensitive
	eligible bool // an eligible condition is part of the lookups

	findUser, userByID, setPassword, sample statement
	findUsername                            *statement // nil without a username column
	afterReset                              []statement
}

// columns are the configured names, unquoted.
type columns struct {
	table, id, email, password, name, username, language string
}

var _ reset.Users = (*Users)(nil)

// Open validates o, compiles its statements, connects to the database and pings it. Errors
// name the option at fault, or say which database could not be reached and why, e.g.
//
//	sqldb: connect to postgres at 127.0.0.1:5432/app: … connection refused
//
// and never contain the DSN's password. Open does not look at the table: [Users.Check] does.
//
// For SQLite, Open refuses a file that does not exist and, unless the DSN sets them, adds a
// busy timeout (5s), WAL journal mode (stored in the file; not for network file systems:
// set _journal_mode=DELETE there) and immediate write transactions, so that resetgate and the
// running app can share the file. For MySQL it sets clientFoundRows, which the
// compare-and-swap needs.
func Open(ctx context.Context, o Options) (*Users, error) {
	d, err := parseDialect(o.Driver)
	if err != nil {
		return nil, err
	}
	if o.DSN == "" {
		return nil, errors.New("sqldb: no dsn given")
	}
	u := &Users{
		d:       d,
		timeout: orDuration(o.QueryTimeout, DefaultQueryTimeout),
		exact:   o.CaseSensitive,
		custom:  make(map[string]bool),
		cols: columns{
			table:    orString(o.Table, DefaultTable),
			id:       orString(o.IDColumn, DefaultIDColumn),
			email:    orString(o.EmailColumn, DefaultEmailColumn),
			password: orString(o.PasswordColumn, DefaultPasswordColumn),
			name:     o.NameColumn,
			username: o.UsernameColumn,
			language: o.LanguageColumn,
		},
	}
	if err := u.compile(o); err != nil {
		return nil, err
	}

	ep, err := connect(d, o.DSN, orDuration(o.ConnectTimeout, DefaultConnectTimeout))
	if err != nil {
		return nil, err
	}
	u.db, u.where, u.secret, u.login = ep.db, ep.where, ep.secret, ep.login
	maxConns := o.MaxOpenConns
	if maxConns <= 0 {
		maxConns = DefaultMaxOpenConns
		if d == sqlite {
			maxConns = 4
		}
	}
	u.db.SetMaxOpenConns(maxConns)
	u.db.SetMaxIdleConns(min(maxConns, 4))
	// Servers drop idle connections (MySQL's wait_timeout, proxies); recycle before they do.
	u.db.SetConnMaxIdleTime(5 * time.Minute)
	u.db.SetConnMaxLifetime(30 * time.Minute)

	ctx, cancel := context.WithTimeout(ctx, orDuration(o.ConnectTimeout, DefaultConnectTimeout))
	defer cancel()
	if err := u.db.PingContext(ctx); err != nil {
		u.db.Close()
		return nil, fmt.Errorf("sqldb: connect to %s at %s: %w", d, u.where, scrub(oneLine(err), u.secret))
	}
	return u, nil
}

// compile validates the configured names and builds or compiles every statement.
func (u *Users) compile(o Options) error {
	c := u.cols
	for _, n := range []struct {
		key, name string
		qualified bool
	}{
		{"table", c.table, true},
		{"id_column", c.id, false},
		{"email_column", c.email, false},
		{"password_column", c.password, false},
	} {
		if err := checkIdent(n.key, n.name, n.qualified); err != nil {
			return err
		}
	}
	for _, n := range []struct{ key, name string }{
		{"name_column", c.name}, {"username_column", c.username}, {"language_column", c.language},
	} {
		if n.name == "" {
			continue
		}
		if err := checkIdent(n.key, n.name, false); err != nil {
			return err
		}
	}
	eligible := ""
	if cond := strings.TrimSpace(o.Eligible); cond != "" {
		if strings.TrimSpace(o.FindUser) != "" || strings.TrimSpace(o.UserByID) != "" {
			return errors.New("sqldb: eligible applies to the built lookups; with a custom find_user or user_by_id, put the condition in them instead")
		}
		if strings.ContainsAny(cond, ";") || strings.Contains(cond, "--") {
			return fmt.Errorf("sqldb: eligible %q must be one condition, without ; or -- comments", cond)
		}
		eligible = " AND (" + cond + ")"
		u.eligible = true
	}

	q := u.d.quote
	selected := q(c.id) + ", " + q(c.email) + ", " + q(c.password)
	// The order builtFields reads them in.
	for _, col := range []string{c.name, c.language} {
		if col != "" {
			selected += ", " + q(col)
		}
	}
	from := " FROM " + q(c.table)

	// match compares a column with a parameter under the lookup's rule.
	match := func(col, param string) string {
		switch {
		case u.exact:
			return q(col) + " = :" + param
		case u.d == sqlite:
			// SQLite's NOCASE folds ASCII letters only: exactly reset.NormalizeEmail's rule.
			return q(col) + " = :" + param + " COLLATE NOCASE"
		}
		// PostgreSQL compares text exactly, and a MySQL column may have a case-sensitive
		// (_bin, _cs) collation, so fold both sides. LOWER also folds non-ASCII letters, but
		// only ever toward more candidates, which SameEmail then drops. An index on
		// LOWER(email) serves this in PostgreSQL; MySQL scans (set find_user to
		// "… WHERE email = :email" when the column's collation is case-insensitive).
		return "LOWER(" + q(col) + ") = LOWER(:" + param + ")"
	}

	var err error
	build := func(key, configured, def string, allowed, required []string) statement {
		if err != nil {
			return statement{}
		}
		src := def
		if strings.TrimSpace(configured) != "" {
			src = configured
			u.custom[key] = true
		}
		var st statement
		st, err = compile(key, src, u.d, allowed, required)
		return st
	}
	u.findUser = build("find_user", o.FindUser,
		"SELECT "+selected+from+" WHERE "+match(c.email, "email")+eligible,
		[]string{"email"}, []string{"email"})
	u.userByID = build("user_by_id", o.UserByID,
		"SELECT "+selected+from+" WHERE "+q(c.id)+" = :id"+eligible,
		[]string{"id"}, []string{"id"})
	if c.username != "" {
		st := build("find_username", "",
			"SELECT "+selected+", "+q(c.username)+from+" WHERE "+match(c.username, "username")+eligible,
			[]string{"username"}, []string{"username"})
		u.findUsername = &st
	}
	u.setPassword = build("set_password", o.SetPassword,
		"UPDATE "+q(c.table)+" SET "+q(c.password)+" = :password WHERE "+q(c.id)+" = :id AND "+q(c.password)+" = :old_password AND "+q(c.email)+" = :email",
		[]string{"id", "password", "old_password", "email"}, []string{"id", "password", "old_password"})
	random := "RANDOM()"
	if u.d == mysql {
		random = "RAND()"
	}
	u.sample = build("sample", "",
		"SELECT "+q(c.password)+from+" WHERE "+q(c.password)+" IS NOT NULL AND "+q(c.password)+" <> '' ORDER BY "+random+" LIMIT :limit",
		[]string{"limit"}, []string{"limit"})
	for i, src := range o.AfterReset {
		if strings.TrimSpace(src) == "" {
			return fmt.Errorf("sqldb: after_reset[%d] is empty", i)
		}
		u.afterReset = append(u.afterReset, build(fmt.Sprintf("after_reset[%d]", i), src, "", []string{"id"}, nil))
	}
	if err != nil {
		return fmt.Errorf("sqldb: %w", err)
	}
	return nil
}

// Close closes the pool. It must be called once, after every other call has returned.
func (u *Users) Close() error { return u.db.Close() }

// Describe says which database and table u uses, without secrets, for logs:
// "postgres at 127.0.0.1:5432/app, table users".
func (u *Users) Describe() string {
	return fmt.Sprintf("%s at %s, table %s", u.d, u.where, u.cols.table)
}

// Ping reports whether the database answers.
func (u *Users) Ping(ctx context.Context) error {
	ctx, cancel := u.withTimeout(ctx)
	defer cancel()
	if err := u.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqldb: ping %s at %s: %w", u.d, u.where, scrub(oneLine(err), u.secret))
	}
	return nil
}

func (u *Users) fail(doing string, err error) error {
	return fmt.Errorf("sqldb: %s on %s at %s: %w", doing, u.d, u.where, scrub(err, u.secret))
}

func (u *Users) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < u.timeout {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, u.timeout)
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
