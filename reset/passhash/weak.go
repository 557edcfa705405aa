package passhash

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// legacyDigests are the hashlib names werkzeug before 2.3 accepted as "METHOD$SALT$HEX"
// (HMAC keyed with the salt, or a bare digest without one) and, for md5 and sha1, Django's
// salted and unsalted hashers (digest of salt+password).
var legacyDigests = map[string]func() hash.Hash{
	"md5": md5.New, "sha1": sha1.New, "sha224": digests["sha224"], "sha256": digests["sha256"],
	"sha384": digests["sha384"], "sha512": digests["sha512"],
}

// parseLegacy recognises the weak formats that have no distinctive prefix. ok is false when
// s is none of them.
func parseLegacy(s string) (p *parsed, err error, ok bool) {
	if rest, found := strings.CutPrefix(s, "plain$"); found {
		// werkzeug's check_password_hash compares the third field to the password as is.
		_, plain, found := strings.Cut(rest, "$")
		if !found {
			return nil, malformed("plain", "no password field"), true
		}
		return &parsed{
			info:  Info{Scheme: "plain", Variant: "werkzeug plain$$", Weak: true, Note: "plain text, which werkzeug < 2.3 accepts; resetgate never writes it"},
			check: func(pw []byte) (bool, error) { return equal(pw, []byte(plain)), nil },
		}, nil, true
	}
	if method, rest, found := strings.Cut(s, "$"); found && legacyDigests[method] != nil {
		p, err := parseSaltedLegacy(method, rest)
		return p, err, true
	}
	if n := len(s); (n == 32 || n == 40 || n == 64 || n == 128) && isHex(s) {
		return parseBareHex(s), nil, true
	}
	if len(s) == 41 && s[0] == '*' && isHex(s[1:]) {
		want, _ := hex.DecodeString(s[1:])
		return &parsed{
			info: Info{Scheme: "mysql41", Variant: "MySQL PASSWORD()", Weak: true, Note: "MySQL 4.1's unsalted double SHA-1; resetgate never writes it"},
			check: func(pw []byte) (bool, error) {
				once := sha1.Sum(pw)
				twice := sha1.Sum(once[:])
				return equal(twice[:], want), nil
			},
		}, nil, true
	}
	return parseDES(s, "")
}

func parseSaltedLegacy(method, rest string) (*parsed, error) {
	newHash := legacyDigests[method]
	salt, digestHex, found := strings.Cut(rest, "$")
	want, ok := lowerHex(digestHex)
	if !found || !ok || len(want) != newHash().Size() {
		return nil, malformed(method, "a bad digest")
	}
	if salt == "" {
		return &parsed{
			info: Info{Scheme: method, Variant: "unsalted " + method + "$$", Weak: true, Note: "unsalted fast digest (werkzeug < 2.3 or Django's unsalted hashers); resetgate never writes it"},
			check: func(pw []byte) (bool, error) {
				h := newHash()
				h.Write(pw)
				return equal(h.Sum(nil), want), nil
			},
		}, nil
	}
	variant, note := "werkzeug < 2.3 salted HMAC", "one fast HMAC keyed with the salt (werkzeug < 2.3); resetgate never writes it"
	djangoToo := method == "md5" || method == "sha1"
	if djangoToo {
		// The same string shape is Django's SHA1PasswordHasher/MD5PasswordHasher, which
		// hashes salt+password; both readings are tried.
		variant, note = "Django salted or werkzeug < 2.3 salted HMAC", "one fast salted digest (Django's "+strings.ToUpper(method)+"PasswordHasher or werkzeug < 2.3); resetgate never writes it"
	}
	return &parsed{
		info: Info{Scheme: "salted-" + method, Variant: variant, Params: fmt.Sprintf("salt=%d chars", len(salt)), Weak: true, Note: note},
		check: func(pw []byte) (bool, error) {
			mac := hmac.New(newHash, []byte(salt))
			mac.Write(pw)
			match := equal(mac.Sum(nil), want)
			if djangoToo {
				h := newHash()
				h.Write([]byte(salt))
				h.Write(pw)
				match = equal(h.Sum(nil), want) || match
			}
			return match, nil
		},
	}, nil
}

// parseBareHex is an unsalted hex digest with no prefix, the length naming the digest.
func parseBareHex(s string) *parsed {
	newHash := map[int]func() hash.Hash{32: md5.New, 40: sha1.New, 64: digests["sha256"], 128: digests["sha512"]}[len(s)]
	scheme := map[int]string{32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}[len(s)]
	want, _ := hex.DecodeString(s)
	return &parsed{
		info: Info{Scheme: scheme, Variant: "unsalted hex", Weak: true, Note: "unsalted fast digest (e.g. Django's unsalted_md5 or an app's own " + strings.ToUpper(scheme) + "()); resetgate never writes it"},
		check: func(pw []byte) (bool, error) {
			h := newHash()
			h.Write(pw)
			return equal(h.Sum(nil), want), nil
		},
	}
}

// parseDES recognises a traditional DES crypt string (13 characters of the crypt alphabet).
// It cannot be verified here; it is recognised so that auto refuses it instead of
// overwriting it with a fallback format the app may not read.
func parseDES(s, prefix string) (*parsed, error, bool) {
	if len(s) != 13 || !allIn(s, crypt64) {
		return nil, nil, false
	}
	return &parsed{info: Info{
		Scheme: "des-crypt", Variant: prefix + "DES", Weak: true,
		Note: "looks like traditional DES crypt (8-character passwords, 12-bit salt); resetgate cannot verify it and never writes it",
	}}, nil, true
}

func isHex(s string) bool { return allIn(s, "0123456789abcdefABCDEF") }
