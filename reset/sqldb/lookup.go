package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"resetgate/reset"
)

// The lookups: by address, by username and by id, each through the statement compile built,
// and the scan they share.

// FindUser returns the one account whose stored address is email under
// [reset.NormalizeEmail] (email is normalised again here; the rule is idempotent), or exactly
// with CaseSensitive. It returns reset.ErrUserNotFound when none matches and
// reset.ErrAmbiguousUser when several do.
//
// The default SQL narrows the rows case-insensitively (SQLite: COLLATE NOCASE; PostgreSQL and
// MySQL: LOWER on both sides; CaseSensitive: =), and each row is then checked with
// [reset.SameEmail], so what the database's collation or LOWER folds beyond ASCII (dotless ı,
// İ, the Kelvin sign, full-width letters) never matches. Addresses are compared as stored:
// stored surrounding spaces are not trimmed by the SQL.
func (u *Users) FindUser(ctx context.Context, email string) (reset.User, error) {
	if u.exact {
		email = strings.Trim(email, " \t")
	} else {
		email = reset.NormalizeEmail(email)
	}
	if email == "" {
		return reset.User{}, reset.ErrUserNotFound
	}
	ctx, cancel := u.withTimeout(ctx)
	defer cancel()
	candidates, err := u.query(ctx, u.findUser, map[string]any{"email": email})
	if err != nil {
		return reset.User{}, err
	}
	var found []reset.User
	for _, c := range candidates {
		if u.sameEmail(c.Email, email) {
			found = append(found, c)
		}
	}
	return reset.OnlyUser(found)
}

// FindUsername returns the one account whose stored username is name under
// [reset.NormalizeUsername] (or exactly, after trimming, with CaseSensitive): the same rule
// as addresses, ASCII letters folded and nothing else, so look-alike letters never match. It
// returns reset.ErrUserNotFound when none matches (or no username column is configured) and
// reset.ErrAmbiguousUser when several do. Mail still goes only to the stored address.
func (u *Users) FindUsername(ctx context.Context, name string) (reset.User, error) {
	name = strings.Trim(name, " \t")
	if !u.exact {
		name = reset.NormalizeUsername(name)
	}
	if u.findUsername == nil || name == "" {
		return reset.User{}, reset.ErrUserNotFound
	}
	ctx, cancel := u.withTimeout(ctx)
	defer cancel()
	st := *u.findUsername
	rows, err := u.db.QueryContext(ctx, st.sql, st.args(map[string]any{"username": name})...)
	if err != nil {
		return reset.User{}, u.fail(st.key, err)
	}
	defer rows.Close()
	var found []reset.User
	for n := 0; rows.Next(); n++ {
		if n == maxCandidates {
			return reset.User{}, fmt.Errorf("sqldb: %s returned more than %d rows for one lookup", st.key, maxCandidates)
		}
		var r row
		var stored sql.NullString
		if err := rows.Scan(r.dest(u.builtFields(), &stored)...); err != nil {
			return reset.User{}, u.fail(st.key, err)
		}
		same := strings.Trim(stored.String, " \t") == name
		if !u.exact {
			same = reset.NormalizeUsername(stored.String) == name
		}
		if r.id.Valid && same {
			found = append(found, r.user())
		}
	}
	if err := rows.Err(); err != nil {
		return reset.User{}, u.fail(st.key, err)
	}
	return reset.OnlyUser(found)
}

func (u *Users) sameEmail(stored, email string) bool {
	if u.exact {
		return strings.Trim(stored, " \t") == email
	}
	return reset.SameEmail(stored, email)
}

// UserByID returns the account with the given id, or reset.ErrUserNotFound. More than one
// row for an id is an error: the id column must be unique.
func (u *Users) UserByID(ctx context.Context, id string) (reset.User, error) {
	if id == "" {
		return reset.User{}, reset.ErrUserNotFound
	}
	ctx, cancel := u.withTimeout(ctx)
	defer cancel()
	users, err := u.query(ctx, u.userByID, map[string]any{"id": id})
	if err != nil {
		return reset.User{}, err
	}
	switch len(users) {
	case 0:
		return reset.User{}, reset.ErrUserNotFound
	case 1:
		return users[0], nil
	}
	return reset.User{}, fmt.Errorf("sqldb: user_by_id: %d rows have id %q; the id column must be unique", len(users), id)
}

// query runs a lookup and scans its rows into users: id, email and password, then name and
// language as [Users.fieldsOf] says. NULL reads as "" (a NULL hash can never satisfy the
// compare-and-swap, so such an account cannot be reset).
func (u *Users) query(ctx context.Context, st statement, vals map[string]any) ([]reset.User, error) {
	rows, err := u.db.QueryContext(ctx, st.sql, st.args(vals)...)
	if err != nil {
		return nil, u.fail(st.key, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, u.fail(st.key, err)
	}
	if err := checkSelected(st.key, cols); err != nil {
		return nil, err
	}
	var users []reset.User
	for rows.Next() {
		if len(users) == maxCandidates {
			return nil, fmt.Errorf("sqldb: %s returned more than %d rows for one lookup; check its WHERE clause", st.key, maxCandidates)
		}
		var r row
		if err := rows.Scan(r.dest(u.fieldsOf(st.key, len(cols)))...); err != nil {
			return nil, u.fail(st.key, err)
		}
		if !r.id.Valid {
			return nil, fmt.Errorf("sqldb: %s returned a row whose id is NULL", st.key)
		}
		users = append(users, r.user())
	}
	if err := rows.Err(); err != nil {
		return nil, u.fail(st.key, err)
	}
	return users, nil
}

// checkSelected checks that a lookup selects id, email, password[, name[, language]].
func checkSelected(key string, cols []string) error {
	if len(cols) >= 3 && len(cols) <= 5 {
		return nil
	}
	return fmt.Errorf("sqldb: %s must select id, email, password and optionally name and language, in that order; it selects %d column(s): %s",
		key, len(cols), strings.Join(cols, ", "))
}

// fields says which of the optional columns a lookup selects after id, email and password:
// name, then language, in that order.
type fields struct{ name, language bool }

// builtFields are the optional columns of the built lookups: the configured ones.
func (u *Users) builtFields() fields {
	return fields{name: u.cols.name != "", language: u.cols.language != ""}
}

// fieldsOf says how to read the n columns of the lookup key: a built one as configured, a
// custom one by position (a fourth column is the name, a fifth the language).
func (u *Users) fieldsOf(key string, n int) fields {
	if u.custom[key] {
		return fields{name: n >= 4, language: n >= 5}
	}
	return u.builtFields()
}

// row is one account as a lookup selects it.
type row struct{ id, email, hash, name, language sql.NullString }

// dest returns the scan destinations for a row selecting f, then extra.
func (r *row) dest(f fields, extra ...any) []any {
	d := []any{&r.id, &r.email, &r.hash}
	if f.name {
		d = append(d, &r.name)
	}
	if f.language {
		d = append(d, &r.language)
	}
	return append(d, extra...)
}

// user is the row as a [reset.User]; a language is trimmed of spaces, as apps store such
// codes in padded CHAR columns.
func (r *row) user() reset.User {
	return reset.User{ID: r.id.String, Email: r.email.String, PasswordHash: r.hash.String, Name: r.name.String,
		Language: strings.TrimSpace(r.language.String)}
}
