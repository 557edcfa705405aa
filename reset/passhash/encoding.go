package passhash

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"strings"
)

// Salt alphabets.
const (
	alnum   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	crypt64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// randomText returns n characters drawn uniformly from alphabet using crypto/rand.
func randomText(n int, alphabet string) []byte {
	out := make([]byte, 0, n)
	// Rejection sampling keeps the distribution uniform for alphabets that do not divide 256.
	limit := 256 - 256%len(alphabet)
	buf := make([]byte, n+8)
	for len(out) < n {
		rand.Read(buf)
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return out
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// textSaltLen returns n, or def when n characters of a 62- or 64-symbol alphabet would carry
// fewer than 32 bits (SECURITY.md RQ-PWD-09).
func textSaltLen(n, def int) int {
	if n < 6 {
		return def
	}
	return n
}

// saltShape is how a format's salt looks when its bytes are stored encoded (argon2's PHC
// string): raw random bytes, or text that some frameworks use as the salt bytes (Django's
// 22 alphanumerics, PHP's base64-like characters).
type saltShape struct {
	n        int
	text     bool   // the salt bytes are printable characters from alphabet
	alphabet string // when text
}

func shapeOf(salt []byte) saltShape {
	if len(salt) == 0 {
		return saltShape{}
	}
	isIn := func(alphabet string) bool {
		for _, c := range salt {
			if strings.IndexByte(alphabet, c) < 0 {
				return false
			}
		}
		return true
	}
	switch {
	case isIn(alnum):
		return saltShape{n: len(salt), text: true, alphabet: alnum}
	case isIn(crypt64):
		return saltShape{n: len(salt), text: true, alphabet: crypt64}
	}
	return saltShape{n: len(salt)}
}

func (s saltShape) String() string {
	if s.text {
		return fmt.Sprintf("salt=%d chars", s.n)
	}
	return fmt.Sprintf("salt=%d bytes", s.n)
}

func (s saltShape) random() []byte {
	if s.text {
		return randomText(s.n, s.alphabet)
	}
	return randomBytes(s.n)
}

// atoi parses a plain decimal count: digits only, no sign, at most 10 digits.
func atoi(s string) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// lowerHex decodes lower-case hex only: frameworks compare hex digests as strings, so an
// upper-case copy would not verify there either.
func lowerHex(s string) ([]byte, bool) {
	if len(s)%2 != 0 {
		return nil, false
	}
	out := make([]byte, len(s)/2)
	for i := 0; i < len(s); i += 2 {
		hi, ok1 := fromHex(s[i])
		lo, ok2 := fromHex(s[i+1])
		if !ok1 || !ok2 {
			return nil, false
		}
		out[i/2] = hi<<4 | lo
	}
	return out, true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

func allIn(s, alphabet string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(alphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}
