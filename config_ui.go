package main

import (
	"cmp"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"resetgate/apphtml"
	"resetgate/i18n"
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
	// Languages are the offered languages' tags, [] every shipped one (and every one added in
	// MessagesDir); DefaultLanguage answers browsers that ask for none of them (default "en");
	// MessagesDir holds catalogues that override shipped keys or add a language.
	Languages       []string `toml:"languages"`
	DefaultLanguage string   `toml:"default_language"`
	MessagesDir     string   `toml:"messages_dir"`

	langs *i18n.Catalog // loaded by validate
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
	u.langs = u.loadLanguages(bad)
}

// settings is [ui] as written in the file, without what validate loaded from it, for
// comparing two generations of the config (each has its own catalogue).
func (u UIConfig) settings() UIConfig {
	u.langs = nil
	return u
}

// loadLanguages loads the catalogues [ui] asks for, reporting a language without one under
// ui.languages, a default not offered under ui.default_language, and every mistake in an
// override (with its file and line) under ui.messages_dir. Nil when anything is wrong.
func (u *UIConfig) loadLanguages(bad complain) *i18n.Catalog {
	o := i18n.Options{Languages: u.Languages, Default: u.DefaultLanguage}
	known := map[string]bool{}
	for _, tag := range i18n.Shipped() {
		known[tag] = true
	}
	if u.MessagesDir != "" {
		if st, err := os.Stat(u.MessagesDir); err != nil || !st.IsDir() {
			bad("ui.messages_dir", "%q is not a directory of catalogues (de.toml, pt-BR.toml…)", u.MessagesDir)
			return nil
		}
		o.Dir = os.DirFS(u.MessagesDir)
		names, _ := fs.Glob(o.Dir, "*.toml")
		for _, n := range names {
			known[strings.TrimSuffix(n, ".toml")] = true
		}
	}
	ok := true
	for _, tag := range u.Languages {
		if !known[tag] {
			bad("ui.languages", "%q has no catalogue: ship one in messages_dir as %s.toml, or pick among %s", tag, tag, strings.Join(i18n.Shipped(), " "))
			ok = false
		}
	}
	def := cmp.Or(u.DefaultLanguage, i18n.Source)
	if len(u.Languages) > 0 && !slices.Contains(u.Languages, def) {
		bad("ui.default_language", "%q must be one of ui.languages %q", def, u.Languages)
		ok = false
	} else if !known[def] {
		bad("ui.default_language", "%q has no catalogue (shipped: %s)", def, strings.Join(i18n.Shipped(), " "))
		ok = false
	}
	if !ok {
		return nil
	}
	c, err := i18n.Load(o)
	if err != nil {
		var le *i18n.LoadError
		if errors.As(err, &le) {
			for _, p := range le.Problems {
				bad("ui.messages_dir", "%s", p)
			}
		} else {
			bad("ui.messages_dir", "%s", err)
		}
		return nil
	}
	return c
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
