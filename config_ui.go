package main

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"resetgate/apphtml"
	"resetgate/web"
)

// UIConfig is [ui]: the reset pages (and mail) in the app's look.
type UIConfig struct {
	Brand        string   `toml:"brand"`         // the header's name; default site_name
	LogoURL      string   `toml:"logo_url"`      // a same-origin path of the app, e.g. "/static/logo.png"
	AccentColor  string   `toml:"accent_color"`  // "#rrggbb", held to WCAG AA contrast
	Stylesheets  []string `toml:"stylesheets"`   // the app's own CSS, linked after resetgate's
	WrapPath     string   `toml:"wrap_path"`     // the app's page the reset pages wear; "" off
	WrapSelector string   `toml:"wrap_selector"` // its element whose content they replace
}

// validate checks [ui]: paths are the app's own (same origin, outside the prefix), the colour
// passes WCAG AA with every colour the pages and mail use it with, the selector parses.
func (u *UIConfig) validate(prefix string, bad complain) {
	if err := web.CheckAccent(u.AccentColor); err != nil {
		bad("ui.accent_color", "%s", err)
	}
	if u.LogoURL != "" {
		if err := web.CheckLocalPath(u.LogoURL, prefix); err != nil {
			bad("ui.logo_url", "%s", err)
		}
	}
	for _, s := range u.Stylesheets {
		if err := web.CheckLocalPath(s, prefix); err != nil {
			bad("ui.stylesheets", "%s", err)
		}
	}
	if u.WrapPath != "" {
		if err := web.CheckLocalPath(u.WrapPath, prefix); err != nil || strings.Contains(u.WrapPath, "#") {
			bad("ui.wrap_path", "%q must be a page of the app such as \"/login\", outside prefix %q", u.WrapPath, prefix)
		}
	}
	if err := apphtml.CheckSelector(u.WrapSelector); err != nil {
		bad("ui.wrap_selector", "%s (a CSS selector such as \"main\" or \"#content\")", err)
	}
}

// brand is [ui] brand, else site_name (web and reset fall back to the public host).
func (c *Config) brand() string {
	if c.UI.Brand != "" {
		return c.UI.Brand
	}
	return c.SiteName
}

// logoURL is the absolute URL of [ui] logo_url for mail, built from public_url as links are.
func (c *Config) logoURL() string {
	if c.UI.LogoURL == "" || c.public == nil {
		return ""
	}
	ref, err := url.Parse(c.UI.LogoURL)
	if err != nil {
		return ""
	}
	return c.public.ResolveReference(ref).String()
}

// newWrapper is [ui] wrap mode: the app's wrap_path page, fetched straight from the upstream
// as an anonymous visitor, with Host and X-Forwarded-* describing public_url as the proxy sends
// them, so the app builds its links for the public site. Nil without wrap_path.
func (c *Config) newWrapper(log *slog.Logger) (*apphtml.Wrapper, error) {
	if c.UI.WrapPath == "" {
		return nil, nil
	}
	ref, err := url.Parse(c.UI.WrapPath)
	if err != nil {
		return nil, err
	}
	// As the proxy's SetURL does: the upstream's own path, if any, comes first.
	page := c.up.JoinPath(ref.Path)
	page.RawQuery = ref.RawQuery
	return apphtml.NewWrapper(apphtml.WrapOptions{
		URL: page, Host: c.public.Host, Selector: c.UI.WrapSelector, Logger: log,
		Header: http.Header{"X-Forwarded-Host": {c.public.Host}, "X-Forwarded-Proto": {c.public.Scheme}},
	})
}
