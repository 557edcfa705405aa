package main

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"resetgate/i18n"
	"resetgate/proxy"
	"resetgate/reset"
)

// languages is the catalogue as the domain sees it (reset.Languages): i18n's concrete
// languages behind the domain's small interface.
type languages struct{ *i18n.Catalog }

func (l languages) Language(tag string) reset.Language { return l.Catalog.Language(tag) }

// catalogue is [ui]'s catalogue, loaded when the config was validated; a Config built in a
// test without validation gets the shipped one.
func (c *Config) catalogue() (*i18n.Catalog, error) {
	if c.UI.langs != nil {
		return c.UI.langs, nil
	}
	return i18n.Load(i18n.Options{Languages: c.UI.Languages, Default: c.UI.DefaultLanguage})
}

// appDownPages renders the proxy's error pages (502, 504) in every offered language, once,
// and returns the proxy's ErrorPage: the page in the client's language. The proxy forwards
// the language cookie to the app (a preference, not a secret, which the app may use too), so
// the outbound request still names it.
func appDownPages(c *i18n.Catalog, secure bool) (func(*http.Request, int) []byte, error) {
	pages := map[string]map[int][]byte{}
	for _, l := range c.Offered() {
		pages[l.Tag()] = map[int][]byte{}
		for status, keys := range map[int][2]string{
			http.StatusBadGateway:     {"app_down.bad_gateway.title", "app_down.bad_gateway.message"},
			http.StatusGatewayTimeout: {"app_down.timeout.title", "app_down.timeout.message"},
		} {
			page, err := proxy.RenderErrorPage(status, proxy.ErrorText{Lang: l.Tag(), Dir: l.Dir(),
				Title: l.Text(keys[0]), Message: l.Text(keys[1]), Hint: l.Text("app_down.hint"),
				Retry: l.Text("app_down.retry"), Code: l.Text("app_down.code", "status", strconv.Itoa(status))})
			if err != nil {
				return nil, err
			}
			pages[l.Tag()][status] = page
		}
	}
	return func(r *http.Request, status int) []byte { return pages[c.Pick(r, secure).Tag()][status] }, nil
}

// languageReport is what `check` says of [ui]'s languages: which are offered, the keys a
// language added in messages_dir lacks (shown in the default language instead), and any
// per-language template (request.de.html, reset.de.txt) for a language that is not offered,
// which would never be used.
func languageReport(cfg *Config) (info string, warnings []string) {
	c, err := cfg.catalogue()
	if err != nil {
		return "", []string{err.Error()}
	}
	tags := c.Tags()
	info = fmt.Sprintf("%d offered, %s by default: %s", len(tags), tags[0], strings.Join(tags, " "))
	for _, tag := range slices.Sorted(maps.Keys(c.Missing)) {
		missing := c.Missing[tag]
		warnings = append(warnings, fmt.Sprintf("ui.messages_dir: %s.toml lacks %d keys, shown in %s instead: %s", tag, len(missing), tags[0], strings.Join(missing, ", ")))
	}
	for _, d := range []struct{ key, dir string }{{"reset.templates_dir", cfg.Reset.TemplatesDir}, {"mail.templates_dir", cfg.Mail.TemplatesDir}} {
		if d.dir == "" {
			continue
		}
		entries, _ := os.ReadDir(d.dir)
		for _, e := range entries {
			parts := strings.Split(e.Name(), ".")
			if len(parts) == 3 && c.Get(parts[1]) == nil {
				warnings = append(warnings, fmt.Sprintf("%s: %s is for language %q, which is not offered ([ui] languages): it is never used", d.key, e.Name(), parts[1]))
			}
		}
	}
	return info, warnings
}
