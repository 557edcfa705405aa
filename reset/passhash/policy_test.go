package passhash

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const (
	werkzeugHash = "pbkdf2:sha256:150000$JuuzqZVc7kXV0IwV$64426d16646e6dbdfd84af9d8e9f4572479ad912986f842d748dc17e9c3d06b1"
	phpHash      = "$2y$05$2QwlBZ8mvAtHTJCz8M4VbuD2jMMaUYh6bj3dtaTE5rx92rvJtTnaO"
	apr1Hash     = "$apr1$V0UufzLs$E4Mc.4alI.KRSfTRSEp9O/"
)

func TestNewPolicyValidates(t *testing.T) {
	tests := []struct {
		name, scheme, fallback string
		ok                     bool
	}{
		{"defaults", "", "", true},
		{"auto with fallback", "auto", "django", true},
		{"explicit", "bcrypt", "", true},
		{"unknown scheme", "scrypt", "", false},
		{"auto is no fallback", "auto", "auto", false},
		{"unknown fallback", "", "md5", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPolicy(tt.scheme, tt.fallback, nil)
			if (err == nil) != tt.ok {
				t.Fatalf("NewPolicy(%q, %q) = %v, %v, want ok %v", tt.scheme, tt.fallback, p, err, tt.ok)
			}
		})
	}
}

// mustLogger returns a logger writing text into the returned buffer.
func mustLogger(t *testing.T) (*slog.Logger, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

func TestPolicyFor(t *testing.T) {
	tests := []struct {
		name       string
		scheme     string
		fallback   string
		current    string
		wantParams string // the chosen hasher: scheme, variant, params
		wantErr    error
		wantLog    bool
	}{
		{"auto keeps werkzeug's parameters", "", "", werkzeugHash, "werkzeug pbkdf2:sha256 iterations=150000 salt=16 chars", nil, false},
		{"auto keeps PHP's $2y$ and cost", "auto", "", phpHash, "bcrypt $2y$ cost=5", nil, false},
		{"auto ignores the fallback for a known hash", "auto", "django", phpHash, "bcrypt $2y$ cost=5", nil, false},
		{"explicit scheme whatever the current hash", "werkzeug", "", phpHash, "werkzeug pbkdf2:sha256 iterations=600000 salt=16 chars", nil, false},
		{"explicit scheme replaces a weak hash", "sha512-crypt", "", apr1Hash, "sha512-crypt $6$ rounds=656000 salt=16 chars", nil, false},
		{"auto refuses a weak hash", "auto", "werkzeug", apr1Hash, "", ErrWeakFormat, false},
		{"auto refuses plain text", "", "werkzeug", "plain$$hunter2", "", ErrWeakFormat, false},
		{"unknown without fallback", "", "", "hunter2", "", ErrUnknownFormat, false},
		{"unknown with fallback", "", "django", "hunter2", "django pbkdf2_sha256 iterations=1000000 salt=22 chars", nil, true},
		{"empty with fallback", "", "ldap-ssha", "", "ldap-ssha {SSHA} salt=8 bytes", nil, true},
		{"django unusable with fallback", "", "django", "!qhSWhcYq3qyZ0IAt5kqbsmJQbqKhZp54ZSfrSWpu", "django pbkdf2_sha256 iterations=1000000 salt=22 chars", nil, true},
		{"truncated known hash is no unknown", "", "werkzeug", werkzeugHash[:60], "", ErrUnknownFormat, false},
		{"unsupported variant is no unknown", "", "werkzeug", "$gy$j9T$BdImFSDFlAiXpJlYBqNZl1$QxGILZXGS7FnoSIEkMAKUHxiCk/xqfyQMpONITA80i2", "", ErrUnknownFormat, false},
		{"too expensive is no unknown", "", "werkzeug", "$2b$31$TLM4/TJuzGFnzu17u0EEbOqCSAJ4TeYEF8KKUYDPdOV7TroO9ruoy", "", ErrTooExpensive, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, buf := mustLogger(t)
			p, err := NewPolicy(tt.scheme, tt.fallback, log)
			if err != nil {
				t.Fatalf("NewPolicy(%q, %q) = %v", tt.scheme, tt.fallback, err)
			}
			h, err := p.For("user-42", tt.current)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || h != nil {
					t.Fatalf("For(%q) = %v, %v, want %v", tt.current, h, err, tt.wantErr)
				}
				if msg := err.Error(); !strings.Contains(msg, "user-42") || (len(tt.current) > 8 && strings.Contains(msg, tt.current)) {
					t.Errorf("For(%q) error %q: want the user id and not the hash", tt.current, msg)
				}
			} else {
				if err != nil {
					t.Fatalf("For(%q) = %v", tt.current, err)
				}
				// The hasher's String is what Describe says of its hashes (TestNewDefaults,
				// TestVectorsRehash), without paying for a hash here.
				if got := fmt.Sprint(h); got != tt.wantParams {
					t.Errorf("For(%q) = %q, want %q", tt.current, got, tt.wantParams)
				}
			}
			logged := buf.String()
			if gotLog := strings.Contains(logged, "level=WARN"); gotLog != tt.wantLog {
				t.Errorf("For(%q) logged %q, want a warning: %v", tt.current, logged, tt.wantLog)
			}
			if tt.wantLog && (!strings.Contains(logged, "user=user-42") || tt.current != "" && strings.Contains(logged, tt.current)) {
				t.Errorf("For(%q) logged %q: want the user id and not the hash", tt.current, logged)
			}
		})
	}
}

func TestPolicyZeroValue(t *testing.T) {
	var p Policy
	h, err := p.For("7", werkzeugHash)
	if err != nil || h.Scheme() != "werkzeug" {
		t.Fatalf("Policy{}.For(werkzeug hash) = %v, %v, want a werkzeug hasher", h, err)
	}
	if _, err := p.For("7", "hunter2"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Policy{}.For(unknown) = %v, want ErrUnknownFormat (no fallback)", err)
	}
}
