package reset

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxEmailLen is the longest address accepted (RFC 5321 §4.5.3.1.3 caps a path at 256 octets,
// so an address at 254).
const MaxEmailLen = 254

// ParseEmail checks that s is one plain e-mail address and returns it with surrounding spaces
// trimmed and its case kept (callers fold it with [NormalizeEmail] unless the app's addresses
// are case-sensitive). It refuses, with ErrMalformedEmail, anything that could smuggle a second
// recipient or a header (SECURITY.md RQ-REQ-06, RQ-HDR-05): control characters (CR, LF, NUL…),
// inner white space, list separators, quoted local parts, comments, angle brackets, encoded
// words (=?…?=) and invalid UTF-8. Non-ASCII letters are allowed but never folded, so a
// dotless ı, a Kelvin sign or a full-width letter can only ever match itself.
func ParseEmail(s string) (string, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return "", ErrMalformedEmail
		}
	}
	s = strings.Trim(s, " ")
	if s == "" || len(s) > MaxEmailLen || !utf8.ValidString(s) || strings.Contains(s, "=?") {
		return "", ErrMalformedEmail
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || at > 64 || at == len(s)-1 {
		return "", ErrMalformedEmail
	}
	local, domain := s[:at], s[at+1:]
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`,;:"<>()[]\`, r) || r == utf8.RuneError ||
			unicode.Is(unicode.Cf, r) { // format characters: zero-width joiners, bidi overrides
			return "", ErrMalformedEmail
		}
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return "", ErrMalformedEmail
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", ErrMalformedEmail
		}
	}
	return s, nil
}

// NormalizeEmail is resetgate's one definition of "the same address" (SECURITY.md RQ-REQ-07):
// surrounding spaces trimmed and ASCII letters lower-cased; nothing else is mapped. It is
// idempotent: NormalizeEmail(NormalizeEmail(s)) == NormalizeEmail(s).
func NormalizeEmail(s string) string {
	s = strings.Trim(s, " \t")
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// SameEmail reports whether a stored address and a normalised submitted one name the same
// account under [NormalizeEmail]. Adapters use it to filter what their database's collation
// matched: MySQL's utf8mb4_general_ci, for one, equates "ı" with "i" (GitHub's 2016 dotless-i
// takeover).
func SameEmail(stored, normalised string) bool {
	return NormalizeEmail(stored) == normalised
}

// NormalizeUsername is the rule usernames are looked up by: surrounding spaces and tabs
// trimmed, ASCII letters folded to lower case, nothing else changed. As with addresses
// ([NormalizeEmail]), no Unicode folding or normalisation is applied, so a look-alike letter
// (Cyrillic а, dotless ı, a full-width A) never reaches another account.
func NormalizeUsername(s string) string { return NormalizeEmail(s) }
