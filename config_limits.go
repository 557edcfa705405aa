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
	QueueMax       int      `toml:"queue_max"`
	MailGlobal     string   `toml:"mail_global"`
	MailPerDomain  string   `toml:"mail_per_domain"`
	PagesInFlight  int      `toml:"pages_in_flight"`
}

// validate checks [limits] and returns the parsed rates by dotted key.
func (l *LimitsConfig) validate(bad complain) map[string]reset.Rate {
	rates := map[string]reset.Rate{}
	for key, v := range map[string]string{"limits.per_email": l.PerEmail, "limits.per_ip": l.PerIP,
		"limits.token_per_ip": l.TokenPerIP, "limits.token_global": l.TokenGlobal,
		"limits.mail_global": l.MailGlobal, "limits.mail_per_domain": l.MailPerDomain} {
		rate, err := reset.ParseRate(v)
		if err != nil {
			bad(key, "%v", err)
		}
		rates[key] = rate
	}
	if l.QueueMax < 0 {
		bad("limits.queue_max", "must not be negative (0 means no bound, which lets a flood grow the state file)")
	}
	if l.PagesInFlight < 0 {
		bad("limits.pages_in_flight", "must not be negative (0 means the default, %d per CPU and at least %d)", pagesPerCPU, pagesMin)
	}
	if _, err := clientip.New(l.TrustedProxies); err != nil {
		bad("limits.trusted_proxies", "%v", err)
	}
	return rates
}
