package challenge_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"resetgate/challenge"
)

const (
	siteKey   = "site-key-1"
	secretKey = "secret-key-1"
	goodToken = "good-token"
	lowToken  = "low-score-token"
)

// fakeSiteverify answers like the provider's real siteverify API after checking the request's
// shape: Turnstile, hCaptcha and reCAPTCHA take a form POST of secret, response, remoteip
// (hCaptcha also sitekey) and answer {"success", "error-codes"}; Friendly Captcha v2 takes
// JSON {response, sitekey} with the API key in X-API-Key and answers {"success", "error":
// {"error_code"}} with 401 for a bad key and 400 for a bad response.
func fakeSiteverify(t *testing.T, provider string, calls *atomic.Int64) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost {
			t.Errorf("%s: method %s, want POST", provider, r.Method)
		}
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if provider == "friendlycaptcha" {
			if mt != "application/json" {
				t.Errorf("friendlycaptcha: Content-Type %q, want application/json", mt)
			}
			var body map[string]string
			b, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(b, &body); err != nil {
				t.Errorf("friendlycaptcha: body %q is not JSON", b)
			}
			if body["sitekey"] != siteKey {
				t.Errorf("friendlycaptcha: sitekey %q, want %q", body["sitekey"], siteKey)
			}
			switch {
			case r.Header.Get("X-API-Key") != secretKey:
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"success":false,"error":{"error_code":"auth_invalid","detail":"invalid API key"}}`)
			case body["response"] == goodToken:
				io.WriteString(w, `{"success":true,"data":{"event_id":"ev_1","challenge":{"timestamp":"2026-12-02T00:00:00Z","origin":"https://app.example"}}}`)
			default:
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"success":false,"error":{"error_code":"response_invalid","detail":"invalid response"}}`)
			}
			return
		}
		if mt != "application/x-www-form-urlencoded" {
			t.Errorf("%s: Content-Type %q, want a form", provider, mt)
		}
		if err := r.ParseForm(); err != nil {
			t.Errorf("%s: form: %v", provider, err)
		}
		if got := r.PostForm.Get("remoteip"); got != "" && got != "203.0.113.9" {
			t.Errorf("%s: remoteip %q, want 203.0.113.9", provider, got)
		}
		if provider == "hcaptcha" && r.PostForm.Get("sitekey") != siteKey {
			t.Errorf("hcaptcha: sitekey %q, want %q", r.PostForm.Get("sitekey"), siteKey)
		}
		switch resp := r.PostForm.Get("response"); {
		case r.PostForm.Get("secret") != secretKey:
			io.WriteString(w, `{"success":false,"error-codes":["invalid-input-secret"]}`)
		case resp == goodToken && provider == "recaptcha":
			io.WriteString(w, `{"success":true,"score":0.9,"action":"submit","challenge_ts":"2026-12-02T00:00:00Z","hostname":"app.example"}`)
		case resp == lowToken && provider == "recaptcha":
			io.WriteString(w, `{"success":true,"score":0.1,"action":"submit","challenge_ts":"2026-12-02T00:00:00Z","hostname":"app.example"}`)
		case resp == goodToken:
			io.WriteString(w, `{"success":true,"challenge_ts":"2026-12-02T00:00:00Z","hostname":"app.example","error-codes":[]}`)
		default:
			io.WriteString(w, `{"success":false,"error-codes":["invalid-input-response"]}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCaptchaProviders(t *testing.T) {
	ctx := context.Background()
	for name := range challenge.Providers {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int64
			srv := fakeSiteverify(t, name, &calls)
			c, err := challenge.NewCaptcha(challenge.CaptchaOptions{Provider: name, SiteKey: siteKey, Secret: secretKey, VerifyURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Verify(ctx, goodToken, "203.0.113.9"); err != nil {
				t.Errorf("Verify(good) = %v, want nil", err)
			}
			if err := c.Verify(ctx, "forged", "203.0.113.9"); !errors.Is(err, challenge.ErrInvalid) {
				t.Errorf("Verify(forged) = %v, want ErrInvalid", err)
			}
			n := calls.Load()
			if err := c.Verify(ctx, "", "203.0.113.9"); !errors.Is(err, challenge.ErrMissing) {
				t.Errorf("Verify(\"\") = %v, want ErrMissing", err)
			}
			if calls.Load() != n {
				t.Error("an empty response was sent to the provider")
			}
			if err := c.Check(ctx); err != nil {
				t.Errorf("Check() = %v, want nil (the API answers and takes our keys)", err)
			}

			wrong, _ := challenge.NewCaptcha(challenge.CaptchaOptions{Provider: name, SiteKey: siteKey, Secret: "wrong", VerifyURL: srv.URL})
			if err := wrong.Verify(ctx, goodToken, ""); !errors.Is(err, challenge.ErrUnavailable) {
				t.Errorf("Verify with a wrong secret = %v, want ErrUnavailable (fail closed, our configuration)", err)
			}
			if err := wrong.Check(ctx); err == nil {
				t.Error("Check() with a wrong secret = nil")
			}
		})
	}
}

func TestRecaptchaV3LowScoreRefused(t *testing.T) {
	var calls atomic.Int64
	srv := fakeSiteverify(t, "recaptcha", &calls)
	c, _ := challenge.NewCaptcha(challenge.CaptchaOptions{Provider: "recaptcha", SiteKey: siteKey, Secret: secretKey, VerifyURL: srv.URL})
	if err := c.Verify(context.Background(), lowToken, ""); !errors.Is(err, challenge.ErrInvalid) {
		t.Errorf("Verify(score 0.1) = %v, want ErrInvalid", err)
	}
}

// A provider that is down, slow, or answers garbage fails the form closed.
func TestCaptchaOutageFailsClosed(t *testing.T) {
	ctx := context.Background()
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(block); slow.Close() })
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html>bad gateway</html>")
	}))
	t.Cleanup(broken.Close)
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"success":false}`)
	}))
	t.Cleanup(unavailable.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	for _, tc := range []struct{ name, url string }{
		{"timeout", slow.URL}, {"HTML error page", broken.URL}, {"503", unavailable.URL}, {"connection refused", closed.URL},
	} {
		c, err := challenge.NewCaptcha(challenge.CaptchaOptions{Provider: "turnstile", SiteKey: siteKey, Secret: secretKey, VerifyURL: tc.url, Timeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Verify(ctx, goodToken, ""); !errors.Is(err, challenge.ErrUnavailable) {
			t.Errorf("%s: Verify = %v, want ErrUnavailable", tc.name, err)
		}
		if err := c.Check(ctx); err == nil {
			t.Errorf("%s: Check() = nil", tc.name)
		}
	}
}

func TestCaptchaDefaultsAreTheRealAPIs(t *testing.T) {
	want := map[string]string{
		"turnstile":       "https://challenges.cloudflare.com/turnstile/v0/siteverify",
		"hcaptcha":        "https://api.hcaptcha.com/siteverify",
		"recaptcha":       "https://www.google.com/recaptcha/api/siteverify",
		"friendlycaptcha": "https://global.frcapi.com/api/v2/captcha/siteverify",
	}
	for name, u := range want {
		if got := challenge.Providers[name].VerifyURL; got != u {
			t.Errorf("Providers[%q].VerifyURL = %q, want %q", name, got, u)
		}
	}
	if len(challenge.Providers) != len(want) {
		t.Errorf("%d providers, want %d", len(challenge.Providers), len(want))
	}
	for _, bad := range []challenge.CaptchaOptions{
		{Provider: "nocaptcha", SiteKey: "k", Secret: "s"},
		{Provider: "turnstile", Secret: "s"},
		{Provider: "turnstile", SiteKey: "k", Secret: "s", VerifyURL: "ftp://x"},
	} {
		if _, err := challenge.NewCaptcha(bad); err == nil {
			t.Errorf("NewCaptcha(%+v) = nil error", bad)
		}
	}
}
