package passhash

import (
	"fmt"
	"strings"
)

// formatError is an ErrUnknownFormat for a string of a known scheme that cannot be used: a
// malformed field or an unsupported variant. The scheme is kept so that Describe can name it
// and auto does not treat it as an unknown format to overwrite.
type formatError struct {
	scheme string
	what   string
}

func (e *formatError) Error() string {
	return fmt.Sprintf("%v: %s hash with %s", ErrUnknownFormat, e.scheme, e.what)
}

func (e *formatError) Unwrap() error { return ErrUnknownFormat }

// unsupported is a parse result for a format recognised by name but not verifiable.
func unsupported(scheme, variant, note string) (*parsed, error) {
	return &parsed{info: Info{Scheme: scheme, Variant: variant, Note: note}},
		&formatError{scheme: scheme, what: "the unsupported variant " + variant}
}

func malformed(scheme, what string) error {
	return &formatError{scheme: scheme, what: what}
}

func tooExpensive(scheme, what string) error {
	return fmt.Errorf("%w: %s %s", ErrTooExpensive, scheme, what)
}

// parse recognises encoded and takes it apart, refusing cost parameters beyond lim.
func parse(encoded string, lim *limits) (*parsed, error) {
	s := encoded
	switch {
	case s == "":
		return nil, fmt.Errorf("%w: empty", ErrUnknownFormat)
	case len(s) > maxEncoded:
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrUnknownFormat, maxEncoded)
	case s[0] == '$':
		return parseMCF(s, "", lim)
	case s[0] == '{':
		if p, err, ok := parseSpring(s, lim); ok {
			return p, err
		}
		return parseLDAP(s, lim)
	case strings.HasPrefix(s, "U$"):
		return unsupported("drupal7", "U$", "Drupal 7's marker for an MD5 hash upgraded from Drupal 6; set [users] hash = \"drupal7\" to write $S$ for these users")
	case s[0] == '!':
		return unsupported("django-unusable", "!", "Django's marker for an account without a usable password (set_unusable_password); auto uses the fallback scheme for it")
	case strings.HasPrefix(s, "pbkdf2:"), strings.HasPrefix(s, "scrypt:"):
		return parseWerkzeug(s, lim)
	case strings.HasPrefix(s, "pbkdf2_sha256$"), strings.HasPrefix(s, "pbkdf2_sha1$"):
		return parseDjangoPBKDF2(s, lim)
	case strings.HasPrefix(s, "bcrypt$"):
		return parseBcrypt(s[len("bcrypt$"):], "bcrypt$", false, lim)
	case strings.HasPrefix(s, "bcrypt_sha256$"):
		return parseBcrypt(s[len("bcrypt_sha256$"):], "bcrypt_sha256$", true, lim)
	case strings.HasPrefix(s, "argon2$"):
		return parseArgon2(s[len("argon2"):], "argon2", lim)
	case strings.HasPrefix(s, "scrypt$") && strings.Count(s, "$") == 5:
		return parseDjangoScrypt(s, lim)
	case strings.HasPrefix(s, "scrypt$"):
		return parseWerkzeug(s, lim)
	case strings.HasPrefix(s, "crypt$"):
		return unsupported("django-crypt", "crypt", "Django's CryptPasswordHasher (Unix crypt, usually DES); not supported")
	}
	if p, err, ok := parseASPNet(s, lim); ok {
		return p, err
	}
	if p, err, ok := parseLegacy(s); ok {
		return p, err
	}
	return nil, fmt.Errorf("%w: no known prefix or shape", ErrUnknownFormat)
}

// parseMCF parses the "modular crypt format" hashes that start with $id$. prefix is an outer
// label kept on rewrite ("{CRYPT}").
func parseMCF(s, prefix string, lim *limits) (*parsed, error) {
	id, _, found := strings.Cut(s[1:], "$")
	if !found {
		return nil, fmt.Errorf("%w: no $id$ prefix", ErrUnknownFormat)
	}
	switch id {
	case "2a", "2b", "2y":
		return parseBcrypt(s, prefix, false, lim)
	case "wp":
		if prefix != "" {
			return nil, malformed("wordpress", "a {CRYPT} prefix")
		}
		return parseBcrypt(s[len(wpPrefix):], wpPrefix, false, lim)
	case "P", "H", "S":
		if prefix != "" {
			return nil, malformed("phpass", "a {CRYPT} prefix")
		}
		return parsePhpass(s, lim)
	case "2x", "2":
		return unsupported("bcrypt", "$"+id+"$", "crypt_blowfish's compatibility prefix for the pre-2011 8-bit bug (2x) or the original 1999 bcrypt (2); not supported")
	case "argon2id", "argon2i", "argon2d":
		if prefix != "" {
			return nil, malformed("argon2", "a {CRYPT} prefix")
		}
		return parseArgon2(s, "", lim)
	case "5", "6":
		return parseShaCrypt(s, prefix, lim)
	case "1", "apr1":
		return parseMD5Crypt(s, prefix)
	case "pbkdf2", "pbkdf2-sha256", "pbkdf2-sha512":
		if prefix != "" {
			return nil, malformed("passlib", "a {CRYPT} prefix")
		}
		return parsePasslib(s, lim)
	case "y":
		return parseYescrypt(s, prefix, lim)
	case "gy":
		return unsupported("gost-yescrypt", "$gy$", "libxcrypt's gost-yescrypt (yescrypt under GOST R 34.11-2012); not supported")
	case "7":
		return unsupported("scrypt-crypt", "$7$", "libxcrypt's scrypt; not supported")
	case "bcrypt-sha256":
		return unsupported("passlib", "$bcrypt-sha256$", "passlib's bcrypt_sha256; not supported")
	case "scrypt":
		return unsupported("passlib", "$scrypt$", "passlib's scrypt; not supported")
	case "sha1":
		return unsupported("sha1-crypt", "$sha1$", "NetBSD's sha1crypt; not supported")
	case "md5":
		return unsupported("sun-md5-crypt", "$md5$", "Solaris MD5 crypt; not supported")
	}
	return nil, fmt.Errorf("%w: unknown $id$ prefix", ErrUnknownFormat)
}
