package sqldb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// Check verifies the configuration against the database without changing anything, for the
// check command and start-up, using only the privileges resetgate needs, so that it passes
// under a least-privilege grant such as
//
//	GRANT SELECT (id, name, email, password), UPDATE (password) ON users TO resetgate;
//
// (with the username and language columns too when they are configured). It checks that the
// table has the configured columns and that they can be read (when any statement is built
// from them), that find_user and user_by_id run and select id, email, password[, name[,
// language]], and that the login may run set_password and every after_reset statement.
// It returns every problem found, each naming the table, column or statement at fault; a
// refused privilege says which GRANT the default statements need.
//
// Writes are never executed, not even in a rolled-back transaction (a MySQL table may be
// non-transactional, and statement triggers would fire). PostgreSQL checks privileges only
// when a statement runs or is planned, so there Check runs EXPLAIN, which plans without
// executing (taking the table's ROW EXCLUSIVE lock for a moment, as any UPDATE does); MySQL
// and MariaDB check privileges when a statement is prepared, so there Check prepares it.
// SQLite has no privileges: preparing finds unknown tables and columns.
func (u *Users) Check(ctx context.Context) error {
	ctx, cancel := u.withTimeout(ctx)
	defer cancel()
	if !u.custom["find_user"] || !u.custom["user_by_id"] || !u.custom["set_password"] {
		if err := u.checkColumns(ctx); err != nil {
			// Every built statement would fail the same way; say it once.
			return err
		}
	}
	var problems []error
	lookups := []statement{u.findUser, u.userByID}
	if u.findUsername != nil {
		lookups = append(lookups, *u.findUsername)
	}
	for _, st := range lookups {
		// NULL parameters match no row, whatever the column types, so this reads nothing.
		// The eligible condition, part of each built lookup, is checked with it.
		rows, err := u.db.QueryContext(ctx, st.sql, st.args(nil)...)
		if err != nil {
			problems = append(problems, u.checkFailed(st, err))
			continue
		}
		cols, err := rows.Columns()
		rows.Close()
		if err == nil && st.key != "find_username" { // built, with the username last
			err = checkSelected(st.key, cols)
		}
		if err != nil {
			problems = append(problems, err)
		}
	}
	for _, st := range append([]statement{u.setPassword}, u.afterReset...) {
		if err := u.checkWrite(ctx, st); err != nil {
			problems = append(problems, u.checkFailed(st, err))
		}
	}
	return errors.Join(problems...)
}

// checkWrite finds out, without writing, whether the login may run st.
func (u *Users) checkWrite(ctx context.Context, st statement) error {
	if u.d == postgres && explainable(st.sql) {
		rows, err := u.db.QueryContext(ctx, "EXPLAIN "+st.sql, st.args(nil)...)
		if err != nil {
			return err
		}
		return rows.Close()
	}
	ps, err := u.db.PrepareContext(ctx, st.sql)
	if err != nil {
		return err
	}
	return ps.Close()
}

// explainable reports whether PostgreSQL's EXPLAIN accepts the statement (the others, e.g.
// CALL, can only be prepared, which checks their syntax but not the login's privileges).
func explainable(sql string) bool {
	first, _, _ := strings.Cut(strings.TrimLeft(sql, " \t\r\n("), " ")
	switch strings.ToLower(strings.TrimSpace(first)) {
	case "select", "insert", "update", "delete", "merge", "with", "values":
		return true
	}
	return false
}

func (u *Users) checkFailed(st statement, err error) error {
	what := st.key + " (built from the [users] table and columns)"
	if u.custom[st.key] {
		what = fmt.Sprintf("%s statement %q", st.key, st.source)
	}
	return fmt.Errorf("sqldb: %s: %w%s", what, scrub(err, u.secret), u.grantHint(err, st.key))
}

// grantHint, for an error that is a refused privilege, says what the login lacks: for the
// statements built from the columns, the whole least-privilege grant.
func (u *Users) grantHint(err error, key string) string {
	if !denied(err) {
		return ""
	}
	login := "resetgate's database login"
	if u.login != "" {
		login = fmt.Sprintf("the login %q", u.login)
	}
	if u.custom[key] || strings.HasPrefix(key, "after_reset") {
		return fmt.Sprintf(" (%s lacks a privilege this statement needs: grant it)", login)
	}
	cols := []string{u.cols.id, u.cols.email, u.cols.password}
	for _, c := range []string{u.cols.name, u.cols.username, u.cols.language} {
		if c != "" {
			cols = append(cols, c)
		}
	}
	if u.eligible {
		cols = append(cols, "and the columns that eligible reads")
	}
	to := u.login
	if to == "" {
		to = "resetgate"
	}
	return fmt.Sprintf(" (%s needs: GRANT SELECT (%s), UPDATE (%s) ON %s TO %s)",
		login, strings.Join(cols, ", "), u.cols.password, u.cols.table, to)
}

// denied reports whether err is the database refusing a privilege.
func denied(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "42501" // insufficient_privilege
	}
	var my *gomysql.MySQLError
	if errors.As(err, &my) {
		// ER_TABLEACCESS_DENIED_ERROR, ER_COLUMNACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR
		return my.Number == 1142 || my.Number == 1143 || my.Number == 1044
	}
	return false
}

// checkColumns reads the configured columns (and only those: a least-privilege login may read
// no others) from no row, and on failure says which columns are missing or refused.
func (u *Users) checkColumns(ctx context.Context) error {
	want := []struct{ key, name string }{
		{"id_column", u.cols.id},
		{"email_column", u.cols.email},
		{"password_column", u.cols.password},
		{"name_column", u.cols.name},
		{"username_column", u.cols.username},
		{"language_column", u.cols.language},
	}
	var quoted []string
	for _, c := range want {
		if c.name != "" {
			quoted = append(quoted, u.d.quote(c.name))
		}
	}
	// SQLite reads a double-quoted name that is no column as a string, so there the columns
	// are compared with the table's (it has no privileges to respect).
	var selectErr error
	if u.d != sqlite {
		rows, err := u.db.QueryContext(ctx, "SELECT "+strings.Join(quoted, ", ")+" FROM "+u.d.quote(u.cols.table)+" WHERE 1 = 0")
		if err == nil {
			return rows.Close()
		}
		selectErr = err
	}
	have, err := u.tableColumns(ctx)
	if selectErr != nil && (err != nil || len(have) == 0) {
		err = selectErr // no table, or none of it visible to this login
	}
	if err != nil {
		return fmt.Errorf("sqldb: table %q in %s at %s: %w%s", u.cols.table, u.d, u.where, scrub(err, u.secret), u.grantHint(err, "table"))
	}
	var missing []string
	for _, c := range want {
		if c.name == "" {
			continue
		}
		found := false
		for _, h := range have {
			found = found || u.d.sameColumn(c.name, h)
		}
		if !found {
			missing = append(missing, fmt.Sprintf("%q (%s)", c.name, c.key))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("sqldb: table %q has no column %s; its columns are: %s",
			u.cols.table, strings.Join(missing, ", no column "), strings.Join(have, ", "))
	}
	if selectErr != nil {
		return fmt.Errorf("sqldb: reading columns %s of table %q in %s at %s: %w%s",
			strings.Join(quoted, ", "), u.cols.table, u.d, u.where, scrub(selectErr, u.secret), u.grantHint(selectErr, "table"))
	}
	return nil
}

// tableColumns lists the table's columns that this login can see, in table order.
func (u *Users) tableColumns(ctx context.Context) ([]string, error) {
	if u.d == sqlite {
		rows, err := u.db.QueryContext(ctx, "SELECT * FROM "+u.d.quote(u.cols.table)+" WHERE 1 = 0")
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		return rows.Columns()
	}
	// information_schema shows a login only the columns it holds some privilege on.
	schema, table, qualified := strings.Cut(u.cols.table, ".")
	if !qualified {
		schema, table = "", u.cols.table
	}
	q := "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF($1, ''), current_schema()) AND table_name = $2 ORDER BY ordinal_position"
	if u.d == mysql {
		q = "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ? ORDER BY ordinal_position"
	}
	args := []any{schema, table}
	rows, err := u.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}
