package main

import (
	"net"
	"time"
)

// AdminConfig is [admin]: the admin listener (health, metrics) and its API.
type AdminConfig struct {
	Listen string `toml:"listen"`
	// TokenEnv and TokenFile name where the admin API's bearer token is: an environment
	// variable or a file. Without one the API is off; health and metrics stay open.
	TokenEnv  string `toml:"token_env"`
	TokenFile string `toml:"token_file"`
	// AuditKeep is how many audit events the trail keeps (the newest); 0 keeps none.
	AuditKeep int `toml:"audit_keep"`
	// AuditRetention is how long audit events are kept.
	AuditRetention duration `toml:"audit_retention"`
}

// auditKeep is AuditKeep as reset.Options takes it (negative: no trail).
func (a *AdminConfig) auditKeep() int {
	if a.AuditKeep == 0 {
		return -1
	}
	return a.AuditKeep
}

// minAdminToken is the shortest admin token accepted, in characters: `openssl rand -hex 32`
// gives 64, and anything under 32 is guessable enough to matter on a network listener.
const minAdminToken = 32

// maxAuditKeep bounds the trail: a million events is a few hundred MB in the state store.
const maxAuditKeep = 1_000_000

// validate checks [admin]: the listener's address and the token's source and strength.
func (a *AdminConfig) validate(getenv func(string) string, bad complain) {
	if a.Listen != "" {
		if _, _, err := net.SplitHostPort(a.Listen); err != nil {
			bad("admin.listen", "%q is not host:port (such as 127.0.0.1:9090), or \"\" to turn the admin listener off", a.Listen)
		}
	}
	if a.AuditKeep < 0 || a.AuditKeep > maxAuditKeep {
		bad("admin.audit_keep", "%d is outside 0…%d (0 keeps no audit trail)", a.AuditKeep, maxAuditKeep)
	}
	if a.AuditRetention.Duration < time.Hour {
		bad("admin.audit_retention", "%s is too short: keep audit events for an hour at least (such as \"2160h\", 90 days)", a.AuditRetention.Duration)
	}
	if a.TokenEnv == "" && a.TokenFile == "" {
		return
	}
	secretSource(bad, getenv, "admin.token", "", a.TokenEnv, a.TokenFile, false)
	if tok, err := a.token(getenv); err == nil && tok != "" && len(tok) < minAdminToken {
		key := "admin.token_env"
		if a.TokenFile != "" {
			key = "admin.token_file"
		}
		bad(key, "the token is %d characters; use at least %d (for example `openssl rand -hex 32`)", len(tok), minAdminToken)
	}
	if a.Listen == "" {
		bad("admin.token_env", "the admin API needs the admin listener: set admin.listen (such as \"127.0.0.1:9090\")")
	}
}

// token returns the admin API's bearer token, "" when none is configured.
func (a *AdminConfig) token(getenv func(string) string) (string, error) {
	if a.TokenEnv == "" && a.TokenFile == "" {
		return "", nil
	}
	return secret(getenv, "", a.TokenEnv, a.TokenFile)
}
