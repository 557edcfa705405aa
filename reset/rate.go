package reset

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is a limit of N events per window. The zero Rate means "no limit".
type Rate struct {
	N   int
	Per time.Duration
}

// Unlimited reports whether r imposes no limit.
func (r Rate) Unlimited() bool { return r.N <= 0 || r.Per <= 0 }

func (r Rate) String() string {
	if r.Unlimited() {
		return "unlimited"
	}
	for _, u := range rateUnits {
		if r.Per == u.d {
			return fmt.Sprintf("%d/%s", r.N, u.name)
		}
	}
	return fmt.Sprintf("%d/%s", r.N, r.Per)
}

var rateUnits = []struct {
	name string
	d    time.Duration
}{{"second", time.Second}, {"minute", time.Minute}, {"hour", time.Hour}, {"day", 24 * time.Hour}}

// ParseRate parses "N/unit" where unit is second, minute, hour, day or a Go duration such as
// "15m" ("3/hour", "100/day", "5/15m"); "0" or "unlimited" is no limit.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "0" || s == "unlimited" {
		return Rate{}, nil
	}
	n, unit, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: want N/unit, e.g. \"3/hour\"", s)
	}
	count, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || count < 1 {
		return Rate{}, fmt.Errorf("rate %q: %q is not a positive whole number", s, n)
	}
	unit = strings.TrimSpace(unit)
	for _, u := range rateUnits {
		if unit == u.name || unit == u.name+"s" {
			return Rate{N: count, Per: u.d}, nil
		}
	}
	d, err := time.ParseDuration(unit)
	if err != nil || d < time.Second {
		return Rate{}, fmt.Errorf("rate %q: unknown unit %q (use second, minute, hour, day or a duration such as 15m)", s, unit)
	}
	return Rate{N: count, Per: d}, nil
}
