package sqldb

import (
	"context"
	"database/sql"
	"fmt"

	"resetgate/reset"
)

// SetPassword writes newHash for the account old.ID if its hash (and, with the default
// statement, its address) is still that of old, then runs the
// after_reset statements, all in one transaction: if any statement fails, nothing is written
// and the error says which one. It returns reset.ErrPasswordChanged, having written nothing,
// when no row has that id and hash (the hash was changed by another path since the link was
// issued, or the account is gone), and an error, also writing nothing, when more than one row
// would change.
//
// Isolation: PostgreSQL runs READ COMMITTED, where an UPDATE that waited for a concurrent
// writer re-checks its WHERE against the newly committed row, so of two racing resets one
// writes and the other sees 0 rows (ErrPasswordChanged) rather than a serialization failure.
// MySQL keeps the server's level (InnoDB's REPEATABLE READ): an UPDATE always reads the
// latest committed row under a lock, and forcing READ COMMITTED would fail on servers with
// binlog_format=STATEMENT. SQLite is serializable and begins with the write lock taken
// (BEGIN IMMEDIATE).
func (u *Users) SetPassword(ctx context.Context, old reset.User, newHash string) error {
	id := old.ID
	ctx, cancel := u.withTimeout(ctx)
	defer cancel()
	var opts *sql.TxOptions
	if u.d == postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := u.db.BeginTx(ctx, opts)
	if err != nil {
		return u.fail("set_password: begin", err)
	}
	defer tx.Rollback() // a no-op after Commit

	res, err := tx.ExecContext(ctx, u.setPassword.sql, u.setPassword.args(map[string]any{
		"id": id, "password": newHash, "old_password": old.PasswordHash, "email": old.Email,
	})...)
	if err != nil {
		return u.fail("set_password", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return u.fail("set_password", err)
	}
	switch {
	case n == 0:
		return reset.ErrPasswordChanged
	case n > 1:
		return fmt.Errorf("sqldb: set_password would change %d rows for id %q; nothing written (the id column must be unique)", n, id)
	}
	for _, st := range u.afterReset {
		if _, err := tx.ExecContext(ctx, st.sql, st.args(map[string]any{"id": id})...); err != nil {
			return fmt.Errorf("%w; password not changed", u.fail(st.key, err))
		}
	}
	if err := tx.Commit(); err != nil {
		return u.fail("set_password: commit", err)
	}
	return nil
}

// Sample returns up to n non-empty password hashes picked at random from the table's
// password column, for the doctor command to recognise the app's hash schemes. It reads the
// configured table and columns even when custom statements are set. The hashes are
// credentials: never log them.
func (u *Users) Sample(ctx context.Context, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	ctx, cancel := u.withTimeout(ctx)
	defer cancel()
	rows, err := u.db.QueryContext(ctx, u.sample.sql, u.sample.args(map[string]any{"limit": n})...)
	if err != nil {
		return nil, u.fail("sample", err)
	}
	defer rows.Close()
	var hashes []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, u.fail("sample", err)
		}
		hashes = append(hashes, h)
	}
	if err := rows.Err(); err != nil {
		return nil, u.fail("sample", err)
	}
	return hashes, nil
}

// fail wraps a driver error with what was being done, scrubbed of the DSN's password.
