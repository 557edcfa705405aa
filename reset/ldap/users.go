package ldap

import (
	"context"
	"fmt"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"resetgate/reset"
)

// passwordAttribute is where RFC 2256/4519 directories keep passwords.
const passwordAttribute = "userPassword"

// attributes are the ones every lookup asks for.
func (u *Users) attributes() []string {
	a := []string{u.o.MailAttribute, passwordAttribute, u.o.ChangedAttribute, "modifyTimestamp"}
	for _, x := range []string{u.o.IDAttribute, u.o.NameAttribute, u.o.LanguageAttribute} {
		if x != "" {
			a = append(a, x)
		}
	}
	return a
}

// search runs filter under the base DN.
func (u *Users) search(c *goldap.Conn, filter string) ([]*goldap.Entry, error) {
	res, err := c.Search(goldap.NewSearchRequest(u.o.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		maxCandidates+1, 0, false, filter, u.attributes(), nil))
	if goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) || err == nil && len(res.Entries) > maxCandidates {
		return nil, fmt.Errorf("ldap: the filter matches more than %d entries for one address; check filter and base_dn", maxCandidates)
	}
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return nil, fmt.Errorf("ldap: base_dn %s does not exist", u.o.BaseDN)
	}
	if err != nil {
		return nil, fmt.Errorf("ldap: search %s: %w", u.o.BaseDN, err)
	}
	return res.Entries, nil
}

// FindUser returns the one account the filter finds for email (normalised by the caller)
// whose mail attribute holds an address that is [reset.SameEmail] as it; the directory's own
// matching rule only narrows the candidates (SECURITY.md RQ-REQ-07).
func (u *Users) FindUser(ctx context.Context, email string) (reset.User, error) {
	c, done, err := u.conn(ctx)
	if err != nil {
		return reset.User{}, err
	}
	defer done()
	entries, err := u.search(c, expand(u.o.Filter, email))
	if err != nil {
		return reset.User{}, err
	}
	var found []reset.User
	for _, e := range entries {
		if !u.hasAddress(e, email) {
			continue
		}
		usr, err := u.user(e)
		if err != nil {
			return reset.User{}, err
		}
		found = append(found, usr)
	}
	return reset.OnlyUser(found)
}

func (u *Users) hasAddress(e *goldap.Entry, email string) bool {
	for _, v := range e.GetAttributeValues(u.o.MailAttribute) {
		if u.o.CaseSensitive && strings.TrimSpace(v) == email || !u.o.CaseSensitive && reset.SameEmail(v, email) {
			return true
		}
	}
	return false
}

// UserByID returns the account with the given id (a DN, or the id attribute's value).
func (u *Users) UserByID(ctx context.Context, id string) (reset.User, error) {
	c, done, err := u.conn(ctx)
	if err != nil {
		return reset.User{}, err
	}
	defer done()
	e, err := u.entry(c, id)
	if err != nil {
		return reset.User{}, err
	}
	return u.user(e)
}

// entry reads the account with the given id, or returns ErrUserNotFound.
func (u *Users) entry(c *goldap.Conn, id string) (*goldap.Entry, error) {
	if u.o.IDAttribute != "" {
		entries, err := u.search(c, "("+u.o.IDAttribute+"="+goldap.EscapeFilter(id)+")")
		if err != nil {
			return nil, err
		}
		var match []*goldap.Entry
		for _, e := range entries {
			if e.GetAttributeValue(u.o.IDAttribute) == id {
				match = append(match, e)
			}
		}
		if len(match) != 1 {
			// None, or an id that is not unique: either way not one account.
			return nil, reset.ErrUserNotFound
		}
		return match[0], nil
	}
	dn, err := goldap.ParseDN(id)
	if err != nil || !(u.base.AncestorOfFold(dn) || u.base.EqualFold(dn)) {
		return nil, reset.ErrUserNotFound
	}
	res, err := c.Search(goldap.NewSearchRequest(id, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", u.attributes(), nil))
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) || err == nil && len(res.Entries) == 0 {
		return nil, reset.ErrUserNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("ldap: read %s: %w", id, err)
	}
	return res.Entries[0], nil
}

// user turns an entry into a [reset.User]. Its PasswordHash is what the link's fingerprint is
// taken over: userPassword when the service account can read it, else a stand-in that
// changes with the password (see [Options.ChangedAttribute]), written as an LDAP assertion
// such as "(entryCSN=…)" so that it can never be mistaken for a hash.
func (u *Users) user(e *goldap.Entry) (reset.User, error) {
	mails := e.GetAttributeValues(u.o.MailAttribute)
	if len(mails) == 0 {
		return reset.User{}, reset.ErrUserNotFound
	}
	id := e.DN
	if u.o.IDAttribute != "" {
		if id = e.GetAttributeValue(u.o.IDAttribute); id == "" {
			return reset.User{}, fmt.Errorf("ldap: %s has no %s, the configured id_attribute", e.DN, u.o.IDAttribute)
		}
	}
	usr := reset.User{ID: id, Email: strings.TrimSpace(mails[0])}
	if u.o.NameAttribute != "" {
		usr.Name = e.GetAttributeValue(u.o.NameAttribute)
	}
	if u.o.LanguageAttribute != "" {
		usr.Language = firstLanguage(e.GetAttributeValue(u.o.LanguageAttribute))
	}
	var err error
	if usr.PasswordHash, err = u.version(e); err != nil {
		return reset.User{}, err
	}
	return usr, nil
}

// firstLanguage is the first language tag of a value in Accept-Language syntax, as RFC 2798
// gives preferredLanguage ("da, en-gb;q=0.8" → "da"), trimmed of spaces; a plain tag ("de",
// "pt_BR") comes back as it is. A wildcard ("*") names no language and gives "".
func firstLanguage(v string) string {
	if i := strings.IndexAny(v, ",;"); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimSpace(v)
	if v == "*" {
		return ""
	}
	return v
}

// version is the entry's PasswordHash: see [Users.user].
func (u *Users) version(e *goldap.Entry) (string, error) {
	if pw := e.GetRawAttributeValues(passwordAttribute); len(pw) > 0 {
		return string(pw[0]), nil
	}
	for _, attr := range []string{u.o.ChangedAttribute, "modifyTimestamp"} {
		if v := e.GetAttributeValue(attr); v != "" {
			return "(" + attr + "=" + goldap.EscapeFilter(v) + ")", nil
		}
	}
	return "", fmt.Errorf("ldap: %s: the service account can read neither userPassword nor %s nor modifyTimestamp, so resetgate cannot tell when the password changes; grant read on one of them", e.DN, u.o.ChangedAttribute)
}

// isStandIn reports whether a PasswordHash from [Users.version] is a stand-in, not a value
// of userPassword.
func isStandIn(v string) bool { return strings.HasPrefix(v, "(") }

// Sample returns up to n userPassword values found by the filter with any address, for
// `resetgate doctor`; none when the service account cannot read userPassword.
func (u *Users) Sample(ctx context.Context, n int) ([]string, error) {
	c, done, err := u.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	// {email} becomes a presence test: (mail={email}) → (mail=*).
	res, err := c.Search(goldap.NewSearchRequest(u.o.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		n, 0, false, strings.ReplaceAll(u.o.Filter, "{email}", "*"), []string{passwordAttribute}, nil))
	if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
		return nil, fmt.Errorf("ldap: sample accounts: %w", err)
	}
	var out []string
	if res != nil {
		for _, e := range res.Entries {
			for _, v := range e.GetRawAttributeValues(passwordAttribute) {
				out = append(out, string(v))
			}
		}
	}
	return out, nil
}
