package sqldb

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// mysqlConfig parses a MySQL DSN: go-sql-driver/mysql's own user:password@tcp(host:3306)/db
// form, or the URL form mysql://user:password@host:3306/db?param=value (or mariadb://) that
// other tools and hosting panels print. In the URL form the user and password are
// percent-decoded, the port defaults to 3306 and the parameters are go-sql-driver/mysql's.
// Errors never quote the DSN, which may hold a password.
func mysqlConfig(dsn string) (*gomysql.Config, error) {
	scheme, _, isURL := strings.Cut(dsn, "://")
	if !isURL || (scheme != "mysql" && scheme != "mariadb") {
		cfg, err := gomysql.ParseDSN(dsn)
		if err != nil {
			return nil, fmt.Errorf("sqldb: mysql dsn: %w", err)
		}
		return cfg, nil
	}
	const form = "mysql://user:password@host:3306/db"
	u, err := url.Parse(dsn)
	if err != nil {
		// url's error quotes the whole URL, password included.
		return nil, fmt.Errorf("sqldb: mysql dsn: not a valid URL of the form %s (percent-encode special characters in the user and password: %% as %%25, / as %%2F, ? as %%3F, # as %%23)", form)
	}
	switch {
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("sqldb: mysql dsn: the URL names no host (%s)", form)
	case strings.Contains(dsn, "#"):
		return nil, errors.New("sqldb: mysql dsn: the URL has a # in it; percent-encode # in the password as %23")
	case strings.Contains(strings.TrimPrefix(u.Path, "/"), "/"):
		return nil, fmt.Errorf("sqldb: mysql dsn: the URL's path must be one database name (%s); percent-encode / in the password as %%2F", form)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	// The parameters are parsed by the driver with the real address, from which it takes the
	// TLS server name (tls=true).
	cfg, err := gomysql.ParseDSN("tcp(" + addr + ")/?" + u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("sqldb: mysql dsn parameters: %w", err)
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	return cfg, nil
}

// oneLine shortens a connection error to its cause, on one line: pgx reports each attempt
// (with and without TLS, each address of a host) on a line of its own, often the same one
// twice, and every driver repeats the address that resetgate's own message already names.
// errors.Is and errors.As still reach the driver's error.
func oneLine(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return &shortened{msg: fmt.Sprintf("%s (SQLSTATE %s)", pg.Message, pg.Code), err: err}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return &shortened{msg: op.Err.Error(), err: err}
	}
	if !strings.ContainsAny(err.Error(), "\r\n") {
		return err
	}
	var lines []string
	for _, l := range strings.FieldsFunc(err.Error(), func(r rune) bool { return r == '\n' || r == '\r' }) {
		l = strings.TrimSpace(l)
		if l != "" && !slices.Contains(lines, l) {
			lines = append(lines, l)
		}
	}
	return &shortened{msg: strings.Join(lines, " "), err: err}
}

// shortened is an error told in fewer words than the one it wraps.
type shortened struct {
	msg string
	err error
}

func (e *shortened) Error() string { return e.msg }
func (e *shortened) Unwrap() error { return e.err }
