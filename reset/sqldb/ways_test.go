package sqldb

import (
	"context"
	"errors"
	"strings"
	"testing"

	"resetgate/reset"
)

// seedAccounts creates a table with usernames and an eligibility flag.
func (f *fixture) seedAccounts(t *testing.T) {
	t.Helper()
	f.exec(t, "CREATE TABLE accounts (id BIGINT PRIMARY KEY, login {str}, email {str} NOT NULL, password {str}, active INTEGER NOT NULL, deleted_at {str})")
	for _, a := range []struct {
		id           int
		login, email string
		active       int
		deleted      any
	}{
		{1, "Mike", "mike@example.com", 1, nil},
		{2, "tim", "tim@example.com", 1, nil},
		{3, "tım", "lookalike@example.com", 1, nil}, // dotless ı
		{4, "gone", "gone@example.com", 1, "2026-01-01"},
		{5, "idle", "idle@example.com", 0, nil},
		{6, "twin", "twin1@example.com", 1, nil},
		{7, "TWIN", "twin2@example.com", 1, nil},
	} {
		f.exec(t, "INSERT INTO accounts (id, login, email, password, active, deleted_at) VALUES (?, ?, ?, ?, ?, ?)",
			a.id, a.login, a.email, "hash", a.active, a.deleted)
	}
}

func TestFindUsername(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.seedAccounts(t)
		u := f.open(t, Options{Table: "accounts", UsernameColumn: "login"})
		for _, tc := range []struct {
			name, login, wantID string
			wantErr             error
		}{
			{"exact", "Mike", "1", nil},
			{"ASCII case folded", "MIKE", "1", nil},
			{"surrounding spaces trimmed", "  mike\t", "1", nil},
			{"real account beside a lookalike", "TIM", "2", nil},
			{"lookalike matches only itself", "tım", "3", nil},
			{"dotted capital I does not match i", "TİM", "", reset.ErrUserNotFound},
			{"full-width letters do not match", "ｍｉｋｅ", "", reset.ErrUserNotFound},
			{"two accounts differing in case", "twin", "", reset.ErrAmbiguousUser},
			{"unknown", "nobody", "", reset.ErrUserNotFound},
			{"empty", " ", "", reset.ErrUserNotFound},
			{"SQL injection", "x' OR '1'='1", "", reset.ErrUserNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := u.FindUsername(context.Background(), tc.login)
				if !errors.Is(err, tc.wantErr) || got.ID != tc.wantID {
					t.Errorf("FindUsername(%q) = %+v, %v, want id %q, %v", tc.login, got, err, tc.wantID, tc.wantErr)
				}
				if err == nil && got.Email == "" {
					t.Errorf("FindUsername(%q) returned no stored address", tc.login)
				}
			})
		}
		if err := u.Check(context.Background()); err != nil {
			t.Errorf("Check with a username column = %v", err)
		}
		// Without a username column nothing is found by username.
		plain := f.open(t, Options{Table: "accounts"})
		if _, err := plain.FindUsername(context.Background(), "Mike"); !errors.Is(err, reset.ErrUserNotFound) {
			t.Errorf("FindUsername without a username column = %v, want ErrUserNotFound", err)
		}
	})
}

func TestEligible(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.seedAccounts(t)
		u := f.open(t, Options{Table: "accounts", UsernameColumn: "login", Eligible: "active = 1 AND deleted_at IS NULL"})
		ctx := context.Background()
		for _, email := range []string{"gone@example.com", "idle@example.com"} {
			if got, err := u.FindUser(ctx, email); !errors.Is(err, reset.ErrUserNotFound) {
				t.Errorf("FindUser(%q) of an ineligible account = %+v, %v, want ErrUserNotFound", email, got, err)
			}
		}
		if _, err := u.FindUsername(ctx, "idle"); !errors.Is(err, reset.ErrUserNotFound) {
			t.Errorf("FindUsername of an ineligible account = %v, want ErrUserNotFound", err)
		}
		// A link sent before the account stopped being eligible stops working with it.
		if _, err := u.UserByID(ctx, "4"); !errors.Is(err, reset.ErrUserNotFound) {
			t.Errorf("UserByID of an ineligible account = %v, want ErrUserNotFound", err)
		}
		if got, err := u.FindUser(ctx, "mike@example.com"); err != nil || got.ID != "1" {
			t.Errorf("FindUser of an eligible account = %+v, %v", got, err)
		}
		if err := u.Check(ctx); err != nil {
			t.Errorf("Check with a valid eligible = %v", err)
		}

		// check names a broken condition.
		bad := f.open(t, Options{Table: "accounts", Eligible: "no_such_column = 1"})
		if err := bad.Check(ctx); err == nil || !strings.Contains(err.Error(), "find_user") {
			t.Errorf("Check with eligible on a missing column = %v, want find_user named", err)
		}
	})
}

func TestEligibleRefusals(t *testing.T) {
	f := mustFixture(t, backends[2]) // SQLite: the refusals happen before any SQL runs
	for _, o := range []Options{
		{Eligible: "active = 1", FindUser: "SELECT id, email, password FROM users WHERE email = :email"},
		{Eligible: "active = 1", UserByID: "SELECT id, email, password FROM users WHERE id = :id"},
		{Eligible: "active = 1; DROP TABLE users"},
		{Eligible: "active = 1 -- everyone"},
		{Eligible: "id = :id"},
		{UsernameColumn: "login name"},
	} {
		o.Driver, o.DSN = f.b.driver, f.dsn
		if u, err := Open(context.Background(), o); err == nil {
			u.Close()
			t.Errorf("Open(%+v) = nil error, want a refusal", o)
		}
	}
}
