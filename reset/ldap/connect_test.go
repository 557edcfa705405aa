package ldap

import (
	"context"
	"strings"
	"testing"

	"resetgate/internal/testenv"
)

func TestTLS(t *testing.T) {
	d := mustDirectory(t)
	d.addUser("alice", ssha(oldPassword), "alice@example.com")
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		url     string
		tls     string
		caFile  string
		wantErr string
	}{
		{"StartTLS with ca_file", d.URL, "starttls", d.CAFile, ""},
		{"LDAPS with ca_file", d.LDAPSURL, "ldaps", d.CAFile, ""},
		{"StartTLS without ca_file", d.URL, "starttls", "", "certificate signed by unknown authority"},
		{"LDAPS without ca_file", d.LDAPSURL, "ldaps", "", "certificate signed by unknown authority"},
		{"plain to loopback", d.URL, "none", "", ""},
		{"localhost is not in the certificate", strings.Replace(d.URL, "127.0.0.1", "localhost", 1), "starttls", d.CAFile, "wanted to match localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := d.options(testenv.LDAPServiceDN)
			o.URL, o.TLS, o.CAFile = tc.url, tc.tls, tc.caFile
			users, err := Open(ctx, o)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Open = %v", err)
				}
				if _, err := users.FindUser(ctx, "alice@example.com"); err != nil {
					t.Errorf("FindUser = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Open = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	good := Options{URL: "ldap://ldap.example.com", BindDN: "cn=svc,dc=example,dc=com", BindPassword: "x", BaseDN: "dc=example,dc=com"}
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"plain ldap:// off the machine", func(o *Options) { o.TLS = "none" }, "in clear to ldap.example.com"},
		{"ldaps:// with starttls", func(o *Options) { o.URL = "ldaps://ldap.example.com" }, `set tls = "ldaps"`},
		{"ldaps without ldaps://", func(o *Options) { o.TLS = "ldaps" }, "needs an ldaps:// url"},
		{"unknown tls", func(o *Options) { o.TLS = "ssl" }, "not one of starttls, ldaps, none"},
		{"http url", func(o *Options) { o.URL = "http://ldap.example.com" }, "must start with ldap://"},
		{"url with a DN", func(o *Options) { o.URL = "ldap://ldap.example.com/dc=example,dc=com" }, "without a user, DN or filter"},
		{"filter without placeholder", func(o *Options) { o.Filter = "(mail=%s)" }, "must contain {email}"},
		{"filter not a filter", func(o *Options) { o.Filter = "(mail={email}" }, "not a valid LDAP filter"},
		{"attribute name", func(o *Options) { o.MailAttribute = "mail)(x" }, "mail_attribute"},
		{"no bind password", func(o *Options) { o.BindPassword = "" }, "anonymously"},
		{"no base", func(o *Options) { o.BaseDN = "" }, "base_dn"},
		{"bad base", func(o *Options) { o.BaseDN = "example.com" }, "not a DN"},
		{"unknown write mode", func(o *Options) { o.PasswordWrite = "both" }, "password_write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.edit(&o)
			_, err := Open(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	o := good
	o.TLS, o.AllowPlaintext = "none", true
	if _, err := o.validate(); err != nil {
		t.Errorf("allow_plaintext = true: validate = %v, want nil", err)
	}
}

func TestForcedExtendedNeedsTheOperation(t *testing.T) {
	d := mustDirectory(t)
	o := d.options(testenv.LDAPAttrServiceDN)
	o.PasswordWrite = "extended"
	if _, err := Open(context.Background(), o); err == nil || !strings.Contains(err.Error(), "does not list the Password Modify") {
		t.Errorf("Open = %v, want a refusal naming the missing operation", err)
	}
	o = d.options(testenv.LDAPServiceDN)
	o.PasswordWrite = "attribute"
	if users := mustOpen(t, o); users.Extended() {
		t.Errorf("password_write = attribute, but Users uses the extended operation")
	}
}

func TestCheckAndSample(t *testing.T) {
	d := mustDirectory(t)
	d.addUser("alice", ssha(oldPassword), "alice@example.com")
	d.addUser("bob", ssha(oldPassword), "bob@example.com")
	ctx := context.Background()
	reader := mustOpen(t, d.options(testenv.LDAPAttrServiceDN))
	if err := reader.Check(ctx); err != nil {
		t.Errorf("Check = %v", err)
	}
	if got, err := reader.Sample(ctx, 10); err != nil || len(got) != 2 || !strings.HasPrefix(got[0], "{SSHA}") {
		t.Errorf("Sample = %q, %v; want the two {SSHA} values", got, err)
	}
	writer := mustOpen(t, d.options(testenv.LDAPServiceDN))
	if got, err := writer.Sample(ctx, 10); err != nil || len(got) != 0 {
		t.Errorf("Sample without read access = %q, %v; want none", got, err)
	}
	o := d.options(testenv.LDAPServiceDN)
	o.BaseDN = "ou=nowhere," + testenv.LDAPBaseDN
	if err := mustOpen(t, o).Check(ctx); err == nil || !strings.Contains(err.Error(), "ou=nowhere") {
		t.Errorf("Check with a missing base_dn = %v, want it named", err)
	}
	o = d.options(testenv.LDAPServiceDN)
	o.BindPassword = "wrong"
	if _, err := Open(ctx, o); err == nil || !strings.Contains(err.Error(), "Invalid Credentials") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("Open with a wrong password = %v, want invalid credentials, without the password", err)
	}
}
