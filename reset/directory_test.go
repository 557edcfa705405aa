package reset_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"resetgate/reset"
	"resetgate/reset/resettest"
)

// directoryUsers is a store that hashes passwords itself, like an LDAP server offering the
// Password Modify operation: it stores "dir$" + password and refuses passwords its own policy
// dislikes. With hashSelf false it asks the service for the hash instead.
type directoryUsers struct {
	*resettest.Users
	hashSelf bool
	refuse   string
}

func (d *directoryUsers) SetPasswordPlain(ctx context.Context, old reset.User, password string, hash func() (string, error)) error {
	if strings.Contains(password, d.refuse) {
		return &reset.PolicyError{Problems: []reset.Problem{{Key: "password.dir_history"}}}
	}
	newHash := "dir$" + password
	if !d.hashSelf {
		var err error
		if newHash, err = hash(); err != nil {
			return err
		}
	}
	return d.SetPassword(ctx, old, newHash)
}

func TestPlainPasswordSetter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hashSelf bool
		hashErr  error
		want     string
	}{
		{"the store hashes; no hasher for the stand-in is needed", true, errors.New("not a hash"), "dir$a brand new secret"},
		{"the store asks for the hash", false, nil, "test$a brand new secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dir *directoryUsers
			f := newFixture(t, func(o *reset.Options) {
				dir = &directoryUsers{Users: o.Users.(*resettest.Users), hashSelf: tc.hashSelf, refuse: "old one"}
				o.Users = dir
				o.Hashers = hashers{h: plainHasher{}, err: tc.hashErr}
				if tc.hashErr != nil {
					o.Hashers = hashers{err: tc.hashErr}
				}
			})
			raw := f.link(t)
			ctx := context.Background()
			_, err := f.svc.CompleteReset(ctx, raw, "my old one again", "my old one again", "192.0.2.1")
			var pe *reset.PolicyError
			if !errors.As(err, &pe) || pe.Problems[0].Key != "password.dir_history" {
				t.Fatalf("CompleteReset refused by the store = %v, want its PolicyError", err)
			}
			if f.count(reset.EventPasswordRefused) != 1 {
				t.Errorf("refusal not counted")
			}
			// The token was released: the user corrects the password on the same link.
			if _, err := f.svc.CompleteReset(ctx, raw, "a brand new secret", "a brand new secret", "192.0.2.1"); err != nil {
				t.Fatalf("CompleteReset after the refusal = %v", err)
			}
			if got := f.users.Hash("1"); got != tc.want {
				t.Errorf("stored %q, want %q", got, tc.want)
			}
		})
	}
}
