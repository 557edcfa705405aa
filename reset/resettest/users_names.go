package resettest

import (
	"context"

	"resetgate/reset"
)

var _ reset.UsernameFinder = (*Users)(nil)

// SetUsername gives the account id the username name, for [Users.FindUsername].
func (u *Users) SetUsername(id, name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.names == nil {
		u.names = map[string]string{}
	}
	u.names[id] = name
}

// FindUsername returns the one account whose username is name under
// [reset.NormalizeUsername]; ErrUserNotFound if none, ErrAmbiguousUser if several.
func (u *Users) FindUsername(ctx context.Context, name string) (reset.User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.enter(FindUser); err != nil {
		return reset.User{}, err
	}
	var found []reset.User
	for _, x := range u.users {
		if n, ok := u.names[x.ID]; ok && reset.NormalizeUsername(n) == name {
			found = append(found, x)
		}
	}
	return reset.OnlyUser(found)
}
