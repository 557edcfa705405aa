package main

import (
	"net/url"
	"strings"

	"resetgate/web"
)

// AppConfig is [app]: what resetgate knows of the legacy app itself. For now only its
// sign-in page; later features (session tracking, link injection) read the same section.
type AppConfig struct {
	// LoginPath is the app's sign-in page, e.g. "/login": the request form links back to
	// it and the done page's button goes there.
	LoginPath string `toml:"login_path"`
}

// validate checks [app]: login_path is a local path, so the pages' way back cannot lead off
// the site (SECURITY.md RQ-RST-06).
func (a *AppConfig) validate(public *url.URL, bad complain) {
	if a.LoginPath == "" {
		return
	}
	u, err := url.Parse(a.LoginPath)
	local := err == nil && !u.IsAbs() && u.Host == "" && strings.HasPrefix(a.LoginPath, "/") &&
		!strings.HasPrefix(a.LoginPath, "//") && !strings.Contains(a.LoginPath, `\`)
	if !local || (public != nil && web.CheckAfterResetURL(a.LoginPath, public) != nil) {
		bad("app.login_path", "%q must be a path on the app starting with a single / (such as /login)", a.LoginPath)
	}
}

// signInURL is the app's sign-in page for the pages' way back: login_path, else
// after_reset_url (where a reset lands, usually the sign-in page), else "" (none known).
func (c *Config) signInURL() string {
	if c.App.LoginPath != "" {
		return c.App.LoginPath
	}
	return c.Reset.AfterResetURL
}
