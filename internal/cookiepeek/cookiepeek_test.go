package cookiepeek_test

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/sessions"

	"resetgate/internal/cookiepeek"
)

const secret = "tok_Zq3xV9aLr2mW8pYc"

// cookieFrom saves a gorilla session holding secret and returns the Set-Cookie value.
func cookieFrom(t *testing.T, store *sessions.CookieStore) string {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	s, _ := store.New(r, "resetgate")
	s.Values["token"] = secret
	if err := s.Save(r, w); err != nil {
		t.Fatalf("save session: %v", err)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("saving the session set %d cookies, want 1", len(cookies))
	}
	return cookies[0].Value
}

func TestReveals(t *testing.T) {
	hashKey, blockKey := bytes.Repeat([]byte("h"), 64), bytes.Repeat([]byte("b"), 32)
	for _, tt := range []struct {
		name  string
		value func(t *testing.T) string
		want  bool
	}{
		{"secret in the clear", func(*testing.T) string { return "a=" + secret }, true},
		{"URL-escaped", func(*testing.T) string { return "x%7C" + secret }, true},
		{"signed but not encrypted (NewCookieStore(key, nil))", func(t *testing.T) string {
			return cookieFrom(t, sessions.NewCookieStore(hashKey, nil))
		}, true},
		{"signed and encrypted", func(t *testing.T) string {
			return cookieFrom(t, sessions.NewCookieStore(hashKey, blockKey))
		}, false},
		{"unrelated value", func(*testing.T) string { return "MTcwMDAwMDAwMHxhYmN8ZGVm" }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.value(t)
			if got := cookiepeek.Reveals(v, secret); got != tt.want {
				t.Errorf("Reveals(%q, %q) = %v, want %v; layers: %q", v, secret, got, tt.want, cookiepeek.Layers(v))
			}
		})
	}
	if cookiepeek.Reveals("anything", "") {
		t.Errorf(`Reveals("anything", "") = true, want false`)
	}
}

// The unencrypted gorilla cookie does not hold the secret as is: a plain search misses it,
// which is why tests decode before looking.
func TestPlainSearchMissesTheUnencryptedSecret(t *testing.T) {
	v := cookieFrom(t, sessions.NewCookieStore(bytes.Repeat([]byte("h"), 64), nil))
	if bytes.Contains([]byte(v), []byte(secret)) {
		t.Fatalf("the unencrypted cookie %q holds %q as is: this no longer shows why decoding is needed", v, secret)
	}
}
