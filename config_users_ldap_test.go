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
	cfg, err = parseConfig("l.toml", []byte(strings.Replace(minimalLDAP, "[mail]", "language_attribute = \"preferredLanguage\"\n[mail]", 1)), env("LDAP_PASSWORD", "s3cret"))
	if err != nil {
		t.Fatalf("parseConfig(ldap with language_attribute) = %v", err)
	}
	if o := cfg.Users.LDAP.options("x", false); o.LanguageAttribute != "preferredLanguage" {
		t.Errorf("language_attribute not passed on: %+v", o)
	}
}

func TestLanguageColumnConfig(t *testing.T) {
	cfg, err := parseConfig("m.toml", []byte(strings.Replace(minimal, "[users]\n", "[users]\nlanguage_column = \"locale\"\n", 1)), env())
	if err != nil {
		t.Fatalf("parseConfig(language_column) = %v", err)
	}
	if cfg.Users.LanguageColumn != "locale" {
		t.Errorf("users.language_column = %q, want %q", cfg.Users.LanguageColumn, "locale")
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
		{"language_column with ldap", edit("[users]\n", "[users]\nlanguage_column = \"locale\"\n"), "users.language_column", 4, "language_attribute"},
		{"bad language_attribute", edit(`[mail]`, "language_attribute = \"preferred_language\"\n[mail]"), "users.ldap.language_attribute", 11, "not an attribute name"},
		{"language_attribute with a SQL driver", strings.Replace(minimal, "[mail]", "[users.ldap]\nlanguage_attribute = \"preferredLanguage\"\n[mail]", 1),
			"users.ldap.language_attribute", 6, "language_column"},
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
