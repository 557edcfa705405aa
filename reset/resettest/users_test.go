package resettest_test

import (
	"errors"
	"testing"

	"resetgate/reset"
	"resetgate/reset/resettest"
)

var (
	alice = reset.User{ID: "1", Email: "Alice@Example.com", Name: "Alice", PasswordHash: "h1"}
	bob   = reset.User{ID: "2", Email: "bob@example.com", PasswordHash: "h2"}
)

func TestUsersFindUser(t *testing.T) {
	twin := reset.User{ID: "3", Email: "BOB@example.com", PasswordHash: "h3"}
	dotless := reset.User{ID: "4", Email: "tım@example.com"}
	tests := []struct {
		name   string
		users  []reset.User
		email  string
		wantID string
		want   error
	}{
		{"exact match", []reset.User{alice, bob}, "bob@example.com", "2", nil},
		{"stored address in another case", []reset.User{alice, bob}, "alice@example.com", "1", nil},
		{"unknown address", []reset.User{alice, bob}, "carol@example.com", "", reset.ErrUserNotFound},
		{"two accounts fold to one address", []reset.User{bob, twin}, "bob@example.com", "", reset.ErrAmbiguousUser},
		{"dotless i matches only itself", []reset.User{dotless}, "tim@example.com", "", reset.ErrUserNotFound},
		{"no accounts", nil, "bob@example.com", "", reset.ErrUserNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := resettest.NewUsers(tt.users...)
			got, err := u.FindUser(t.Context(), tt.email)
			if !errors.Is(err, tt.want) || got.ID != tt.wantID {
				t.Errorf("FindUser(%q) = %q, %v, want %q, %v", tt.email, got.ID, err, tt.wantID, tt.want)
			}
		})
	}
}

func TestUsersSetPassword(t *testing.T) {
	tests := []struct {
		name     string
		id, old  string
		want     error
		wantHash string
	}{
		{"current hash is swapped", "1", "h1", nil, "new"},
		{"stale hash writes nothing", "1", "stale", reset.ErrPasswordChanged, "h1"},
		{"missing account", "9", "h1", reset.ErrPasswordChanged, "h1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := resettest.NewUsers(alice)
			if err := u.SetPassword(t.Context(), reset.User{ID: tt.id, Email: alice.Email, PasswordHash: tt.old}, "new"); !errors.Is(err, tt.want) {
				t.Errorf("SetPassword(%q, %q) = %v, want %v", tt.id, tt.old, err, tt.want)
			}
			if got := u.Hash("1"); got != tt.wantHash {
				t.Errorf("Hash(%q) = %q, want %q", "1", got, tt.wantHash)
			}
		})
	}
}

func TestUsersChangedElsewhere(t *testing.T) {
	u := resettest.NewUsers(alice)
	u.SetHash("1", "changed-in-app")
	if err := u.SetPassword(t.Context(), alice, "new"); !errors.Is(err, reset.ErrPasswordChanged) {
		t.Errorf("SetPassword after SetHash = %v, want %v", err, reset.ErrPasswordChanged)
	}
	u.SetEmail("1", "alice@new.example")
	if got, err := u.UserByID(t.Context(), "1"); err != nil || got.Email != "alice@new.example" || got.PasswordHash != "changed-in-app" {
		t.Errorf("UserByID(%q) = %+v, %v, want the edited account", "1", got, err)
	}
	u.Delete("1")
	if _, err := u.UserByID(t.Context(), "1"); !errors.Is(err, reset.ErrUserNotFound) {
		t.Errorf("UserByID(%q) after Delete = %v, want %v", "1", err, reset.ErrUserNotFound)
	}
}

func TestUsersFailures(t *testing.T) {
	down := errors.New("connection refused")
	u := resettest.NewUsers(alice)
	u.FailNext(resettest.SetPassword, down)
	if _, err := u.UserByID(t.Context(), "1"); err != nil {
		t.Errorf("UserByID with a failure queued for SetPassword = %v, want nil", err)
	}
	if err := u.SetPassword(t.Context(), alice, "new"); !errors.Is(err, down) {
		t.Errorf("SetPassword = %v, want the injected %v", err, down)
	}
	if got := u.Hash("1"); got != "h1" {
		t.Errorf("Hash after a failed SetPassword = %q, want %q", got, "h1")
	}
	if err := u.SetPassword(t.Context(), alice, "new"); err != nil {
		t.Errorf("second SetPassword = %v, want nil (the failure was for one call)", err)
	}

	u.Fail(down)
	for _, err := range []error{u.Ping(t.Context()), u.Ping(t.Context())} {
		if !errors.Is(err, down) {
			t.Errorf("Ping while failing = %v, want %v", err, down)
		}
	}
	u.Fail(nil)
	if err := u.Ping(t.Context()); err != nil {
		t.Errorf("Ping after Fail(nil) = %v, want nil", err)
	}
	if got := u.Calls(resettest.Ping); got != 3 {
		t.Errorf("Calls(Ping) = %d, want 3", got)
	}
	if got := u.Calls(resettest.FindUser); got != 0 {
		t.Errorf("Calls(FindUser) = %d, want 0", got)
	}
}

func TestUsersFailNextUnknownMethod(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("FailNext(%q) did not panic", "SetPasword")
		}
	}()
	resettest.NewUsers().FailNext("SetPasword", errors.New("x"))
}
