package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"resetgate/minrate"
	"resetgate/proxy"
)

// ProxyConfig is [proxy]: how requests outside the prefix are forwarded to the app.
type ProxyConfig struct {
	BodyIdleTimeout        duration `toml:"body_idle_timeout"`
	BodyMinRate            int      `toml:"body_min_rate"`
	BufferRequests         bool     `toml:"buffer_requests"`
	BufferMax              size     `toml:"buffer_max"`
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
	if p.BufferMax.n < 1<<10 || p.BufferMax.n > 16<<30 {
		bad("proxy.buffer_max", "%s is outside 1KiB…16GiB", p.BufferMax)
	}
	for _, h := range p.StripHeaders {
		if !proxy.ValidHeaderName(h) {
			bad("proxy.strip_headers", "%q is not a header name (letters, digits and -, e.g. \"X-Auth-User\")", h)
		}
	}
}

// size is a byte count written as "16MiB", "512KiB", "1GiB" or a plain number of bytes.
type size struct{ n int64 }

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

func (s *size) UnmarshalText(b []byte) error {
	text := strings.TrimSpace(string(b))
	mult := int64(1)
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(text, u.suffix); ok {
			text, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("%q is not a size (use e.g. \"16MiB\", \"512KiB\", \"1GiB\")", b)
	}
	s.n = n * mult
	return nil
}

func (s size) String() string {
	for _, u := range sizeUnits {
		if s.n >= u.mult && s.n%u.mult == 0 {
			return strconv.FormatInt(s.n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(s.n, 10) + "B"
}

func (s size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
