package reset

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"
)

// TokenLen is the length of a raw token: 32 random bytes in unpadded base64url.
const TokenLen = 43

// NewToken returns a fresh raw token (256 bits from crypto/rand, SECURITY.md RQ-TOK-01) and
// the id under which its record is stored.
func NewToken() (raw, id string) {
	var b [32]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go ≥ 1.24)
	raw = base64.RawURLEncoding.EncodeToString(b[:])
	return raw, TokenID(raw)
}

// TokenID returns the id under which the token raw is stored: the hex SHA-256 of it. Only this
// is stored, never raw (SECURITY.md RQ-TOK-02).
func TokenID(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// ValidTokenShape reports whether s has exactly the shape of a raw token: 43 characters of
// the base64url alphabet that decode to 32 bytes. Anything else is refused before any lookup
// (SECURITY.md RQ-TOK-08; Devise CVE-2013-0233 looked up whatever type arrived).
func ValidTokenShape(s string) bool {
	if len(s) != TokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	// 43 characters carry 258 bits; the last character's two low bits must be zero for the
	// string to be the canonical encoding of 32 bytes, so one token has one spelling.
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

// Fingerprint returns a short, non-reversible fingerprint of an account's password hash and
// address. A token remembers it at issue; if either changes by any path (even inside the app),
// the fingerprint differs and the token is void (SECURITY.md RQ-TOK-06).
func Fingerprint(passwordHash, email string) string {
	h := sha256.New()
	h.Write([]byte("resetgate-fingerprint\x00"))
	h.Write([]byte(passwordHash))
	h.Write([]byte{0})
	h.Write([]byte(email))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// NewJobID returns a fresh id for a [Job]: the creation time in nanoseconds as 16 hex digits,
// so that ids sort in creation order, then 8 random hex digits, so that ids made at the same
// moment by several replicas never collide. The caller chooses the id (rather than the store)
// so that an Enqueue retried after a lost reply stores the job once.
func NewJobID(now time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%016x", uint64(now.UnixNano())) + hex.EncodeToString(b[:])
}
