package main

import (
	"time"

	"resetgate/minrate"
	"resetgate/proxy"
)

// ProxyConfig is [proxy]: how requests outside the prefix are forwarded to the app.
type ProxyConfig struct {
	BodyIdleTimeout        duration `toml:"body_idle_timeout"`
	BodyMinRate            int      `toml:"body_min_rate"`
	StripHeaders           []string `toml:"strip_headers"`
	AllowUnderscoreHeaders bool     `toml:"allow_underscore_headers"`
}

// bodyInitial is how long a proxied body may take to start, at most body_idle_timeout.
const bodyInitial = 10 * time.Second

// limits are the minimum progress clients of the app must make (SECURITY.md RQ-PRX-06).
func (p *ProxyConfig) limits() minrate.Limits {
	return minrate.Limits{Initial: min(bodyInitial, p.BodyIdleTimeout.Duration), MinRate: p.BodyMinRate, Idle: p.BodyIdleTimeout.Duration}
}

// validate checks [proxy].
func (p *ProxyConfig) validate(bad complain) {
	if d := p.BodyIdleTimeout.Duration; d < time.Second || d > time.Hour {
		bad("proxy.body_idle_timeout", "%s is outside 1s…1h: a client may go silent this long in a request body, or take this long over a write, before its connection is cut", d)
	}
	if p.BodyMinRate < 0 || p.BodyMinRate > 1<<30 {
		bad("proxy.body_min_rate", "%d is not a rate in bytes per second (0 turns the rate off, leaving body_idle_timeout; default 500)", p.BodyMinRate)
	}
	for _, h := range p.StripHeaders {
		if !proxy.ValidHeaderName(h) {
			bad("proxy.strip_headers", "%q is not a header name (letters, digits and -, e.g. \"X-Auth-User\")", h)
		}
	}
}
