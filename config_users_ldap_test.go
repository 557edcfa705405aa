package main

import (
	"strings"
	"testing"
)

const minimalLDAP = `public_url = "https://app.example.com"
upstream = "http://127.0.0.1:5000"
[users]
driver = "ldap"
[users.ldap]
url = "ldaps://ldap.example.com"
tls = "ldaps"
bind_dn = "cn=resetgate,ou=services,dc=example,dc=org"
bind_password_env = "LDAP_PASSWORD"
base_dn = "ou=people,dc=example,dc=org"
[mail]
from = "App <no-reply@example.com>"
`

func TestLDAPConfig(t *testing.T) {
	cfg, err := parseConfig("l.toml", []byte(minimalLDAP), env("LDAP_PASSWORD", "s3cret"))
	if err != nil {
		t.Fatalf("parseConfig(minimal ldap) = %v", err)
	}
	if o := cfg.Users.LDAP.options("x", false); o.Filter != "(mail={email})" || o.PasswordWrite != "auto" || o.MailAttribute != "mail" {
		t.Errorf("defaults not applied: %+v", o)
	}
}

func TestLDAPConfigProblems(t *testing.T) {
	edit := func(old, new string) string { return strings.Replace(minimalLDAP, old, new, 1) }
	tests := []struct {
		name    string
		toml    string
		wantKey string
		line    int
		want    string
	}{
		{"plain ldap to another host", edit(`url = "ldaps://ldap.example.com"
tls = "ldaps"`, `url = "ldap://ldap.example.com"
tls = "none"`), "users.ldap.tls", 7, "in clear to ldap.example.com"},
		{"ldaps url with starttls", edit(`tls = "ldaps"`, `tls = "starttls"`), "users.ldap.tls", 7, `set tls = "ldaps"`},
		{"no url", edit(`url = "ldaps://ldap.example.com"`, ``), "users.ldap.url", 0, "required with driver"},
		{"filter without placeholder", edit(`[mail]`, "filter = \"(mail=%s)\"\n[mail]"), "users.ldap.filter", 11, "must contain {email}"},
		{"bad base", edit(`base_dn = "ou=people,dc=example,dc=org"`, `base_dn = "people"`), "users.ldap.base_dn", 10, "not a DN"},
		{"password env unset", edit(`LDAP_PASSWORD`, `NOPE`), "users.ldap.bind_password_env", 9, "NOPE is not set"},
		{"inline password", edit(`bind_password_env = "LDAP_PASSWORD"`, `bind_password = "x"`), "users.ldap.bind_password", 9, "bind_password_env or bind_password_file"},
		{"dsn with ldap", edit("[users]\n", "[users]\ndsn = \"file:x.db\"\n"), "users.dsn", 4, "[users.ldap]"},
		{"missing ca_file", edit(`[mail]`, "ca_file = \"/nonexistent/ca.pem\"\n[mail]"), "users.ldap.ca_file", 11, "no such file"},
		{"write mode", edit(`[mail]`, "password_write = \"hash\"\n[mail]"), "users.ldap.password_write", 11, "auto, extended, attribute, unicodepwd"},
		{"unicodePwd in clear", strings.Replace(edit(`url = "ldaps://ldap.example.com"
tls = "ldaps"`, `url = "ldap://127.0.0.1"
tls = "none"`), "[mail]", "password_write = \"unicodepwd\"\n[mail]", 1), "users.ldap.password_write", 11, "only over an encrypted connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problems(t, tt.toml, env("LDAP_PASSWORD", "s3cret"))
			for _, p := range ps {
				if p.Key == tt.wantKey {
					if tt.line != 0 && p.Line != tt.line {
						t.Errorf("%s reported at line %d, want %d", p.Key, p.Line, tt.line)
					}
					if !strings.Contains(p.String(), tt.want) {
						t.Errorf("problem %q lacks %q", p, tt.want)
					}
					return
				}
			}
			t.Errorf("no problem for %s among %v", tt.wantKey, ps)
		})
	}
}
