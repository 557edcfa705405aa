package main

import (
	"os"

	"resetgate/reset/ldap"
)

// LDAPConfig is [users.ldap]: an LDAP directory as the user store, with [users] driver = "ldap".
type LDAPConfig struct {
	URL               string   `toml:"url"`
	TLS               string   `toml:"tls"`
	CAFile            string   `toml:"ca_file"`
	AllowPlaintext    bool     `toml:"allow_plaintext"`
	BindDN            string   `toml:"bind_dn"`
	BindPasswordEnv   string   `toml:"bind_password_env"`
	BindPasswordFile  string   `toml:"bind_password_file"`
	BaseDN            string   `toml:"base_dn"`
	Filter            string   `toml:"filter"`
	IDAttribute       string   `toml:"id_attribute"`
	MailAttribute     string   `toml:"mail_attribute"`
	NameAttribute     string   `toml:"name_attribute"`
	LanguageAttribute string   `toml:"language_attribute"`
	ChangedAttribute  string   `toml:"changed_attribute"`
	PasswordWrite     string   `toml:"password_write"`
	Timeout           duration `toml:"timeout"`
}

// validate checks [users.ldap]; the adapter's own checks name the key at fault.
func (l *LDAPConfig) validate(getenv func(string) string, bad complain) {
	if l.URL == "" {
		bad("users.ldap.url", "required with driver = \"ldap\", e.g. \"ldap://ldap.example.com\" (StartTLS) or \"ldaps://ldap.example.com\"")
	}
	secretSource(bad, getenv, "users.ldap.bind_password", "", l.BindPasswordEnv, l.BindPasswordFile, true)
	if l.CAFile != "" {
		if _, err := os.Stat(l.CAFile); err != nil {
			bad("users.ldap.ca_file", "%v", err)
		}
	}
	if l.Timeout.Duration < 0 {
		bad("users.ldap.timeout", "must not be negative")
	}
	// The password itself is checked above; a placeholder keeps its problem from repeating.
	for _, p := range l.options("set", false).Problems() {
		if (p.Option == "url" && l.URL == "") || p.Option == "bind_password" {
			continue
		}
		bad("users.ldap."+p.Option, "%s", p.Msg)
	}
}

// options is [users.ldap] as the adapter's options.
func (l *LDAPConfig) options(bindPassword string, caseSensitive bool) ldap.Options {
	return ldap.Options{
		URL: l.URL, TLS: l.TLS, CAFile: l.CAFile, AllowPlaintext: l.AllowPlaintext,
		BindDN: l.BindDN, BindPassword: bindPassword, BaseDN: l.BaseDN, Filter: l.Filter,
		IDAttribute: l.IDAttribute, MailAttribute: l.MailAttribute, NameAttribute: l.NameAttribute,
		LanguageAttribute: l.LanguageAttribute,
		ChangedAttribute:  l.ChangedAttribute, PasswordWrite: l.PasswordWrite, CaseSensitive: caseSensitive,
		Timeout: l.Timeout.Duration,
	}
}
