package reset

import "context"

// PlainPasswordSetter is implemented by [Users] whose store hashes passwords itself: an LDAP
// directory offering the Password Modify extended operation (RFC 3062) applies its own hash
// scheme and password policy, so it needs the password as typed rather than a hash.
//
// When the Users given to [New] implement it, [Service.CompleteReset] calls SetPasswordPlain
// instead of SetPassword, and a missing hasher for the account's current value (a directory
// whose userPassword the service account cannot read) is no longer an error by itself.
type PlainPasswordSetter interface {
	// SetPasswordPlain sets the password of the account old.ID to password if its current
	// PasswordHash (as [Users.UserByID] reports it) is still old's, else returns ErrPasswordChanged and
	// writes nothing. When the store cannot hash the password itself, it calls hash, which
	// returns the new value in the account's own scheme (hashed under the service's hashing
	// semaphore), and writes that with a compare-and-swap; hash fails when no scheme is known.
	// A refusal by the store's own password policy is returned as a *PolicyError whose
	// problems are catalogue keys (password.dir_*); nothing is written then.
	SetPasswordPlain(ctx context.Context, old User, password string, hash func() (string, error)) error
}
