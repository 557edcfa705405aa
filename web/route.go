package web

import (
	"net/url"
	"path"
	"strings"
)

// Route says who answers a request path.
type Route int

const (
	// Upstream requests go to the legacy app, untouched.
	Upstream Route = iota
	// Reset requests are answered by resetgate's pages.
	Reset
	// Refused requests spell the reset area in a way some server might decode to it
	// (//pwreset, /PWRESET, /%70wreset, /x/../pwreset, /pwreset/./new …). resetgate answers
	// them with a 404 page itself and never forwards them, so that no spelling of a reset link
	// can carry a token to the app or its logs (SECURITY.md RQ-LNK-07), and the router and the
	// app cannot disagree about who owns a path (RQ-PRX-04).
	Refused
)

func (r Route) String() string {
	switch r {
	case Reset:
		return "reset"
	case Refused:
		return "refused"
	}
	return "upstream"
}

// Classify decides who answers a request for the URL path p (r.URL.Path) whose escaped form
// as sent is raw (r.URL.RawPath, empty when it is p itself), given the canonical prefix such
// as "/pwreset". It is the one place that decides; it runs before any router so that legacy
// paths are never cleaned or redirected, and it allocates nothing for ordinary paths.
func Classify(prefix, p, raw string) Route {
	if raw == "" {
		raw = p
	}
	if underPrefix(raw, prefix) {
		if canonical(raw) {
			return Reset
		}
		return Refused
	}
	if !suspicious(raw, prefix) {
		return Upstream
	}
	if underPrefix(normalize(raw), prefix) {
		return Refused
	}
	return Upstream
}

func underPrefix(p, prefix string) bool {
	return p == prefix || len(p) > len(prefix) && p[len(prefix)] == '/' && p[:len(prefix)] == prefix
}

// canonical reports whether p is in the one spelling resetgate's own links use: no escapes,
// no empty or dot segments, no backslashes or path parameters.
func canonical(p string) bool {
	if strings.ContainsAny(p, `%\;`) || strings.Contains(p, "//") {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// suspicious is the cheap test for paths that might decode into the prefix: it is false for
// the vast majority of legacy traffic, which then costs no allocation.
func suspicious(p, prefix string) bool {
	// A path without its leading slash cannot arrive through net/http (the request target must
	// be origin- or absolute-form, or "*"), but a lenient server would still read "pwreset" as
	// "/pwreset": decide it as it does.
	if p == "" || p[0] != '/' {
		return true
	}
	if strings.ContainsAny(p, `%\;`) || strings.Contains(p, "//") || strings.Contains(p, "/.") {
		return true
	}
	return len(p) >= len(prefix) && strings.EqualFold(p[:len(prefix)], prefix)
}

// normalize decodes p the way the most lenient server might: percent-decoding (twice, for
// double encoding), backslashes as slashes, path parameters dropped, dot segments and
// repeated slashes resolved, ASCII case folded.
func normalize(p string) string {
	for range 2 {
		if !strings.Contains(p, "%") {
			break
		}
		d, err := url.PathUnescape(p)
		if err != nil {
			break
		}
		p = d
	}
	p = strings.ReplaceAll(p, `\`, "/")
	if strings.Contains(p, ";") {
		segs := strings.Split(p, "/")
		for i, s := range segs {
			if j := strings.IndexByte(s, ';'); j >= 0 {
				segs[i] = s[:j]
			}
		}
		p = strings.Join(segs, "/")
	}
	return strings.ToLower(path.Clean("/" + p))
}
