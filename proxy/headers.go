package proxy

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// protectedNames are the request headers, lower-case with hyphens, that a client must never
// get to the app (SECURITY.md RQ-PRX-01): the ones resetgate sets (X-Forwarded-For, -Host,
// -Proto) and the ones common frameworks and proxy setups believe about the client's address,
// scheme, host or URL when told they sit behind a proxy. X-Original-URL and X-Rewrite-URL
// are here because frameworks that honour them would route to a different path than the one
// resetgate dispatched on (RQ-PRX-04). HTTP2-Settings belongs to h2c upgrades, which are
// never forwarded. Every name starting with "x-forwarded-" is protected as well.
//
// The second group (issue 16, finding 4) are the client-address, scheme and path headers that
// PHP and Java client-IP helpers (Client-IP, Proxy-Client-IP, WL-Proxy-Client-IP for
// WebLogic), Tornado's xheaders (X-Scheme), Envoy (X-Envoy-External-Address) and the common
// Flask "ReverseProxied" recipe (X-Script-Name, X-Scheme) believe. [Options.StripHeaders]
// extends the list.
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

	"client-ip",
	"proxy-client-ip",
	"wl-proxy-client-ip",
	"x-originating-ip",
	"x-remote-ip",
	"x-remote-addr",
	"x-proxyuser-ip",
	"x-original-forwarded-for",
	"x-envoy-external-address",
	"x-scheme",
	"x-script-name",
	"x-http-host-override",
	"x-original-uri",
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

// headerFilter decides which client headers are removed before a request goes upstream.
type headerFilter struct {
	extra      []string // Options.StripHeaders, lower-case
	underscore bool     // Options.AllowUnderscoreHeaders
}

func newHeaderFilter(o Options) (headerFilter, error) {
	f := headerFilter{underscore: o.AllowUnderscoreHeaders}
	for _, n := range o.StripHeaders {
		if !ValidHeaderName(n) {
			return f, fmt.Errorf("%w: StripHeaders: %q is not a header name", ErrInvalidOptions, n)
		}
		f.extra = append(f.extra, strings.ReplaceAll(strings.ToLower(n), "_", "-"))
	}
	return f, nil
}

// drops reports whether the client header named k is removed.
func (f headerFilter) drops(k string) bool {
	// WSGI and CGI servers turn "Remote_User" and "Remote-User" into the same variable
	// (HTTP_REMOTE_USER, and some auth middleware read REMOTE_USER), so a name with an
	// underscore can impersonate any dashed header the app or a proxy in front of it treats
	// as trusted. nginx drops them by default (underscores_in_headers off); so do we
	// (SECURITY.md RQ-PRX-05). Real clients never send them.
	if !f.underscore && strings.IndexByte(k, '_') >= 0 {
		return true
	}
	if ProtectedHeader(k) {
		return true
	}
	for _, n := range f.extra {
		if foldUnderscore(k, n) {
			return true
		}
	}
	return false
}

// strip removes every dropped header from h in one pass over its keys: the canonical
// spellings and any other spelling a client may have used.
func (f headerFilter) strip(h http.Header) {
	for k := range h {
		if f.drops(k) {
			delete(h, k)
		}
	}
}

// ValidHeaderName reports whether n is a non-empty HTTP field name (RFC 9110 §5.6.2: a token).
func ValidHeaderName(n string) bool {
	if n == "" {
		return false
	}
	for _, r := range n {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		case r < 128 && strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
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

// dropCookies removes the named cookies from h's Cookie lines, leaving every other cookie
// byte for byte. It allocates only when a line holds one of them.
func dropCookies(h http.Header, names []string) {
	lines := h["Cookie"]
	for i, line := range lines {
		if !containsAny(line, names) {
			continue
		}
		kept := make([]string, 0, 4)
		for part := range strings.SplitSeq(line, ";") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if !slices.Contains(names, name) {
				kept = append(kept, strings.TrimSpace(part))
			}
		}
		lines[i] = strings.Join(kept, "; ")
	}
	// Drop lines left empty, and the header with them.
	out := lines[:0]
	for _, l := range lines {
		if l != "" {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		delete(h, "Cookie")
	} else {
		h["Cookie"] = out
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
