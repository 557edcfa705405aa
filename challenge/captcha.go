package challenge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Provider describes one hosted captcha: where its siteverify API and widget live, and what
// its widget needs from the page.
type Provider struct {
	Name      string
	VerifyURL string // the real siteverify endpoint, overridable per [CaptchaOptions]
	Field     string // the form field the widget fills with its response token
	Class     string // the class of the element the widget renders into
	Script    string // the widget's script
	Module    bool   // Script is an ES module
	// CSP lists directive → sources the request page must allow for the widget; web adds
	// them only while the captcha is shown.
	CSP map[string]string
}

// Providers are the captchas resetgate can check, by config name. Each widget's origins are
// from the provider's own CSP guidance.
var Providers = map[string]Provider{
	"turnstile": {Name: "turnstile", VerifyURL: "https://challenges.cloudflare.com/turnstile/v0/siteverify",
		Field: "cf-turnstile-response", Class: "cf-turnstile", Script: "https://challenges.cloudflare.com/turnstile/v0/api.js",
		CSP: map[string]string{"script-src": "https://challenges.cloudflare.com", "frame-src": "https://challenges.cloudflare.com"}},
	"hcaptcha": {Name: "hcaptcha", VerifyURL: "https://api.hcaptcha.com/siteverify",
		Field: "h-captcha-response", Class: "h-captcha", Script: "https://js.hcaptcha.com/1/api.js",
		CSP: map[string]string{"script-src": "https://hcaptcha.com https://*.hcaptcha.com", "frame-src": "https://hcaptcha.com https://*.hcaptcha.com",
			"style-src": "https://hcaptcha.com https://*.hcaptcha.com", "connect-src": "https://hcaptcha.com https://*.hcaptcha.com"}},
	"recaptcha": {Name: "recaptcha", VerifyURL: "https://www.google.com/recaptcha/api/siteverify",
		Field: "g-recaptcha-response", Class: "g-recaptcha", Script: "https://www.google.com/recaptcha/api.js",
		CSP: map[string]string{"script-src": "https://www.google.com/recaptcha/ https://www.gstatic.com/recaptcha/",
			"frame-src": "https://www.google.com/recaptcha/ https://recaptcha.google.com/recaptcha/"}},
	"friendlycaptcha": {Name: "friendlycaptcha", VerifyURL: "https://global.frcapi.com/api/v2/captcha/siteverify",
		Field: "frc-captcha-response", Class: "frc-captcha", Script: "https://cdn.jsdelivr.net/npm/@friendlycaptcha/sdk@0.1.x/site.min.js", Module: true,
		CSP: map[string]string{"script-src": "'wasm-unsafe-eval' https://cdn.jsdelivr.net/npm/@friendlycaptcha/", "connect-src": "https://global.frcapi.com https://eu.frcapi.com",
			"frame-src": "https://global.frcapi.com https://eu.frcapi.com", "worker-src": "blob:", "child-src": "blob:"}},
}

// DefaultTimeout bounds one siteverify call.
const DefaultTimeout = 5 * time.Second

// MinScore is the least reCAPTCHA v3 score accepted (Google's suggested threshold); answers
// without a score (v2) are judged by success alone.
const MinScore = 0.5

// CaptchaOptions configures a [Captcha]. Provider, SiteKey and Secret are required.
type CaptchaOptions struct {
	Provider  string // a key of [Providers]
	SiteKey   string
	Secret    string // the secret key (Friendly Captcha: the API key)
	VerifyURL string // empty: the provider's own endpoint
	Timeout   time.Duration
	Client    *http.Client // nil: a client with Timeout
}

// Captcha checks a hosted captcha's response token through the provider's siteverify API.
// It fails closed: a provider that cannot be reached or answers nonsense refuses the form
// with [ErrUnavailable] (a password reset can wait a minute; an attacker must not be let
// through by knocking the provider's API out).
type Captcha struct {
	p      Provider
	o      CaptchaOptions
	client *http.Client
}

// NewCaptcha checks o and returns the verifier.
func NewCaptcha(o CaptchaOptions) (*Captcha, error) {
	p, ok := Providers[o.Provider]
	if !ok {
		return nil, fmt.Errorf("challenge: unknown captcha provider %q", o.Provider)
	}
	if o.SiteKey == "" || o.Secret == "" {
		return nil, errors.New("challenge: a captcha needs its site key and secret")
	}
	if o.VerifyURL == "" {
		o.VerifyURL = p.VerifyURL
	}
	if u, err := url.Parse(o.VerifyURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("challenge: verify URL %q is not an http(s) URL", o.VerifyURL)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	c := o.Client
	if c == nil {
		c = &http.Client{Timeout: o.Timeout}
	}
	return &Captcha{p: p, o: o, client: c}, nil
}

// Provider returns what the page needs to show the widget.
func (c *Captcha) Provider() Provider { return c.p }

// SiteKey is the public key the widget is rendered with.
func (c *Captcha) SiteKey() string { return c.o.SiteKey }

// answer is the union of the providers' siteverify answers.
type answer struct {
	Success    bool     `json:"success"`
	ErrorCodes []string `json:"error-codes"` // turnstile, hcaptcha, recaptcha
	Score      *float64 `json:"score"`       // recaptcha v3
	Error      *struct {
		Code   string `json:"error_code"`
		Detail string `json:"detail"`
	} `json:"error"` // friendlycaptcha v2
}

// codes says what an answer refused.
func (a answer) codes() []string {
	if a.Error != nil {
		return append([]string{a.Error.Code}, a.ErrorCodes...)
	}
	return a.ErrorCodes
}

// configProblem: error codes that mean our configuration is wrong, not the user's answer.
var configProblem = map[string]bool{
	"missing-input-secret": true, "invalid-input-secret": true, "sitekey-secret-mismatch": true,
	"auth_required": true, "auth_invalid": true, "sitekey_invalid": true,
}

// Verify asks the provider about response, sent by the client at remoteIP (may be empty). It
// returns nil, [ErrMissing], [ErrInvalid] (the provider said no; its error codes are in the
// message) or [ErrUnavailable] (network, HTTP or configuration trouble).
func (c *Captcha) Verify(ctx context.Context, response, remoteIP string) error {
	if response == "" {
		return ErrMissing
	}
	if len(response) > 4096 {
		return fmt.Errorf("%w: response too long", ErrInvalid)
	}
	a, status, err := c.call(ctx, response, remoteIP)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, c.p.Name, err)
	}
	codes := a.codes()
	for _, code := range codes {
		if configProblem[code] {
			return fmt.Errorf("%w: %s refuses our keys: %s", ErrUnavailable, c.p.Name, code)
		}
	}
	switch {
	case a.Success && a.Score != nil && *a.Score < MinScore:
		return fmt.Errorf("%w: %s score %.1f", ErrInvalid, c.p.Name, *a.Score)
	case a.Success:
		return nil
	case len(codes) == 0 && status != http.StatusOK:
		return fmt.Errorf("%w: %s answered HTTP %d", ErrUnavailable, c.p.Name, status)
	}
	return fmt.Errorf("%w: %s: %s", ErrInvalid, c.p.Name, strings.Join(codes, ","))
}

// Check reports whether the siteverify API answers and accepts our keys, by verifying a
// token that cannot be valid: a well-formed refusal of the token is success.
func (c *Captcha) Check(ctx context.Context) error {
	err := c.Verify(ctx, "resetgate-check", "")
	if err == nil || errors.Is(err, ErrInvalid) {
		return nil
	}
	return err
}

func (c *Captcha) call(ctx context.Context, response, remoteIP string) (answer, int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	var req *http.Request
	var err error
	if c.p.Name == "friendlycaptcha" {
		// v2 API: JSON {response, sitekey}, the API key in X-API-Key.
		body, _ := json.Marshal(map[string]string{"response": response, "sitekey": c.o.SiteKey})
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, c.o.VerifyURL, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-API-Key", c.o.Secret)
		}
	} else {
		// Turnstile, hCaptcha and reCAPTCHA share the siteverify form POST.
		f := url.Values{"secret": {c.o.Secret}, "response": {response}}
		if remoteIP != "" {
			f.Set("remoteip", remoteIP)
		}
		if c.p.Name == "hcaptcha" {
			f.Set("sitekey", c.o.SiteKey)
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, c.o.VerifyURL, strings.NewReader(f.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return answer{}, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return answer{}, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return answer{}, resp.StatusCode, err
	}
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		return answer{}, resp.StatusCode, fmt.Errorf("HTTP %d, not a siteverify answer", resp.StatusCode)
	}
	if resp.StatusCode >= 500 {
		return answer{}, resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return a, resp.StatusCode, nil
}
