package main

import (
	"net/url"
	"strings"
	"time"

	"resetgate/reset"
	"resetgate/web"
)

// ResetConfig is [reset].
type ResetConfig struct {
	TokenTTL          duration `toml:"token_ttl"`
	MinPasswordLength int      `toml:"min_password_length"`
	MaxPasswordLength int      `toml:"max_password_length"`
	MinStrength       int      `toml:"min_strength"`
	AfterResetURL     string   `toml:"after_reset_url"`
	TemplatesDir      string   `toml:"templates_dir"`
	WasntMeTTL        duration `toml:"wasnt_me_ttl"`
	// Code puts a typed code beside the link in the reset mail (issue 14), CodeLength
	// characters of Crockford base32.
	Code       bool `toml:"code"`
	CodeLength int  `toml:"code_length"`
}

// validate checks [reset]; public is the parsed public_url, nil when it is invalid.
func (r *ResetConfig) validate(public *url.URL, bad complain) {
	if r.TokenTTL.Duration < time.Minute || r.TokenTTL.Duration > reset.MaxTokenTTL {
		bad("reset.token_ttl", "%s is outside 1m…24h (links must expire within a day: SECURITY.md RQ-TOK-04)", r.TokenTTL.Duration)
	}
	if r.WasntMeTTL.Duration < time.Hour || r.WasntMeTTL.Duration > reset.MaxWasntMeTTL {
		bad("reset.wasnt_me_ttl", "%s is outside 1h…720h", r.WasntMeTTL.Duration)
	}
	if r.CodeLength < reset.MinCodeLength || r.CodeLength > reset.MaxCodeLength {
		bad("reset.code_length", "%d is outside %d…%d characters", r.CodeLength, reset.MinCodeLength, reset.MaxCodeLength)
	}
	if r.MinPasswordLength < 1 {
		bad("reset.min_password_length", "must be at least 1 (8 or more recommended)")
	}
	if r.MaxPasswordLength < 64 || r.MaxPasswordLength < r.MinPasswordLength {
		bad("reset.max_password_length", "must be at least 64 and at least min_password_length (NIST SP 800-63B: accept at least 64 characters)")
	}
	if public != nil {
		if err := web.CheckAfterResetURL(r.AfterResetURL, public); err != nil {
			bad("reset.after_reset_url", "%s", strings.TrimPrefix(err.Error(), "web: "))
		}
	}
	if r.MinStrength < 0 || r.MinStrength > 4 {
		bad("reset.min_strength", "%d is not a zxcvbn score (0–4)", r.MinStrength)
	}
}
