package ldap

import (
	"context"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"resetgate/internal/testenv"
)

// setAttribute replaces attr of dn with values, as the directory's administrator would.
func (d *directory) setAttribute(dn, attr string, values ...string) {
	d.t.Helper()
	req := goldap.NewModifyRequest(dn, nil)
	req.Replace(attr, values)
	if err := d.root().Modify(req); err != nil {
		d.t.Fatalf("modify %s: %v", dn, err)
	}
}

// TestLanguageAttribute reads inetOrgPerson's preferredLanguage (RFC 2798) from a real
// slapd, where it holds an Accept-Language value or a plain tag.
func TestLanguageAttribute(t *testing.T) {
	d := mustDirectory(t)
	alice := d.addUser("alice", ssha(oldPassword), "alice@example.com")
	d.setAttribute(alice, "preferredLanguage", "da, en-gb;q=0.8, en;q=0.7")
	bob := d.addUser("bob", ssha(oldPassword), "bob@example.com")
	d.setAttribute(bob, "preferredLanguage", "pt_BR")
	carol := d.addUser("carol", ssha(oldPassword), "carol@example.com")
	d.setAttribute(carol, "preferredLanguage", "fr-CA;q=0.9")
	dave := d.addUser("dave", ssha(oldPassword), "dave@example.com") // none
	ctx := context.Background()

	o := d.options(testenv.LDAPAttrServiceDN)
	o.LanguageAttribute = "preferredLanguage"
	users := mustOpen(t, o)
	o.IDAttribute = "uid"
	byUID := mustOpen(t, o)
	for _, tc := range []struct{ uid, dn, email, want string }{
		{"alice", alice, "alice@example.com", "da"},
		{"bob", bob, "bob@example.com", "pt_BR"},
		{"carol", carol, "carol@example.com", "fr-CA"},
		{"dave", dave, "dave@example.com", ""},
	} {
		if u, err := users.FindUser(ctx, tc.email); err != nil || u.Language != tc.want || u.ID != tc.dn {
			t.Errorf("FindUser(%s) = %+v, %v, want language %q", tc.email, u, err, tc.want)
		}
		if u, err := users.UserByID(ctx, tc.dn); err != nil || u.Language != tc.want {
			t.Errorf("UserByID(%s) = %+v, %v, want language %q", tc.dn, u, err, tc.want)
		}
		if u, err := byUID.UserByID(ctx, tc.uid); err != nil || u.Language != tc.want {
			t.Errorf("with id_attribute uid: UserByID(%s) = %+v, %v, want language %q", tc.uid, u, err, tc.want)
		}
	}

	// Without language_attribute nothing is read.
	plain := mustOpen(t, d.options(testenv.LDAPAttrServiceDN))
	if u, err := plain.FindUser(ctx, "alice@example.com"); err != nil || u.Language != "" {
		t.Errorf("FindUser without language_attribute = %+v, %v, want no language", u, err)
	}
}

func TestFirstLanguage(t *testing.T) {
	for in, want := range map[string]string{
		"de":                        "de",
		"pt_BR":                     "pt_BR",
		" fr-CA ":                   "fr-CA",
		"da, en-gb;q=0.8, en;q=0.7": "da",
		"en-gb;q=0.8, da":           "en-gb",
		"*":                         "",
		"*;q=0.5":                   "",
		"":                          "",
		" , de":                     "",
	} {
		if got := firstLanguage(in); got != want {
			t.Errorf("firstLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLanguageAttributeValidated(t *testing.T) {
	o := Options{URL: "ldaps://ldap.example.com", TLS: "ldaps", BindDN: "cn=resetgate,dc=example,dc=org", BindPassword: "x",
		BaseDN: "ou=people,dc=example,dc=org", LanguageAttribute: "preferred_language"}
	ps := o.Problems()
	if len(ps) != 1 || ps[0].Option != "language_attribute" {
		t.Errorf("Problems() = %v, want one, for language_attribute", ps)
	}
	o.LanguageAttribute = "preferredLanguage"
	if ps := o.Problems(); len(ps) != 0 {
		t.Errorf("Problems() = %v, want none", ps)
	}
}
