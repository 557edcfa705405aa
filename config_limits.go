package main

import (
	"resetgate/internal/clientip"
	"resetgate/reset"
)

// LimitsConfig is [limits].
type LimitsConfig struct {
	PerEmail       string   `toml:"per_email"`
	PerIP          string   `toml:"per_ip"`
	TokenPerIP     string   `toml:"token_per_ip"`
	TokenGlobal    string   `toml:"token_global"`
	TrustedProxies []string `toml:"trusted_proxies"`
}

// validate checks [limits] and returns the parsed rates by dotted key.
func (l *LimitsConfig) validate(bad complain) map[string]reset.Rate {
	rates := map[string]reset.Rate{}
	for key, v := range map[string]string{"limits.per_email": l.PerEmail, "limits.per_ip": l.PerIP,
		"limits.token_per_ip": l.TokenPerIP, "limits.token_global": l.TokenGlobal} {
		rate, err := reset.ParseRate(v)
		if err != nil {
			bad(key, "%v", err)
		}
		rates[key] = rate
	}
	if _, err := clientip.New(l.TrustedProxies); err != nil {
		bad("limits.trusted_proxies", "%v", err)
	}
	return rates
}
