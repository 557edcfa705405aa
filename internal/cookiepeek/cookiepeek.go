// Package cookiepeek opens a cookie value the way someone holding the cookie but no key
// would, so that tests can check that a secret is not readable in it. It undoes every
// encoding gorilla/securecookie applies without a key (base64 of the whole value, its
// "|"-separated parts, base64 of each part, URL escaping), but not encryption: whatever a
// secret looks like after only those steps, Reveals finds it.
package cookiepeek

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// maxDepth bounds the decoding: securecookie nests base64, "|" parts and base64 again, and
// anything deeper than that is noise that happened to decode.
const maxDepth = 8

var encodings = []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding, base64.StdEncoding, base64.RawStdEncoding}

// Layers returns value and everything it decodes to without a key, each text once, value
// first.
func Layers(value string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(s string, depth int)
	walk = func(s string, depth int) {
		if s == "" || seen[s] || depth > maxDepth {
			return
		}
		seen[s] = true
		out = append(out, s)
		walk(strings.Trim(s, `"`), depth+1)
		if u, err := url.QueryUnescape(s); err == nil {
			walk(u, depth+1)
		}
		for _, enc := range encodings {
			if b, err := enc.DecodeString(s); err == nil {
				walk(string(b), depth+1)
			}
		}
		if parts := strings.Split(s, "|"); len(parts) > 1 {
			for _, p := range parts {
				walk(p, depth+1)
			}
		}
	}
	walk(value, 0)
	return out
}

// Reveals reports whether secret can be read in the cookie value: in the value itself or in
// any of its [Layers]. An empty secret is never revealed.
func Reveals(value, secret string) bool {
	if secret == "" {
		return false
	}
	for _, l := range Layers(value) {
		if strings.Contains(l, secret) {
			return true
		}
	}
	return false
}
