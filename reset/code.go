package reset

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Typed codes (issue 14, item 1; SECURITY.md RQ-COD-01): the reset mail carries, beside the
// link, a short code in Crockford's base32 that the user can type on another device. The code
// is a second secret of the same token: only its HMAC under a server key is stored, it dies
// with the token, and wrong codes are limited per address and per client.

// Code lengths, in characters.
const (
	DefaultCodeLength = 8
	MinCodeLength     = 6
	MaxCodeLength     = 12
	// CodeAttempts is how many wrong codes an address may get within a link's lifetime; at
	// the last one its pending reset is voided and its codes are refused until the window ends.
	CodeAttempts = 5
	// MaxCodeInput is the longest typed code read, in bytes: longer input is wrong, unread.
	MaxCodeInput = 64
)

// ErrCodeInvalid: the address and code do not open a reset. Wrong, unknown address, expired,
// used, voided or locked after too many wrong codes: one error, so that an attacker learns
// nothing from the difference.
var ErrCodeInvalid = errors.New("reset code is wrong, expired or no longer usable")

// crockford is Crockford's base32 alphabet: no I, L, O or U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

const (
	codeFailKey   = "code-fail:" // + the normalised address
	codeSecret    = "reset-code"
	codeSecretLen = 32
)

// newCode draws a code of n characters (crypto/rand, no modulo bias: 256 is a multiple of 32).
func newCode(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = crockford[b[i]%32]
	}
	return string(b)
}

// GroupCode writes a code as it is shown: in groups of four joined by dashes ("ABCD-EFGH").
func GroupCode(code string) string {
	var b strings.Builder
	for i, r := range code {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// NormalizeCode reads a typed code leniently: case is ignored, dashes and white space are
// dropped (and direction marks a copy from right-to-left text brings), O reads as 0 and I and
// L as 1 (Crockford's rule). It returns false when what is left has a character outside the
// alphabet.
func NormalizeCode(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ' || r == '\t' || r == '\u00a0':
			continue
		case unicode.Is(unicode.Bidi_Control, r) || r == '\ufeff':
			// Direction marks and isolates come along when a code is copied out of
			// right-to-left text (Arabic, Hebrew); a byte-order mark from some editors.
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if r > 0x7f || strings.IndexByte(crockford, byte(r)) < 0 {
			return "", false
		}
		b.WriteRune(r)
	}
	return b.String(), b.Len() > 0
}

// codeKey returns the server key of the code HMACs, shared by every replica through the store.
// A secret never changes once created, so it is read once.
func (s *Service) codeKey(ctx context.Context) ([]byte, error) {
	if k := s.codeSecret.Load(); k != nil {
		return *k, nil
	}
	k, err := s.store.Secret(ctx, codeSecret, codeSecretLen)
	if err != nil {
		return nil, err
	}
	s.codeSecret.Store(&k)
	return k, nil
}

// codeID is what the store keeps of a code: an HMAC binding it to the address, so that a
// code is worth nothing for any other account and the stored value cannot be brute-forced
// offline without the key (a code is short).
func codeID(key []byte, email, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(NormalizeEmail(email)))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

// CodesEnabled reports whether reset mails carry a typed code.
func (s *Service) CodesEnabled() bool { return !s.o.NoCode }

// drawCode returns a fresh code for the account with address email and its CodeID, or empty
// strings when codes are off.
func (s *Service) drawCode(ctx context.Context, email string) (code, id string, err error) {
	if s.o.NoCode {
		return "", "", nil
	}
	key, err := s.codeKey(ctx)
	if err != nil {
		return "", "", fmt.Errorf("code key: %w", err)
	}
	code = newCode(s.o.CodeLength)
	return code, codeID(key, email, code), nil
}
