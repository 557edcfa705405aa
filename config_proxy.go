package main

import "resetgate/proxy"

// ProxyConfig is [proxy]: how requests outside the prefix are forwarded to the app.
type ProxyConfig struct {
	StripHeaders           []string `toml:"strip_headers"`
	AllowUnderscoreHeaders bool     `toml:"allow_underscore_headers"`
}

// validate checks [proxy].
func (p *ProxyConfig) validate(bad complain) {
	for _, h := range p.StripHeaders {
		if !proxy.ValidHeaderName(h) {
			bad("proxy.strip_headers", "%q is not a header name (letters, digits and -, e.g. \"X-Auth-User\")", h)
		}
	}
}
