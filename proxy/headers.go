package proxy

import (
	"net/http"
	"strings"
)

// protectedNames are the request headers, lower-case with hyphens, that a client must never
// get to the app (SECURITY.md RQ-PRX-01): the ones resetgate sets (X-Forwarded-For, -Host,
// -Proto) and the ones common frameworks and proxy setups believe about the client's address,
// scheme, host or URL when told they sit behind a proxy. X-Original-URL and X-Rewrite-URL
// are here because frameworks that honour them would route to a different path than the one
// resetgate dispatched on (RQ-PRX-04). HTTP2-Settings belongs to h2c upgrades, which are
// never forwarded. Every name starting with "x-forwarded-" is protected as well.
var protectedNames = []string{
	"forwarded",
	"x-forwarded",
	"x-real-ip",
	"x-client-ip",
	"true-client-ip",
	"cf-connecting-ip",
	"fastly-client-ip",
	"x-cluster-client-ip",
	"x-host",
	"x-original-host",
	"x-url-scheme",
	"front-end-https",
	"x-original-url",
	"x-rewrite-url",
	"http2-settings",
}

// protectedByLen indexes protectedNames by length, so most header names are rejected by one
// slice lookup.
var protectedByLen = func() (t [32][]string) {
	for _, n := range protectedNames {
		t[len(n)] = append(t[len(n)], n)
	}
	return t
}()

const xForwardedPrefix = "x-forwarded-"

// ProtectedHeader reports whether a request header with this name is removed before the
// request reaches the app. Names compare case-insensitively and with '_' equal to '-':
// net/http keeps "X_Forwarded_For" as a header of its own, but WSGI servers such as
// werkzeug's turn both spellings into HTTP_X_FORWARDED_FOR, so the underscore form would
// override the value resetgate sets.
func ProtectedHeader(name string) bool {
	if len(name) >= len(xForwardedPrefix) && foldUnderscore(name[:len(xForwardedPrefix)], xForwardedPrefix) {
		return true
	}
	if len(name) >= len(protectedByLen) {
		return false
	}
	for _, p := range protectedByLen[len(name)] {
		if foldUnderscore(name, p) {
			return true
		}
	}
	return false
}

// stripProtected removes every protected header from h in one pass over its keys: the
// canonical spellings and any other spelling a client may have used.
func stripProtected(h http.Header) {
	for k := range h {
		if ProtectedHeader(k) {
			delete(h, k)
		}
	}
}

// foldUnderscore reports whether s equals lower (lower-case ASCII, hyphens) ignoring ASCII
// case and treating '_' in s as '-'.
func foldUnderscore(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			c = '-'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// hasToken reports whether any comma-separated element of values equals token, ignoring
// ASCII case and surrounding whitespace.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for v != "" {
			var elem string
			elem, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(elem), token) {
				return true
			}
		}
	}
	return false
}
