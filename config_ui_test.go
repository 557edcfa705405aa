package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUIConfigProblems(t *testing.T) {
	for _, tt := range []struct {
		name, toml, key string
		line            int
		want            string
	}{
		{"low-contrast accent", minimal + "[ui]\naccent_color = \"#777777\"\n", "ui.accent_color", 8,
			"white button text on it has 4.48:1"},
		{"fails on the page background only", minimal + "[ui]\naccent_color = \"#767676\"\n", "ui.accent_color", 8,
			"the brand name in it on the page background (#f4f5f7) has 4.16:1"},
		{"not a colour", minimal + "[ui]\naccent_color = \"blue\"\n", "ui.accent_color", 8, `"blue" is not a colour`},
		{"cross-origin logo", minimal + "[ui]\nlogo_url = \"https://cdn.example.com/logo.png\"\n", "ui.logo_url", 8, "same origin"},
		{"stylesheet under the prefix", minimal + "[ui]\nstylesheets = [\"/pwreset/static/style.css\"]\n", "ui.stylesheets", 8, "under prefix"},
		{"relative stylesheet", minimal + "[ui]\nstylesheets = [\"static/app.css\"]\n", "ui.stylesheets", 8, "same origin"},
		{"wrap path not a path", minimal + "[ui]\nwrap_path = \"login\"\n", "ui.wrap_path", 8, "a page of the app"},
		{"wrap path under the prefix", minimal + "[ui]\nwrap_path = \"/pwreset/new\"\n", "ui.wrap_path", 8, "outside prefix"},
		{"broken selector", minimal + "[ui]\nwrap_selector = \"main[\"\n", "ui.wrap_selector", 8, "a CSS selector"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range problems(t, tt.toml, env()) {
				if p.Key == tt.key {
					if p.Line != tt.line || !strings.Contains(p.String(), tt.want) {
						t.Errorf("problem %q (line %d), want line %d and %q", p, p.Line, tt.line, tt.want)
					}
					return
				}
			}
			t.Errorf("no problem for %s", tt.key)
		})
	}
}

func TestUIConfig(t *testing.T) {
	cfg, err := parseConfig("ui.toml", []byte(strings.Replace(minimal, "https://app.example.com", "https://app.example.com/", 1)+
		"[ui]\naccent_color = \"#0b5fff\"\nlogo_url = \"/static/logo.png\"\nstylesheets = [\"/static/app.css\"]\nwrap_path = \"/login\"\n"), env())
	if err != nil {
		t.Fatalf("parseConfig = %v", err)
	}
	if cfg.UI.WrapSelector != "main" || cfg.logoURL() != "https://app.example.com/static/logo.png" || cfg.brand() != "" {
		t.Errorf("wrap_selector %q, logo for mail %q, brand %q", cfg.UI.WrapSelector, cfg.logoURL(), cfg.brand())
	}
	w, err := cfg.newWrapper(nil)
	if err != nil || w == nil {
		t.Fatalf("newWrapper = %v, %v", w, err)
	}
	cfg.UI.Brand = "Example"
	if cfg.brand() != "Example" {
		t.Errorf("brand() = %q", cfg.brand())
	}
}

func TestLanguageConfigProblems(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "de.toml"), []byte("[request]\ntitel = \"Kennwort vergessen?\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, toml, key string
		line            int
		want            string
	}{
		{"a language without a catalogue", minimal + "[ui]\nlanguages = [\"en\", \"tlh\"]\n", "ui.languages", 8, `"tlh" has no catalogue`},
		{"a default not offered", minimal + "[ui]\nlanguages = [\"de\", \"fr\"]\n", "ui.default_language", 0, `"en" must be one of ui.languages`},
		{"a default with no catalogue", minimal + "[ui]\ndefault_language = \"tlh\"\n", "ui.default_language", 8, `"tlh" has no catalogue`},
		{"no such messages directory", minimal + "[ui]\nmessages_dir = \"/nonexistent\"\n", "ui.messages_dir", 8, "not a directory"},
		{"a mistyped key in an override", minimal + "[ui]\nmessages_dir = \"" + dir + "\"\n", "ui.messages_dir", 8, `de.toml:2: unknown key "request.titel" (did you mean "request.title"?)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range problems(t, tt.toml, env()) {
				if p.Key == tt.key {
					if (tt.line != 0 && p.Line != tt.line) || !strings.Contains(p.String(), tt.want) {
						t.Errorf("problem %q (line %d), want line %d and %q", p, p.Line, tt.line, tt.want)
					}
					return
				}
			}
			t.Errorf("no problem for %s", tt.key)
		})
	}
}

// check reports a language added in messages_dir that lacks keys, and a page template for a
// language that is not offered.
func TestLanguageReport(t *testing.T) {
	msgs, pages := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(msgs, "eo.toml"), []byte("[language]\nname = \"Esperanto\"\ndir = \"ltr\"\n"), 0o600)
	os.WriteFile(filepath.Join(pages, "request.tlh.html"), []byte(`{{define "content"}}{{end}}`), 0o600)
	cfg := &Config{UI: UIConfig{Languages: []string{"en", "de", "eo"}, MessagesDir: msgs}}
	cfg.Reset.TemplatesDir = pages
	var bad []string
	cfg.UI.langs = cfg.UI.loadLanguages(func(key, format string, args ...any) { bad = append(bad, key) })
	if len(bad) > 0 {
		t.Fatalf("problems: %v", bad)
	}
	info, warnings := languageReport(cfg)
	if info != "3 offered, en by default: en de eo" {
		t.Errorf("info = %q", info)
	}
	all := strings.Join(warnings, "\n")
	for _, want := range []string{"ui.messages_dir: eo.toml lacks", "request.title", `reset.templates_dir: request.tlh.html is for language "tlh", which is not offered`} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
}
