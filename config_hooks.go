package main

import (
	"fmt"
	"net/url"
	"time"

	"resetgate/reset"
	"resetgate/reset/webhook"
)

// HooksConfig is [hooks]: webhooks to the app (docs/hooks.md).
type HooksConfig struct {
	PasswordChanged string   `toml:"password_changed"`
	WasntMe         string   `toml:"wasnt_me"`
	SecretEnv       string   `toml:"secret_env"`
	SecretFile      string   `toml:"secret_file"`
	Timeout         duration `toml:"timeout"`
	MaxAttempts     int      `toml:"max_attempts"`
}

// urls returns the configured receivers by event.
func (h *HooksConfig) urls() map[reset.HookEvent]string {
	m := map[reset.HookEvent]string{}
	if h.PasswordChanged != "" {
		m[reset.HookPasswordChanged] = h.PasswordChanged
	}
	if h.WasntMe != "" {
		m[reset.HookWasntMe] = h.WasntMe
	}
	return m
}

// validate checks [hooks]. The secret is required once any receiver is set.
func (h *HooksConfig) validate(getenv func(string) string, bad complain) {
	for key, raw := range map[string]string{"hooks.password_changed": h.PasswordChanged, "hooks.wasnt_me": h.WasntMe} {
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" || u.User != nil {
			bad(key, "%q must be an absolute http:// or https:// URL without credentials or fragment, e.g. \"http://127.0.0.1:5000/internal/pw-changed\"", raw)
		}
	}
	if h.Timeout.Duration < time.Second || h.Timeout.Duration > time.Minute {
		bad("hooks.timeout", "%s is outside 1s…1m", h.Timeout.Duration)
	}
	if h.MaxAttempts < 1 || h.MaxAttempts > reset.MaxMaxAttempts {
		bad("hooks.max_attempts", "%d is outside 1…%d (the backoff reaches its 1h cap long before)", h.MaxAttempts, reset.MaxMaxAttempts)
	}
	if len(h.urls()) == 0 {
		if h.SecretEnv != "" || h.SecretFile != "" {
			secretSource(bad, getenv, "hooks.secret", "", h.SecretEnv, h.SecretFile, false)
		}
		return
	}
	secretSource(bad, getenv, "hooks.secret", "", h.SecretEnv, h.SecretFile, true)
	if h.SecretEnv != "" && h.SecretFile == "" {
		if v := getenv(h.SecretEnv); v != "" && len(v) < webhook.MinSecretLen {
			bad("hooks.secret_env", "the secret in %s is %d bytes; use at least %d random ones (e.g. `openssl rand -hex 32`)", h.SecretEnv, len(v), webhook.MinSecretLen)
		}
	}
}

// openHooks returns the webhook sender, or nil when no receiver is configured.
func openHooks(cfg *Config, getenv func(string) string) (reset.Hooks, error) {
	h := cfg.Hooks
	urls := h.urls()
	if len(urls) == 0 {
		return nil, nil
	}
	s, err := secret(getenv, "", h.SecretEnv, h.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("hooks.secret: %w", err)
	}
	if len(s) < webhook.MinSecretLen {
		return nil, fmt.Errorf("hooks.secret: %d bytes is too short; use at least %d random ones (e.g. `openssl rand -hex 32`)", len(s), webhook.MinSecretLen)
	}
	sender, err := webhook.New(webhook.Options{URLs: urls, Secret: []byte(s), Timeout: h.Timeout.Duration})
	if err != nil {
		return nil, fmt.Errorf("hooks: %w", err)
	}
	return sender, nil
}

// receiver is one configured webhook endpoint.
type receiver struct {
	event reset.HookEvent
	url   *url.URL
}

// where names the receiver without its query, which may hold a secret.
func (r receiver) where() string {
	return (&url.URL{Scheme: r.url.Scheme, Host: r.url.Host, Path: r.url.Path}).String()
}

// receivers returns the configured endpoints in a fixed order (the config is validated).
func (h *HooksConfig) receivers() []receiver {
	var out []receiver
	for _, e := range []reset.HookEvent{reset.HookPasswordChanged, reset.HookWasntMe} {
		if raw := h.urls()[e]; raw != "" {
			if u, err := url.Parse(raw); err == nil {
				out = append(out, receiver{e, u})
			}
		}
	}
	return out
}
