package ldap

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"resetgate/internal/testenv"
	"resetgate/reset"
)

// directory is one slapd with helpers to change it as its administrator would.
type directory struct {
	*testenv.LDAPServer
	t *testing.T
}

func mustDirectory(t *testing.T) *directory {
	t.Helper()
	return &directory{testenv.LDAP(t), t}
}

// root returns a connection bound as the directory's rootdn, closed at the end of the test.
func (d *directory) root() *goldap.Conn {
	d.t.Helper()
	c, err := goldap.DialURL(d.URL)
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { c.Close() })
	if err := c.Bind(testenv.LDAPRootDN, testenv.LDAPRootPassword); err != nil {
		d.t.Fatal(err)
	}
	return c
}

// addUser adds uid=<uid> under people with the given mail values and userPassword value.
func (d *directory) addUser(uid, userPassword string, mails ...string) string {
	d.t.Helper()
	dn := "uid=" + uid + "," + testenv.LDAPPeopleDN
	req := goldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"inetOrgPerson"})
	req.Attribute("uid", []string{uid})
	req.Attribute("cn", []string{strings.ToUpper(uid[:1]) + uid[1:] + " Example"})
	req.Attribute("sn", []string{"Example"})
	req.Attribute("mail", mails)
	req.Attribute("userPassword", []string{userPassword})
	if err := d.root().Add(req); err != nil {
		d.t.Fatalf("add %s: %v", dn, err)
	}
	return dn
}

// setPassword changes dn's userPassword behind resetgate's back, as the app or an admin would.
func (d *directory) setPassword(dn, value string) {
	d.t.Helper()
	req := goldap.NewModifyRequest(dn, nil)
	req.Replace("userPassword", []string{value})
	if err := d.root().Modify(req); err != nil {
		d.t.Fatalf("modify %s: %v", dn, err)
	}
}

// userPassword reads dn's userPassword as the rootdn.
func (d *directory) userPassword(dn string) string {
	d.t.Helper()
	res, err := d.root().Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"userPassword"}, nil))
	if err != nil || len(res.Entries) != 1 {
		d.t.Fatalf("read %s: %v", dn, err)
	}
	return res.Entries[0].GetAttributeValue("userPassword")
}

// canBind reports whether dn binds with password.
func (d *directory) canBind(dn, password string) bool {
	d.t.Helper()
	c, err := goldap.DialURL(d.URL)
	if err != nil {
		d.t.Fatal(err)
	}
	defer c.Close()
	err = c.Bind(dn, password)
	if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
		d.t.Fatalf("bind %s: %v", dn, err)
	}
	return err == nil
}

// options are the adapter's options for this directory, bound as serviceDN over StartTLS.
func (d *directory) options(serviceDN string) Options {
	return Options{
		URL: d.URL, TLS: "starttls", CAFile: d.CAFile, BindDN: serviceDN, BindPassword: testenv.LDAPServicePassword,
		BaseDN: testenv.LDAPPeopleDN,
	}
}

func mustOpen(t *testing.T, o Options) *Users {
	t.Helper()
	u, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

// ssha is an RFC 2307 {SSHA} value, as OpenLDAP's slappasswd writes it.
func ssha(password string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	sum := sha1.Sum(append([]byte(password), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...))
}

func neverHash(t *testing.T) func() (string, error) {
	return func() (string, error) {
		t.Errorf("hash() called, but the directory hashes the password itself")
		return "", errors.New("not expected")
	}
}

const (
	oldPassword = "old-password-1"
	newPassword = "cobalt lantern orchard 42"
)

func TestFindUser(t *testing.T) {
	d := mustDirectory(t)
	alice := d.addUser("alice", ssha(oldPassword), "Alice@Example.com", "alice.alias@example.com")
	d.addUser("twin1", ssha(oldPassword), "twin@example.com")
	d.addUser("twin2", ssha(oldPassword), "TWIN@example.com")
	users := mustOpen(t, d.options(testenv.LDAPAttrServiceDN))
	ctx := context.Background()

	u, err := users.FindUser(ctx, "alice@example.com")
	if err != nil {
		t.Fatalf("FindUser(alice) = %v", err)
	}
	if u.ID != alice || u.Email != "Alice@Example.com" || u.Name != "Alice Example" || !strings.HasPrefix(u.PasswordHash, "{SSHA}") {
		t.Errorf("FindUser(alice) = %+v, want the DN, the stored address, cn and the {SSHA} value", u)
	}
	if u2, err := users.FindUser(ctx, "alice.alias@example.com"); err != nil || u2.ID != alice || u2.Email != "Alice@Example.com" {
		t.Errorf("FindUser(second mail value) = %+v, %v; want alice, mailed at her first address", u2, err)
	}
	if _, err := users.FindUser(ctx, "nobody@example.com"); !errors.Is(err, reset.ErrUserNotFound) {
		t.Errorf("FindUser(unknown) = %v, want ErrUserNotFound", err)
	}
	if _, err := users.FindUser(ctx, "twin@example.com"); !errors.Is(err, reset.ErrAmbiguousUser) {
		t.Errorf("FindUser(two entries) = %v, want ErrAmbiguousUser", err)
	}
	byID, err := users.UserByID(ctx, alice)
	if err != nil || byID != u {
		t.Errorf("UserByID(%s) = %+v, %v; want %+v", alice, byID, err, u)
	}
	for _, id := range []string{"uid=ghost," + testenv.LDAPPeopleDN, testenv.LDAPServiceDN, "not a dn"} {
		if _, err := users.UserByID(ctx, id); !errors.Is(err, reset.ErrUserNotFound) {
			t.Errorf("UserByID(%q) = %v, want ErrUserNotFound (absent, outside base_dn, or no DN)", id, err)
		}
	}

	byUID := mustOpen(t, func() Options { o := d.options(testenv.LDAPAttrServiceDN); o.IDAttribute = "uid"; return o }())
	if u, err := byUID.FindUser(ctx, "alice@example.com"); err != nil || u.ID != "alice" {
		t.Errorf("with id_attribute uid: FindUser = %+v, %v; want id alice", u, err)
	}
	if u, err := byUID.UserByID(ctx, "alice"); err != nil || u.Email != "Alice@Example.com" {
		t.Errorf("with id_attribute uid: UserByID(alice) = %+v, %v", u, err)
	}
	if _, err := byUID.UserByID(ctx, "*"); !errors.Is(err, reset.ErrUserNotFound) {
		t.Errorf("with id_attribute uid: UserByID(*) = %v, want ErrUserNotFound", err)
	}
}

func TestFilterInjectionFindsNoOne(t *testing.T) {
	d := mustDirectory(t)
	d.addUser("alice", ssha(oldPassword), "alice@example.com")
	d.addUser("bob", ssha(oldPassword), "bob@example.com")
	o := d.options(testenv.LDAPAttrServiceDN)
	o.Filter = "(&(objectClass=inetOrgPerson)(mail={email}))"
	users := mustOpen(t, o)
	for _, in := range []string{"*", "*)(uid=*", "alice@example.com)(uid=*", "*)(|(uid=*", "a*@example.com", `alice@example.com\`, "alice@example.com\x00"} {
		if u, err := users.FindUser(context.Background(), in); !errors.Is(err, reset.ErrUserNotFound) {
			t.Errorf("FindUser(%q) = %+v, %v; want ErrUserNotFound: the input must stay one assertion value", in, u, err)
		}
	}
	if got, want := expand(o.Filter, "*)(uid=*"), `(&(objectClass=inetOrgPerson)(mail=\2a\29\28uid=\2a))`; got != want {
		t.Errorf("expand = %s, want %s", got, want)
	}
}

func TestResetWithExtendedOperation(t *testing.T) {
	d := mustDirectory(t)
	dn := d.addUser("alice", ssha(oldPassword), "alice@example.com")
	users := mustOpen(t, d.options(testenv.LDAPServiceDN))
	if !users.Extended() {
		t.Fatalf("the root DSE lists the Password Modify operation, but Users does not use it: %s", users.Describe())
	}
	ctx := context.Background()
	u, err := users.FindUser(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	// This account cannot read userPassword: the fingerprint stands on entryCSN.
	if !strings.HasPrefix(u.PasswordHash, "(entryCSN=") {
		t.Fatalf("PasswordHash = %q, want the entryCSN stand-in", u.PasswordHash)
	}
	if err := users.SetPasswordPlain(ctx, u, newPassword, neverHash(t)); err != nil {
		t.Fatalf("SetPasswordPlain = %v", err)
	}
	if !d.canBind(dn, newPassword) || d.canBind(dn, oldPassword) {
		t.Errorf("after the reset: bind with the new password %t, with the old %t; want true, false", d.canBind(dn, newPassword), d.canBind(dn, oldPassword))
	}
	if stored := d.userPassword(dn); !strings.HasPrefix(stored, testenv.LDAPServerHash+"$6$") {
		t.Errorf("userPassword = %.12s…, want the server's own scheme %s$6$", stored, testenv.LDAPServerHash)
	}
	after, _ := users.UserByID(ctx, u.ID)
	if after.PasswordHash == u.PasswordHash {
		t.Errorf("the stand-in did not change with the password")
	}
	// The link's old fingerprint no longer matches: a second write is refused.
	if err := users.SetPasswordPlain(ctx, u, "another fine password 7", neverHash(t)); !errors.Is(err, reset.ErrPasswordChanged) {
		t.Errorf("SetPasswordPlain with a stale fingerprint = %v, want ErrPasswordChanged", err)
	}
}

func TestResetWritesUserPasswordWhenTheOperationIsNotOffered(t *testing.T) {
	d := mustDirectory(t)
	dn := d.addUser("alice", ssha(oldPassword), "alice@example.com")
	users := mustOpen(t, d.options(testenv.LDAPAttrServiceDN))
	if users.Extended() {
		t.Fatalf("the root DSE hides the operation from this account, but Users uses it: %s", users.Describe())
	}
	ctx := context.Background()
	u, err := users.FindUser(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.PasswordHash != d.userPassword(dn) {
		t.Fatalf("PasswordHash = %q, want the entry's userPassword", u.PasswordHash)
	}
	written := ssha(newPassword)
	calls := 0
	err = users.SetPasswordPlain(ctx, u, newPassword, func() (string, error) { calls++; return written, nil })
	if err != nil || calls != 1 {
		t.Fatalf("SetPasswordPlain = %v with %d hash() calls, want nil and 1", err, calls)
	}
	if !d.canBind(dn, newPassword) || d.canBind(dn, oldPassword) {
		t.Errorf("after the reset: bind with the new password %t, with the old %t; want true, false", d.canBind(dn, newPassword), d.canBind(dn, oldPassword))
	}
	if stored := d.userPassword(dn); stored != written {
		t.Errorf("userPassword = %q, want exactly the {SSHA} value resetgate wrote", stored)
	}
}

func TestCompareAndSwap(t *testing.T) {
	for _, tc := range []struct{ name, service string }{
		{"extended operation", testenv.LDAPServiceDN},
		{"userPassword", testenv.LDAPAttrServiceDN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustDirectory(t)
			dn := d.addUser("alice", ssha(oldPassword), "alice@example.com")
			users := mustOpen(t, d.options(tc.service))
			ctx := context.Background()
			u, err := users.FindUser(ctx, "alice@example.com")
			if err != nil {
				t.Fatal(err)
			}
			elsewhere := ssha("changed-in-the-app-9")
			d.setPassword(dn, elsewhere)
			err = users.SetPasswordPlain(ctx, u, newPassword, func() (string, error) { return ssha(newPassword), nil })
			if !errors.Is(err, reset.ErrPasswordChanged) {
				t.Errorf("SetPasswordPlain after a change elsewhere = %v, want ErrPasswordChanged", err)
			}
			if d.userPassword(dn) != elsewhere {
				t.Errorf("the password set elsewhere was overwritten")
			}
		})
	}
	t.Run("delete names the old value", func(t *testing.T) {
		d := mustDirectory(t)
		dn := d.addUser("alice", ssha(oldPassword), "alice@example.com")
		users := mustOpen(t, d.options(testenv.LDAPAttrServiceDN))
		if err := users.SetPassword(context.Background(), reset.User{ID: dn, PasswordHash: ssha("a guess")}, ssha(newPassword)); !errors.Is(err, reset.ErrPasswordChanged) {
			t.Errorf("SetPassword with a wrong old value = %v, want ErrPasswordChanged", err)
		}
		if !d.canBind(dn, oldPassword) {
			t.Errorf("the old password no longer works after a refused write")
		}
	})
}

func TestPasswordPolicyRefusals(t *testing.T) {
	d := mustDirectory(t)
	dn := d.addUser("alice", ssha(oldPassword), "alice@example.com")
	users := mustOpen(t, d.options(testenv.LDAPServiceDN))
	ctx := context.Background()
	set := func(password string) error {
		u, err := users.UserByID(ctx, dn)
		if err != nil {
			t.Fatal(err)
		}
		return users.SetPasswordPlain(ctx, u, password, neverHash(t))
	}
	if err := set(newPassword); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, password, want string }{
		{"shorter than pwdMinLength 12", "eleven-char", "password.dir_too_short"},
		{"in pwdHistory", oldPassword, "password.dir_history"},
		{"the current one", newPassword, "password.dir_history"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := set(tc.password)
			var pe *reset.PolicyError
			if !errors.As(err, &pe) || len(pe.Problems) != 1 || pe.Problems[0].Key != tc.want {
				t.Fatalf("SetPasswordPlain(%q) = %v, want a PolicyError saying %q", tc.password, err, tc.want)
			}
			if !d.canBind(dn, newPassword) {
				t.Errorf("a refused password changed the entry")
			}
		})
	}
}

// Servers without the assertion control get the delete-and-add modify. OpenLDAP always has the
// control, so the test turns its use off; the server still judges the modify for real. Without
// ppolicy, which would read the deleted value as a clear-text old password.
func TestDeleteAndAddWithoutAssertionControl(t *testing.T) {
	d := &directory{testenv.LDAP(t, testenv.LDAPWithoutPolicy()), t}
	dn := d.addUser("alice", ssha(oldPassword), "alice@example.com")
	users := mustOpen(t, d.options(testenv.LDAPAttrServiceDN))
	if !users.assertion {
		t.Fatalf("slapd lists the assertion control, but Users did not see it")
	}
	users.assertion = false
	ctx := context.Background()
	u, err := users.FindUser(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := users.SetPassword(ctx, reset.User{ID: u.ID, Email: u.Email, PasswordHash: ssha("a guess")}, ssha(newPassword)); !errors.Is(err, reset.ErrPasswordChanged) {
		t.Errorf("SetPassword with a wrong old value = %v, want ErrPasswordChanged", err)
	}
	written := ssha(newPassword)
	if err := users.SetPassword(ctx, u, written); err != nil {
		t.Fatalf("SetPassword = %v", err)
	}
	if !d.canBind(dn, newPassword) || d.canBind(dn, oldPassword) || d.userPassword(dn) != written {
		t.Errorf("after delete-and-add: new %t, old %t, stored %q", d.canBind(dn, newPassword), d.canBind(dn, oldPassword), d.userPassword(dn))
	}
}

// The modify itself is the compare-and-swap: a value changed between the read and the write
// makes the server refuse it, with the assertion control and with delete-and-add alike.
func TestModifyRefusesAStaleValue(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      []testenv.LDAPOption
		assertion bool
	}{
		{"assertion control", nil, true},
		{"delete and add", []testenv.LDAPOption{testenv.LDAPWithoutPolicy()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &directory{testenv.LDAP(t, tc.opts...), t}
			dn := d.addUser("alice", ssha(oldPassword), "alice@example.com")
			users := mustOpen(t, d.options(testenv.LDAPAttrServiceDN))
			users.assertion = tc.assertion
			c, done, err := users.conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer done()
			stale, err := users.entry(c, dn)
			if err != nil {
				t.Fatal(err)
			}
			elsewhere := ssha("changed-in-the-app-9")
			d.setPassword(dn, elsewhere)
			if err := users.replace(c, stale, ssha(newPassword)); !errors.Is(err, reset.ErrPasswordChanged) {
				t.Errorf("replace over a stale value = %v, want ErrPasswordChanged", err)
			}
			if d.userPassword(dn) != elsewhere {
				t.Errorf("the value set elsewhere was overwritten")
			}
		})
	}
}

// Whatever the address, the expanded filter is the template's one equality assertion whose
// value is exactly the address (RFC 4515 escaping cannot be escaped out of).
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"alice@example.com", "*)(uid=*", `\2a`, "a\x00b", "ü@example.com", ")(|(objectClass=*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, email string) {
		p, err := goldap.CompileFilter(expand(DefaultFilter, email))
		if err != nil {
			t.Fatalf("expand(%q) does not compile: %v", email, err)
		}
		if p.Tag != goldap.FilterEqualityMatch || len(p.Children) != 2 {
			t.Fatalf("expand(%q) compiled to filter tag %d with %d children, want one equality match", email, p.Tag, len(p.Children))
		}
		if attr, value := p.Children[0].Data.String(), p.Children[1].Data.String(); attr != "mail" || value != email {
			t.Fatalf("expand(%q) asserts %s=%q", email, attr, value)
		}
	})
}
