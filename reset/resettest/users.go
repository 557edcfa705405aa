package resettest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"resetgate/reset"
)

// The names of the [reset.Users] methods, for [Users.FailNext] and [Users.Calls].
const (
	FindUser    = "FindUser"
	UserByID    = "UserByID"
	SetPassword = "SetPassword"
	Ping        = "Ping"
)

// Users is an in-memory [reset.Users]: the legacy app's account table as a test sees it. It
// matches addresses with [reset.SameEmail], like reset/sqldb after its database's collation,
// and SetPassword is a compare-and-swap on the stored hash. Tests can change accounts "from
// elsewhere" (as the legacy app itself would), inject errors and count calls. It is safe for
// concurrent use.
type Users struct {
	mu    sync.Mutex
	users []reset.User      // in insertion order, so lookups are deterministic
	names map[string]string // id → username, for FindUsername
	fail  error
	next  []injected
	calls map[string]int
}

type injected struct {
	method string // "" for whichever method is called first
	err    error
}

var _ reset.Users = (*Users)(nil)

// NewUsers returns a store holding users. Ids must be distinct.
func NewUsers(users ...reset.User) *Users {
	u := &Users{calls: make(map[string]int)}
	for _, x := range users {
		u.Put(x)
	}
	return u
}

// FindUser returns the one account whose stored address is [reset.SameEmail] as email;
// ErrUserNotFound if none, ErrAmbiguousUser if several.
func (u *Users) FindUser(ctx context.Context, email string) (reset.User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.enter(FindUser); err != nil {
		return reset.User{}, err
	}
	var found []reset.User
	for _, x := range u.users {
		if reset.SameEmail(x.Email, email) {
			found = append(found, x)
		}
	}
	return reset.OnlyUser(found)
}

// UserByID returns the account with the given id, or ErrUserNotFound.
func (u *Users) UserByID(ctx context.Context, id string) (reset.User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.enter(UserByID); err != nil {
		return reset.User{}, err
	}
	if i := u.index(id); i >= 0 {
		return u.users[i], nil
	}
	return reset.User{}, reset.ErrUserNotFound
}

// SetPassword replaces the account's hash with newHash if its hash and address are still
// those of old, and returns ErrPasswordChanged, changing nothing, if not or the account is
// gone.
func (u *Users) SetPassword(ctx context.Context, old reset.User, newHash string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.enter(SetPassword); err != nil {
		return err
	}
	i := u.index(old.ID)
	if i < 0 || u.users[i].PasswordHash != old.PasswordHash || u.users[i].Email != old.Email {
		return reset.ErrPasswordChanged
	}
	u.users[i].PasswordHash = newHash
	return nil
}

// Ping fails only when a failure was injected.
func (u *Users) Ping(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.enter(Ping)
}

// Put adds the account, or replaces the one with the same id (an edit made in the legacy app).
func (u *Users) Put(x reset.User) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if i := u.index(x.ID); i >= 0 {
		u.users[i] = x
		return
	}
	u.users = append(u.users, x)
}

// Delete removes the account, if it exists.
func (u *Users) Delete(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if i := u.index(id); i >= 0 {
		u.users = slices.Delete(u.users, i, i+1)
	}
}

// User returns the account as currently stored, and whether it exists.
func (u *Users) User(id string) (reset.User, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if i := u.index(id); i >= 0 {
		return u.users[i], true
	}
	return reset.User{}, false
}

// Hash returns the account's current password hash, or "" if there is no such account.
func (u *Users) Hash(id string) string {
	x, _ := u.User(id)
	return x.PasswordHash
}

// SetHash changes the account's hash as the legacy app would (the user changed the password
// there), bypassing the compare-and-swap. It panics if there is no such account: the test is
// wrong.
func (u *Users) SetHash(id, hash string) {
	u.edit(id, func(x *reset.User) { x.PasswordHash = hash })
}

// SetEmail changes the account's stored address as the legacy app would. It panics if there is
// no such account.
func (u *Users) SetEmail(id, email string) {
	u.edit(id, func(x *reset.User) { x.Email = email })
}

// Fail makes every call fail with err (the database is down) until Fail(nil).
func (u *Users) Fail(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.fail = err
}

// FailNext makes the next call of the named method ([FindUser], [UserByID], [SetPassword],
// [Ping]; "" for whichever is called first) return err, changing nothing. Several calls queue
// failures in order. It panics on an unknown method name.
func (u *Users) FailNext(method string, err error) {
	switch method {
	case "", FindUser, UserByID, SetPassword, Ping:
	default:
		panic(fmt.Sprintf("resettest: Users has no method %q", method))
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.next = append(u.next, injected{method, err})
}

// Calls returns how many times the named method was called, failed calls included. Tests use
// it to prove, for one, that the request path never looks an account up (SECURITY.md RQ-REQ-02).
func (u *Users) Calls(method string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[method]
}

// enter counts a call of method and returns the failure injected for it, if any. u.mu is held.
func (u *Users) enter(method string) error {
	u.calls[method]++
	if u.fail != nil {
		return u.fail
	}
	for i, in := range u.next {
		if in.method == "" || in.method == method {
			u.next = slices.Delete(u.next, i, i+1)
			return in.err
		}
	}
	return nil
}

func (u *Users) index(id string) int {
	return slices.IndexFunc(u.users, func(x reset.User) bool { return x.ID == id })
}

func (u *Users) edit(id string, f func(*reset.User)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	i := u.index(id)
	if i < 0 {
		panic(fmt.Sprintf("resettest: no user with id %q", id))
	}
	f(&u.users[i])
}
