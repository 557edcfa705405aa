package sqldb

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// dialect is one of the SQL databases resetgate can write to.
type dialect int

const (
	postgres dialect = iota + 1
	mysql
	sqlite
)

func parseDialect(driver string) (dialect, error) {
	switch driver {
	case "postgres":
		return postgres, nil
	case "mysql":
		return mysql, nil
	case "sqlite":
		return sqlite, nil
	case "":
		return 0, errors.New("sqldb: no driver given (postgres, mysql or sqlite)")
	}
	return 0, fmt.Errorf("sqldb: unknown driver %q (postgres, mysql or sqlite)", driver)
}

func (d dialect) String() string {
	switch d {
	case postgres:
		return "postgres"
	case mysql:
		return "mysql"
	case sqlite:
		return "sqlite"
	}
	return fmt.Sprintf("dialect(%d)", int(d))
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// checkIdent reports whether name, from configuration key key, is a plain identifier:
// letters, digits and underscores, not starting with a digit, at most 63 bytes (PostgreSQL's
// limit; MySQL allows 64). With qualified, one "schema.table" dot is allowed. Nothing else
// is accepted, so quoting cannot be escaped and no configured name can inject SQL.
func checkIdent(key, name string, qualified bool) error {
	parts := []string{name}
	if qualified {
		parts = strings.Split(name, ".")
	}
	if len(parts) > 2 {
		return fmt.Errorf("sqldb: %s %q: at most one dot (schema.table)", key, name)
	}
	for _, p := range parts {
		if !identRE.MatchString(p) {
			if qualified {
				return fmt.Errorf("sqldb: %s %q is not a plain name (letters, digits and _, optionally schema.table)", key, name)
			}
			return fmt.Errorf("sqldb: %s %q is not a plain name (letters, digits and _)", key, name)
		}
	}
	return nil
}

// quote quotes an identifier already accepted by [checkIdent], so that reserved words
// ("user", "password", "name") work as names. Quoted names are case-sensitive in PostgreSQL:
// they must be spelt as the database stores them (unquoted names are stored in lower case).
func (d dialect) quote(name string) string {
	q := `"`
	if d == mysql {
		q = "`"
	}
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = q + p + q
	}
	return strings.Join(parts, ".")
}

// sameColumn reports whether a configured column name and one the database reports are the
// same column: exactly in PostgreSQL (the name is quoted), regardless of case in MySQL and
// SQLite, whose column names are case-insensitive even when quoted.
func (d dialect) sameColumn(configured, reported string) bool {
	if d == postgres {
		return configured == reported
	}
	return strings.EqualFold(configured, reported)
}

// endpoint is a parsed DSN: a pool that has not connected yet, where it points (no secrets)
// and the password to scrub from any error text.
type endpoint struct {
	db     *sql.DB
	where  string
	secret string
	login  string // the user name, for hints about grants
}

// connect parses dsn for d and returns an unopened pool with resetgate's driver settings.
// Parse errors never quote the DSN, which may hold a password.
func connect(d dialect, dsn string, connectTimeout time.Duration) (endpoint, error) {
	switch d {
	case postgres:
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return endpoint{}, pgParseError(err)
		}
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = connectTimeout
		}
		if _, ok := cfg.RuntimeParams["application_name"]; !ok {
			// Lets the app's DBA see resetgate's sessions in pg_stat_activity.
			cfg.RuntimeParams["application_name"] = "resetgate"
		}
		where := fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
		return endpoint{db: stdlib.OpenDB(*cfg), where: where, secret: cfg.Password, login: cfg.User}, nil

	case mysql:
		cfg, err := mysqlConfig(dsn)
		if err != nil {
			return endpoint{}, err
		}
		// The compare-and-swap counts rows: MySQL by default reports rows *changed*, which
		// would be 0 for an UPDATE that writes the value already there. Found (matched)
		// rows are what SetPassword means.
		cfg.ClientFoundRows = true
		if cfg.Timeout == 0 {
			cfg.Timeout = connectTimeout
		}
		connector, err := gomysql.NewConnector(cfg)
		if err != nil {
			return endpoint{}, fmt.Errorf("sqldb: mysql dsn: %w", err)
		}
		return endpoint{db: sql.OpenDB(connector), where: cfg.Addr + "/" + cfg.DBName, secret: cfg.Passwd, login: cfg.User}, nil

	case sqlite:
		name, path, err := sqliteDSN(dsn)
		if err != nil {
			return endpoint{}, err
		}
		db, err := sql.Open("sqlite", name)
		if err != nil {
			return endpoint{}, fmt.Errorf("sqldb: sqlite dsn: %w", err)
		}
		return endpoint{db: db, where: path}, nil
	}
	return endpoint{}, fmt.Errorf("sqldb: unknown dialect %v", d)
}

// pgParseError rewrites a pgx parse error without the connection string it quotes: pgx
// redacts passwords there only on a best-effort basis, and a malformed DSN is exactly where
// it can miss one. The error's chain is dropped for the same reason (it holds the DSN).
func pgParseError(err error) error {
	text := err.Error()
	if pe := (*pgconn.ParseConfigError)(nil); errors.As(err, &pe) {
		if _, after, ok := strings.Cut(text, "`: "); ok {
			text = after
		} else {
			text = "malformed connection string"
		}
	}
	return errors.New("sqldb: postgres dsn: " + text)
}

// sqliteBusyTimeout is how long a SQLite statement waits for the legacy app's lock before
// failing with SQLITE_BUSY.
const sqliteBusyTimeout = 5 * time.Second

// sqliteDSN adds to a modernc.org/sqlite DSN what sharing the file with the running legacy
// app needs, unless the DSN already says otherwise:
//   - _busy_timeout: wait for the app's locks instead of failing at once with SQLITE_BUSY;
//   - _journal_mode=WAL: readers and the one writer stop blocking each other. The mode is
//     stored in the file, so the app then runs in WAL too (any SQLite ≥ 3.7 does; WAL does
//     not work on network file systems: put _journal_mode=DELETE in the DSN there);
//   - _txlock=immediate: a write transaction takes the write lock at BEGIN, where the busy
//     timeout applies, rather than failing to upgrade a read lock half-way through.
//
// It also refuses a database file that does not exist: creating an empty one would hide a
// typo in the path until the first reset.
func sqliteDSN(dsn string) (name, path string, err error) {
	base, rawQuery, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", "", fmt.Errorf("sqldb: sqlite dsn parameters: %w", err)
	}
	path = base
	uri := strings.HasPrefix(base, "file:")
	if uri {
		path = strings.TrimPrefix(base, "file:")
		if strings.HasPrefix(path, "//") {
			// file://host/path: SQLite accepts only an empty or "localhost" authority.
			path = strings.TrimPrefix(strings.TrimPrefix(path, "//"), "localhost")
		}
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
	}
	if path == "" {
		return "", "", errors.New("sqldb: sqlite dsn names no file")
	}
	memory := path == ":memory:" || uri && q.Get("mode") == "memory" || q.Get("vfs") == "memdb"
	pragmaSet := func(name string) bool {
		for _, p := range q["_pragma"] {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(p)), name) {
				return true
			}
		}
		return false
	}
	var add []string
	if !q.Has("_busy_timeout") && !q.Has("_timeout") && !pragmaSet("busy_timeout") {
		add = append(add, fmt.Sprintf("_busy_timeout=%d", sqliteBusyTimeout.Milliseconds()))
	}
	if !memory && !(uri && q.Get("mode") == "ro") && !q.Has("_journal_mode") && !q.Has("_journal") && !pragmaSet("journal_mode") {
		add = append(add, "_journal_mode=WAL")
	}
	if !q.Has("_txlock") {
		add = append(add, "_txlock=immediate")
	}
	if !memory {
		if _, err := os.Stat(path); err != nil {
			return "", "", fmt.Errorf("sqldb: connect to sqlite at %s: %w", path, err)
		}
	}
	name = dsn
	if len(add) > 0 {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		name = dsn + sep + strings.Join(add, "&")
	}
	return name, path, nil
}

// scrubbed is an error whose text has a secret (the DSN's password) cut out. Unwrap still
// reaches the driver's error for errors.Is and errors.As.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// scrub returns err with every occurrence of secret in its text replaced. Drivers do not put
// passwords in their errors today; this keeps it that way whatever a future version does.
func scrub(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), secret, "xxxxx"), err: err}
}
