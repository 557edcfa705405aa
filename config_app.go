package main

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"resetgate/web"
)

// AppConfig is [app]: what resetgate knows of the legacy app itself: its sign-in page, and
// the session cookies that a reset ends (issue 11, package tracking).
type AppConfig struct {
	// LoginPath is the app's sign-in page, e.g. "/login": the request form links back to
	// it and the done page's button goes there. Session tracking watches its POSTs; ""
	// turns tracking off.
	LoginPath string `toml:"login_path"`
	// LoginField is the sign-in form's field that names the account; default "email".
	LoginField string `toml:"login_field"`
	// SessionCookies are the app's session cookies; empty: no tracking.
	SessionCookies []string `toml:"session_cookies"`
	// SessionMaxAge is how long a binding lives without its cookie being seen, and how long a revoked
	// cookie stays refused; default 720h.
	SessionMaxAge duration `toml:"session_max_age"`
}

// tracksSessions reports whether session tracking is on: a sign-in path and cookies.
func (a *AppConfig) tracksSessions() bool { return a.LoginPath != "" && len(a.SessionCookies) > 0 }

// validate checks [app]: login_path is a local path, so the pages' way back cannot lead off
// the site (SECURITY.md RQ-RST-06).
func (a *AppConfig) validate(public *url.URL, bad complain) {
	a.validateTracking(public, bad)
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

// validateTracking checks the session-tracking keys of [app].
func (a *AppConfig) validateTracking(public *url.URL, bad complain) {
	if len(a.SessionCookies) > 0 && a.LoginPath == "" {
		bad("app.session_cookies", "needs app.login_path: sessions are bound where the app signs people in (or remove session_cookies to turn tracking off)")
	}
	seen := map[string]bool{}
	for _, c := range a.SessionCookies {
		switch {
		case !cookieNameRe.MatchString(c):
			bad("app.session_cookies", "%q is not a cookie name (letters, digits and !#$%%&'*+-.^_`|~ only)", c)
		case seen[c]:
			bad("app.session_cookies", "%q is listed twice", c)
		case public != nil && c == web.CookieName(public):
			bad("app.session_cookies", "%q is resetgate's own cookie, not the app's", c)
		}
		seen[c] = true
	}
	if strings.TrimSpace(a.LoginField) == "" {
		bad("app.login_field", "must name the sign-in form's field that holds the address or user name, e.g. \"email\"")
	}
	if a.SessionMaxAge.Duration < time.Minute {
		bad("app.session_max_age", "%v is too short: at least \"1m\"; set it to the app's own session lifetime or longer (default \"720h\")", a.SessionMaxAge.Duration)
	}
}

// cookieNameRe is RFC 6265's cookie-name: an RFC 7230 token.
var cookieNameRe = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$")
