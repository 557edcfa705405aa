package main

import (
	"testing"

	"resetgate/web"
)

func TestRedactPath(t *testing.T) {
	token := "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE"
	for _, tc := range []struct {
		route      web.Route
		path, want string
	}{
		{web.Upstream, "/login", "/login"},
		{web.Upstream, "/pwreset-not-ours/" + token, "/pwreset-not-ours/" + token},
		{web.Reset, "/pwreset", "/pwreset"},
		{web.Reset, "/pwreset/sent", "/pwreset/sent"},
		{web.Reset, "/pwreset/code", "/pwreset/code"},
		{web.Reset, "/pwreset/new", "/pwreset/new"},
		{web.Reset, "/pwreset/static/style.css", "/pwreset/static/style.css"},
		{web.Reset, "/pwreset/" + token, "/pwreset/{token}"},
		{web.Reset, "/pwreset/wasnt-me", "/pwreset/wasnt-me"},
		{web.Reset, "/pwreset/wasnt-me/sealed-secret-value", "/pwreset/wasnt-me/{link}"},
		{web.Reset, "/pwreset/whatever/else", "/pwreset/{other}"},
	} {
		if got := redactPath("/pwreset", tc.route, tc.path); got != tc.want {
			t.Errorf("redactPath(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}
