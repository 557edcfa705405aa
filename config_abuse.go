package main

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"resetgate/challenge"
	"resetgate/reset"
)

// AbuseConfig is [abuse]: what the request form asks of clients while it is under attack
// (issue 16, finding 9; SECURITY.md RQ-REQ-10).
type AbuseConfig struct {
	Challenge         string   `toml:"challenge"`
	AutoThreshold     string   `toml:"auto_threshold"`
	AutoCalm          duration `toml:"auto_calm"`
	Difficulty        int      `toml:"difficulty"`
	ChallengeTTL      duration `toml:"challenge_ttl"`
	Captcha           string   `toml:"captcha"`
	CaptchaSiteKey    string   `toml:"captcha_site_key"`
	CaptchaSecretEnv  string   `toml:"captcha_secret_env"`
	CaptchaSecretFile string   `toml:"captcha_secret_file"`
	CaptchaVerifyURL  string   `toml:"captcha_verify_url"`
	CaptchaTimeout    duration `toml:"captcha_timeout"`
}

// defaultAbuse is what an absent [abuse] means: no challenge.
func defaultAbuse() AbuseConfig {
	return AbuseConfig{Challenge: challenge.Off, AutoThreshold: "30/minute", AutoCalm: duration{challenge.DefaultCalm},
		Difficulty: challenge.DefaultMaxNumber, ChallengeTTL: duration{challenge.DefaultTTL}, CaptchaTimeout: duration{challenge.DefaultTimeout}}
}

// Bounds of [abuse] difficulty: below, a challenge costs a script nothing; above, a phone
// takes tens of seconds.
const (
	minDifficulty = 1_000
	maxDifficulty = 10_000_000
)

// validate checks [abuse] and returns the auto mode's threshold.
func (a *AbuseConfig) validate(getenv func(string) string, bad complain) reset.Rate {
	oneOf(bad, "abuse.challenge", a.Challenge, challenge.Off, challenge.Always, challenge.Auto)
	rate, err := reset.ParseRate(a.AutoThreshold)
	switch {
	case err != nil:
		bad("abuse.auto_threshold", "%v", err)
	case a.Challenge == challenge.Auto && rate.Unlimited():
		bad("abuse.auto_threshold", "%q never turns the challenge on; give a rate such as \"30/minute\" (requests to the form, per replica)", a.AutoThreshold)
	}
	if d := a.AutoCalm.Duration; d < time.Minute || d > 24*time.Hour {
		bad("abuse.auto_calm", "%s is outside 1m…24h: how long the challenge stays on after the rate falls below auto_threshold", d)
	}
	if a.Difficulty < minDifficulty || a.Difficulty > maxDifficulty {
		bad("abuse.difficulty", "%d is outside %d…%d (the largest secret number; a browser tries half of it on average, default %d ≈ 0.5 s)", a.Difficulty, minDifficulty, maxDifficulty, challenge.DefaultMaxNumber)
	}
	if d := a.ChallengeTTL.Duration; d < 30*time.Second || d > 24*time.Hour {
		bad("abuse.challenge_ttl", "%s is outside 30s…24h: how long a drawn challenge may be solved and sent", d)
	}
	if a.Captcha != "" {
		if _, ok := challenge.Providers[a.Captcha]; !ok {
			bad("abuse.captcha", "%q is not one of turnstile, hcaptcha, recaptcha, friendlycaptcha (or \"\" for the built-in proof of work)", a.Captcha)
		}
		if a.CaptchaSiteKey == "" {
			bad("abuse.captcha_site_key", "required with captcha = %q: the public key the widget is shown with", a.Captcha)
		}
		secretSource(bad, getenv, "abuse.captcha_secret", "", a.CaptchaSecretEnv, a.CaptchaSecretFile, true)
	}
	if v := a.CaptchaVerifyURL; v != "" {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("abuse.captcha_verify_url", "%q must be an absolute http:// or https:// URL (empty: the provider's own siteverify endpoint)", v)
		}
	}
	if d := a.CaptchaTimeout.Duration; d < 100*time.Millisecond || d > time.Minute {
		bad("abuse.captcha_timeout", "%s is outside 100ms…1m: how long one siteverify call may take before the form is refused", d)
	}
	return rate
}

// newGuard wires [abuse] into a challenge.Guard; nil when the challenge is off. Single use
// goes through the state store's limiter and the proof of work's key is the store's shared
// "challenge" secret, so every replica agrees.
func newGuard(ctx context.Context, cfg *Config, getenv func(string) string, store reset.Store, observe func(challenge.Event)) (*challenge.Guard, error) {
	a := cfg.Abuse
	if a.Challenge == challenge.Off {
		return nil, nil
	}
	o := challenge.Options{Mode: a.Challenge, Threshold: cfg.autoRate.N, Per: cfg.autoRate.Per, Calm: a.AutoCalm.Duration, Observe: observe}
	if a.Captcha != "" {
		secret, err := secret(getenv, "", a.CaptchaSecretEnv, a.CaptchaSecretFile)
		if err != nil {
			return nil, fmt.Errorf("abuse.captcha_secret: %w", err)
		}
		if o.Captcha, err = challenge.NewCaptcha(challenge.CaptchaOptions{Provider: a.Captcha, SiteKey: a.CaptchaSiteKey, Secret: secret,
			VerifyURL: a.CaptchaVerifyURL, Timeout: a.CaptchaTimeout.Duration}); err != nil {
			return nil, err
		}
	} else {
		key, err := store.Secret(ctx, "challenge", 32)
		if err != nil {
			return nil, fmt.Errorf("challenge key: %w", err)
		}
		if o.PoW, err = challenge.NewPoW(challenge.PoWOptions{Key: key, MaxNumber: a.Difficulty, TTL: a.ChallengeTTL.Duration, Uses: store}); err != nil {
			return nil, err
		}
	}
	return challenge.New(o)
}

// checkCaptcha asks the configured captcha's siteverify API about a token that cannot be
// valid: a well-formed refusal shows the API is reachable and takes our secret.
func checkCaptcha(ctx context.Context, cfg *Config, getenv func(string) string) error {
	a := cfg.Abuse
	secret, err := secret(getenv, "", a.CaptchaSecretEnv, a.CaptchaSecretFile)
	if err != nil {
		return fmt.Errorf("abuse.captcha_secret: %w", err)
	}
	c, err := challenge.NewCaptcha(challenge.CaptchaOptions{Provider: a.Captcha, SiteKey: a.CaptchaSiteKey, Secret: secret,
		VerifyURL: a.CaptchaVerifyURL, Timeout: a.CaptchaTimeout.Duration})
	if err != nil {
		return err
	}
	return c.Check(ctx)
}
