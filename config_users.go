package main

import (
	"strings"

	"resetgate/reset/passhash"
)

// UsersConfig is [users]: the legacy app's user store.
type UsersConfig struct {
	Driver         string   `toml:"driver"`
	DSN            string   `toml:"dsn"`
	DSNEnv         string   `toml:"dsn_env"`
	DSNFile        string   `toml:"dsn_file"`
	Table          string   `toml:"table"`
	IDColumn       string   `toml:"id_column"`
	EmailColumn    string   `toml:"email_column"`
	PasswordColumn string   `toml:"password_column"`
	NameColumn     string   `toml:"name_column"`
	CaseSensitive  bool     `toml:"email_case_sensitive"`
	UsernameColumn string   `toml:"username_column"`
	LanguageColumn string   `toml:"language_column"`
	Eligible       string   `toml:"eligible"`
	Hash           string   `toml:"hash"`
	FallbackHash   string   `toml:"fallback_hash"`
	UpgradeCost    bool     `toml:"upgrade_cost"`
	FindUser       string   `toml:"find_user"`
	SetPassword    string   `toml:"set_password"`
	AfterReset     []string `toml:"after_reset"`

	LDAP LDAPConfig `toml:"ldap"` // with driver = "ldap" (config_users_ldap.go)
}

// validate checks [users].
func (u *UsersConfig) validate(getenv func(string) string, bad complain) {
	oneOf(bad, "users.driver", u.Driver, "sqlite", "postgres", "mysql", "ldap")
	if u.Driver == "ldap" {
		if u.DSN != "" || u.DSNEnv != "" || u.DSNFile != "" {
			bad("users.dsn", "is for the SQL drivers; a directory is set in [users.ldap]")
		}
		u.LDAP.validate(getenv, bad)
		for key, v := range map[string]string{"users.username_column": u.UsernameColumn, "users.eligible": u.Eligible} {
			if v != "" {
				bad(key, "is for the SQL drivers; a directory narrows its accounts with [users.ldap] filter")
			}
		}
		if u.LanguageColumn != "" {
			bad("users.language_column", "is for the SQL drivers; a directory's is [users.ldap] language_attribute, e.g. \"preferredLanguage\"")
		}
	} else {
		if u.LDAP.LanguageAttribute != "" {
			bad("users.ldap.language_attribute", "is for driver = \"ldap\"; a SQL table's is [users] language_column")
		}
		secretSource(bad, getenv, "users.dsn", u.DSN, u.DSNEnv, u.DSNFile, true)
		dsn := u.DSN
		if u.DSNEnv != "" {
			dsn = getenv(u.DSNEnv)
		}
		// A URL names its database: a driver that disagrees (the default sqlite, usually
		// left unset) would fail later with a puzzling "no such file".
		if scheme, _, ok := strings.Cut(dsn, "://"); ok {
			want := map[string]string{"postgres": "postgres", "postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}[scheme]
			if want != "" && want != u.Driver {
				bad("users.driver", "%q does not fit the dsn, a %s:// URL: set driver = %q", u.Driver, scheme, want)
			}
		}
	}
	if strings.TrimSpace(u.Eligible) != "" && strings.TrimSpace(u.FindUser) != "" {
		bad("users.eligible", "applies to the built lookups; with a custom find_user, put the condition in it instead")
	}
	if strings.ContainsAny(u.Eligible, ";") || strings.Contains(u.Eligible, "--") {
		bad("users.eligible", "must be one SQL condition, without ; or -- comments")
	}
	if _, err := passhash.NewPolicy(u.Hash, u.FallbackHash, nil); err != nil {
		bad("users.hash", "%v (known: auto, %s)", err, strings.Join(passhash.Names(), ", "))
	}
}
