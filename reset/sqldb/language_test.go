package sqldb

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"resetgate/reset"
)

// seedLanguages adds a language column, lang, to the users table of seedUsers, as an app
// that stores each account's locale has it: mike "de", kate "pt_BR" padded as a CHAR column
// pads it, tim "fr-CA", ann "" and the others NULL.
func (f *fixture) seedLanguages(t *testing.T) {
	t.Helper()
	f.exec(t, "ALTER TABLE users ADD COLUMN lang {str}")
	for id, lang := range map[int]string{1: "de", 3: " pt_BR  ", 6: "fr-CA", 8: ""} {
		f.exec(t, "UPDATE users SET lang = ? WHERE id = ?", lang, id)
	}
}

func TestLanguageColumn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.seedUsers(t)
		f.seedLanguages(t)
		ctx := context.Background()
		u := f.open(t, Options{NameColumn: "name", LanguageColumn: "lang", UsernameColumn: "name"})
		if err := u.Check(ctx); err != nil {
			t.Fatalf("Check() with a language column = %v", err)
		}
		for _, tc := range []struct {
			name, email, id, username string
			want                      reset.User
		}{
			{"set", "MIKE@example.com", "1", "mike",
				reset.User{ID: "1", Email: "mike@example.com", Name: "Mike", PasswordHash: "hash-1", Language: "de"}},
			{"spaces trimmed", "kate@example.com", "3", "Kate",
				reset.User{ID: "3", Email: "kate@example.com", Name: "Kate", PasswordHash: "hash-3", Language: "pt_BR"}},
			{"region with a hyphen", "tim@example.com", "6", "TIM",
				reset.User{ID: "6", Email: "tim@example.com", Name: "Tim", PasswordHash: "hash-6", Language: "fr-CA"}},
			{"NULL language and name", "mixed.case@example.com", "2", "",
				reset.User{ID: "2", Email: "Mixed.Case@Example.COM", PasswordHash: "hash-2"}},
			{"empty language and name", "ann@example.com", "8", "",
				reset.User{ID: "8", Email: "ann@example.com", PasswordHash: "hash-8"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got, err := u.FindUser(ctx, tc.email); err != nil || got != tc.want {
					t.Errorf("FindUser(%q) = %+v, %v, want %+v", tc.email, got, err, tc.want)
				}
				if got, err := u.UserByID(ctx, tc.id); err != nil || got != tc.want {
					t.Errorf("UserByID(%q) = %+v, %v, want %+v", tc.id, got, err, tc.want)
				}
				if tc.username == "" {
					return
				}
				if got, err := u.FindUsername(ctx, tc.username); err != nil || got != tc.want {
					t.Errorf("FindUsername(%q) = %+v, %v, want %+v", tc.username, got, err, tc.want)
				}
			})
		}

		// Without a name column the language is still read as the language.
		bare := f.open(t, Options{LanguageColumn: "lang", UsernameColumn: "email"})
		want := reset.User{ID: "1", Email: "mike@example.com", PasswordHash: "hash-1", Language: "de"}
		if got, err := bare.FindUser(ctx, "mike@example.com"); err != nil || got != want {
			t.Errorf("FindUser without a name column = %+v, %v, want %+v", got, err, want)
		}
		if got, err := bare.UserByID(ctx, "1"); err != nil || got != want {
			t.Errorf("UserByID without a name column = %+v, %v, want %+v", got, err, want)
		}
		if got, err := bare.FindUsername(ctx, "mike@example.com"); err != nil || got != want {
			t.Errorf("FindUsername without a name column = %+v, %v, want %+v", got, err, want)
		}

		// Without a language column, Language stays empty.
		plain := f.open(t, Options{NameColumn: "name"})
		if got, err := plain.FindUser(ctx, "mike@example.com"); err != nil || got.Language != "" || got.Name != "Mike" {
			t.Errorf("FindUser without a language column = %+v, %v, want Mike without a language", got, err)
		}
	})
}

// TestLanguageCustomQueries: a custom lookup gives the language as a fifth column, after a
// name or a NULL in its place, whatever language_column says.
func TestLanguageCustomQueries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.seedUsers(t)
		f.seedLanguages(t)
		ctx := context.Background()
		u := f.open(t, Options{
			LanguageColumn: "lang", // for the built user_by_id
			FindUser:       "SELECT id, email, password, NULL, lang FROM users WHERE LOWER(email) = :email",
		})
		if err := u.Check(ctx); err != nil {
			t.Fatalf("Check() = %v", err)
		}
		want := reset.User{ID: "3", Email: "kate@example.com", PasswordHash: "hash-3", Language: "pt_BR"}
		if got, err := u.FindUser(ctx, "kate@example.com"); err != nil || got != want {
			t.Errorf("custom FindUser = %+v, %v, want %+v", got, err, want)
		}
		if got, err := u.UserByID(ctx, "3"); err != nil || got != want {
			t.Errorf("built UserByID beside a custom FindUser = %+v, %v, want %+v", got, err, want)
		}
		named := f.open(t, Options{UserByID: "SELECT id, email, password, name, lang FROM users WHERE id = :id"})
		want.Name = "Kate"
		if got, err := named.UserByID(ctx, "3"); err != nil || got != want {
			t.Errorf("custom UserByID = %+v, %v, want %+v", got, err, want)
		}

		wide := f.open(t, Options{FindUser: "SELECT id, email, password, name, lang, id FROM users WHERE email = :email"})
		err := wide.Check(ctx)
		if err == nil || !strings.Contains(err.Error(), "find_user must select id, email, password and optionally name and language") {
			t.Errorf("Check() of a find_user selecting six columns = %v, want it refused", err)
		}
		if _, err := wide.FindUser(ctx, "kate@example.com"); err == nil || errors.Is(err, reset.ErrUserNotFound) {
			t.Errorf("FindUser selecting six columns = %v, want an error", err)
		}
	})
}

func TestLanguageColumnCheck(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.seedUsers(t)
		err := f.open(t, Options{NameColumn: "name", LanguageColumn: "locale"}).Check(context.Background())
		if err == nil {
			t.Fatal("Check() with a missing language column = nil, want an error")
		}
		for _, want := range []string{`no column "locale" (language_column)`, "its columns are: id, email, password, name"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Check() = %v, want it to name %q", err, want)
			}
		}
	})
}

func TestLanguageColumnRefusedAndGranted(t *testing.T) {
	f := mustFixture(t, backends[2]) // SQLite: the refusal happens before any SQL runs
	for _, bad := range []string{"lang;", "lang uage", "users.lang", `lang"`} {
		u, err := Open(context.Background(), Options{Driver: f.b.driver, DSN: f.dsn, LanguageColumn: bad})
		if err == nil {
			u.Close()
			t.Errorf("Open(language_column %q) = nil error, want a refusal", bad)
			continue
		}
		if !strings.Contains(err.Error(), "language_column") {
			t.Errorf("Open(language_column %q) = %v, want language_column named", bad, err)
		}
	}

	// The grant suggested for a refused privilege includes the language column.
	u := f.open(t, Options{NameColumn: "name", LanguageColumn: "lang"})
	refused := &pgconn.PgError{Code: "42501", Message: "permission denied for table users"}
	want := "GRANT SELECT (id, email, password, name, lang), UPDATE (password) ON users TO resetgate"
	if got := u.grantHint(refused, "find_user"); !strings.Contains(got, want) {
		t.Errorf("grantHint = %q, want it to contain %q", got, want)
	}
}
