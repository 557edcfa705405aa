package main

import (
	"strings"

	"resetgate/apphtml"
)

// InjectConfig is [inject]: the reset link on the app's own sign-in page.
type InjectConfig struct {
	// Paths are the pages that get the link. Absent means [app] login_path when that is
	// set; an explicit empty list turns the link off.
	Paths    []string `toml:"paths"`
	Selector string   `toml:"selector"`
	HTML     string   `toml:"html"`
}

// validate checks [inject] by building the injector it describes.
func (i *InjectConfig) validate(prefix string, bad complain) {
	for _, p := range i.Paths {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#") {
			bad("inject.paths", "%q must be a path of the app such as \"/login\" (no query or fragment)", p)
		}
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			bad("inject.paths", "%q is under prefix %q: those pages are resetgate's own", p, prefix)
		}
	}
	if _, err := apphtml.New(apphtml.Options{Paths: []string{"/"}, Selector: i.Selector, URL: prefix}); err != nil && i.Selector != "" {
		bad("inject.selector", "%s", strings.TrimPrefix(err.Error(), "apphtml: "))
	}
	if _, err := apphtml.RenderSnippet(i.HTML, prefix, ""); err != nil {
		bad("inject.html", "%s (a template that may use {{.URL}} and {{.Text}}, without <script>)", strings.TrimPrefix(err.Error(), "apphtml: "))
	}
}

// injectPaths is [inject] paths as configured, or [app] login_path when the key is absent.
func (c *Config) injectPaths() []string {
	if c.Inject.Paths == nil && c.App.LoginPath != "" {
		return []string{c.App.LoginPath}
	}
	return c.Inject.Paths
}
