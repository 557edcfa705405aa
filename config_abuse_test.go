package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// `resetgate check` asks the captcha's siteverify API about a token that cannot be valid: a
// well-formed refusal passes, a refused secret fails.
func TestCheckCaptcha(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("secret") != "right" {
			io.WriteString(w, `{"success":false,"error-codes":["invalid-input-secret"]}`)
			return
		}
		io.WriteString(w, `{"success":false,"error-codes":["invalid-input-response"]}`)
	}))
	t.Cleanup(fake.Close)
	conf := minimal + "[abuse]\ncaptcha = \"hcaptcha\"\ncaptcha_site_key = \"site\"\ncaptcha_secret_env = \"CAPTCHA\"\ncaptcha_verify_url = \"" + fake.URL + "\"\n"
	for secret, wantOK := range map[string]bool{"right": true, "wrong": false} {
		getenv := env("CAPTCHA", secret)
		cfg, err := parseConfig("c.toml", []byte(conf), getenv)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkCaptcha(context.Background(), cfg, getenv); (err == nil) != wantOK {
			t.Errorf("checkCaptcha(secret %q) = %v, want ok=%t", secret, err, wantOK)
		}
	}
}
