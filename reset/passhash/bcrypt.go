package passhash

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"

	"resetgate/reset/passhash/internal/argon2"
)

// bcryptMax is bcrypt's key limit: PHP, Python, passlib and htpasswd silently use only the
// first 72 bytes, so a longer password must be refused, never cut (SECURITY.md RQ-PWD-05).
const bcryptMax = 72

// bcryptFormat is "$2b$COST$SALTHASH", optionally inside Django's "bcrypt$" or
// "bcrypt_sha256$", LDAP's "{CRYPT}", Spring Security's "{bcrypt}" or WordPress 6.8's "$wp".
type bcryptFormat struct {
	prefix  string // "", "{CRYPT}" (any case), "bcrypt$", "bcrypt_sha256$", "{bcrypt}" or "$wp"
	minor   byte   // 'a', 'b' or 'y'
	cost    int
	prehash bool // Django's bcrypt_sha256: bcrypt of the hex SHA-256 of the password
}

func (f bcryptFormat) describe() Info {
	version := "$2" + string(f.minor) + "$"
	info := Info{Scheme: "bcrypt", Variant: f.prefix + version, Params: fmt.Sprintf("cost=%d", f.cost), Writable: true}
	limit := "passwords over 72 bytes are refused (the app's bcrypt would silently use only the first 72)"
	switch f.prefix {
	case "bcrypt$":
		info.Scheme, info.Variant = "django", "bcrypt "+version
		info.Note = "Django verifies it only if PASSWORD_HASHERS lists django.contrib.auth.hashers.BCryptPasswordHasher, which Django's default list leaves out; needs the bcrypt package; " + limit
	case "bcrypt_sha256$":
		info.Scheme, info.Variant = "django", "bcrypt_sha256 "+version
		info.Note = "needs django.contrib.auth.hashers.BCryptSHA256PasswordHasher in PASSWORD_HASHERS (in Django's default list) and the bcrypt package"
	case wpPrefix:
		info.Scheme, info.Variant = "wordpress", "$wp"+version
		info.Note = "WordPress 6.8 or later (bcrypt over base64(HMAC-SHA384(password)), so no 72-byte limit); WordPress before 6.8 cannot verify it"
	case springBcrypt:
		info.Scheme = "spring"
		info.Note = "Spring Security's DelegatingPasswordEncoder with BCryptPasswordEncoder; " + limit
	default:
		info.Note = limit
		if f.minor == 'b' {
			info.Note += "; PHP's password_verify accepts $2b$ but its password_needs_rehash reports it for rehashing"
		}
	}
	if f.cost < 10 {
		info.Note = joinNotes(info.Note, fmt.Sprintf("cost %d is below the recommended minimum of 10", f.cost))
	}
	return info
}

// The prefixes of the bcrypt formats that are not Django's.
const (
	wpPrefix     = "$wp"
	springBcrypt = "{bcrypt}"
)

func (f bcryptFormat) maxPassword() int {
	if f.prehash || f.prefix == wpPrefix {
		return MaxPasswordBytes
	}
	return bcryptMax
}

// key is what bcrypt hashes: Django's bcrypt_sha256 and WordPress 6.8 pre-hash so that no
// length is lost.
func (f bcryptFormat) key(password []byte) []byte {
	if f.prefix == wpPrefix {
		// wp_check_password: base64_encode(hash_hmac('sha384', $password, 'wp-sha384', true)).
		// (wp_hash_password trims the password first; the check does not, so resetgate hashes
		// the bytes as typed, which is what the login form will send.)
		mac := hmac.New(sha512.New384, []byte("wp-sha384"))
		mac.Write(password)
		return []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	if f.prehash {
		sum := sha256.Sum256(password)
		return []byte(hex.EncodeToString(sum[:]))
	}
	return password
}

func (f bcryptFormat) hash(password []byte) (string, error) {
	out, err := bcrypt.GenerateFromPassword(f.key(password), f.cost)
	if err != nil {
		return "", fmt.Errorf("bcrypt: %w", err)
	}
	// x/crypto writes $2a$; all three minors compute the same function for the passwords
	// accepted here, so only the label changes, to what the app writes itself.
	out[2] = f.minor
	return f.prefix + string(out), nil
}

// bcryptLen is the length of "$2b$12$" plus 22 salt and 31 hash characters.
const bcryptLen = 60

func parseBcrypt(s, prefix string, prehash bool, lim *limits) (*parsed, error) {
	name := bcryptFormat{prefix: prefix, minor: 'b'}.describe().Scheme
	if len(s) != bcryptLen || s[0] != '$' || s[1] != '2' || s[3] != '$' || s[6] != '$' || !allIn(s[7:], crypt64) {
		return nil, malformed(name, "a bad bcrypt string")
	}
	minor := s[2]
	if minor != 'a' && minor != 'b' && minor != 'y' {
		return nil, malformed(name, "an unsupported bcrypt version")
	}
	cost, ok := atoi(s[4:6])
	if !ok || cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, malformed(name, "a bad cost")
	}
	if cost > lim.bcryptCost {
		return nil, tooExpensive(name, fmt.Sprintf("bcrypt cost %d > %d", cost, lim.bcryptCost))
	}
	f := bcryptFormat{prefix: prefix, minor: minor, cost: cost, prehash: prehash}
	stored := []byte(s)
	return &parsed{info: f.describe(), writer: f, check: func(pw []byte) (bool, error) {
		key := f.key(pw)
		if len(key) > bcryptMax {
			// Verify like the app does: its bcrypt only ever saw the first 72 bytes.
			key = key[:bcryptMax]
		}
		err := bcrypt.CompareHashAndPassword(stored, key)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, nil
		}
		return false, fmt.Errorf("bcrypt: %w", err)
	}}, nil
}

// argon2Format is the PHC string "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH" (unpadded standard
// base64), optionally behind Django's "argon2" prefix, Spring Security's "{argon2}" (or
// "{argon2@SpringSecurity_v5_8}") or OpenLDAP's "{ARGON2}".
type argon2Format struct {
	prefix  string // "", "argon2" (Django), a Spring id or an LDAP label (kept as found)
	variant string // argon2id or argon2i
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    saltShape
	keyLen  int
}

func (f argon2Format) describe() Info {
	info := Info{
		Scheme:   "argon2id",
		Variant:  f.variant,
		Params:   fmt.Sprintf("m=%d t=%d p=%d %s hash=%d bytes", f.memory, f.time, f.threads, f.salt, f.keyLen),
		Writable: true,
	}
	switch scheme := argon2Scheme(f.prefix); scheme {
	case "django":
		info.Scheme, info.Variant = "django", "argon2 "+f.variant
		info.Note = "needs django.contrib.auth.hashers.Argon2PasswordHasher in PASSWORD_HASHERS (in Django's default list) and argon2-cffi"
	case "spring":
		info.Scheme, info.Variant = scheme, f.prefix+f.variant
		info.Note = "Spring Security's Argon2PasswordEncoder (needs BouncyCastle on the app's classpath)"
	case "ldap-argon2":
		info.Scheme, info.Variant = scheme, f.prefix+f.variant
		info.Note = "OpenLDAP's argon2 password module (pw-argon2) must be loaded to verify it"
	}
	// OWASP's argon2id options trade memory for passes, from m=47104,t=1 to m=7168,t=5.
	if f.memory < 7168 || uint64(f.memory)*uint64(f.time) < 35840 {
		info.Note = joinNotes(info.Note, "memory × passes is below OWASP's minimum (e.g. m=19456 t=2 p=1)")
	}
	return info
}

func (f argon2Format) maxPassword() int { return MaxPasswordBytes }

func (f argon2Format) key(password, salt []byte) []byte {
	variant := argon2.Argon2id
	if f.variant == "argon2i" {
		variant = argon2.Argon2i
	}
	return argon2.Key(password, salt, argon2.Params{Variant: variant, Time: f.time, Memory: f.memory, Threads: f.threads, KeyLen: uint32(f.keyLen)})
}

func (f argon2Format) hash(password []byte) (string, error) {
	salt := f.salt.random()
	key := f.key(password, salt)
	return fmt.Sprintf("%s$%s$v=%d$m=%d,t=%d,p=%d$%s$%s", f.prefix, f.variant, argon2.Version, f.memory, f.time, f.threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// argon2Scheme names the scheme of an argon2 hash behind prefix.
func argon2Scheme(prefix string) string {
	switch {
	case prefix == "":
		return "argon2id"
	case prefix == "argon2":
		return "django"
	case prefix == springArgon2 || prefix == springArgon2v58:
		return "spring"
	}
	return "ldap-argon2"
}

func parseArgon2(s, prefix string, lim *limits) (*parsed, error) {
	name := argon2Scheme(prefix)
	fields := strings.Split(s, "$")
	if len(fields) < 2 || fields[0] != "" {
		return nil, malformed(name, "a bad argon2 string")
	}
	fields = fields[1:]
	variant := fields[0]
	switch variant {
	case "argon2id", "argon2i":
	case "argon2d":
		return unsupported(name, "argon2d", "argon2d is meant for proofs of work, not passwords; not supported")
	default:
		return nil, malformed(name, "an unknown argon2 variant")
	}
	if len(fields) == 4 {
		return unsupported(name, variant+" v=16", "argon2 version 1.0 (0x10, no v= field) is not supported; only v=19")
	}
	if len(fields) != 5 {
		return nil, malformed(name, "the wrong number of argon2 fields")
	}
	if fields[1] != fmt.Sprintf("v=%d", argon2.Version) {
		return unsupported(name, variant+" "+safeName(strings.TrimPrefix(fields[1], "v=")), "only argon2 version 19 (0x13) is supported")
	}
	m, t, p, ok := argon2Params(fields[2])
	if !ok || t < 1 || p < 1 || uint64(m) < 8*uint64(p) {
		return nil, malformed(name, "bad argon2 parameters")
	}
	switch {
	case p > lim.argon2Threads:
		return nil, tooExpensive(name, fmt.Sprintf("argon2 p=%d > %d", p, lim.argon2Threads))
	case m > lim.argon2Memory:
		return nil, tooExpensive(name, fmt.Sprintf("argon2 m=%d KiB > %d", m, lim.argon2Memory))
	case t > lim.argon2Time:
		return nil, tooExpensive(name, fmt.Sprintf("argon2 t=%d > %d", t, lim.argon2Time))
	case uint64(m)*uint64(t) > lim.argon2Work:
		return nil, tooExpensive(name, fmt.Sprintf("argon2 m×t=%d > %d", uint64(m)*uint64(t), lim.argon2Work))
	}
	salt, err := base64.RawStdEncoding.DecodeString(fields[3])
	if err != nil || len(salt) < 8 {
		// The reference implementation refuses salts under 8 bytes.
		return nil, malformed(name, "a bad argon2 salt")
	}
	want, err := base64.RawStdEncoding.DecodeString(fields[4])
	if err != nil || len(want) < 4 {
		return nil, malformed(name, "a bad argon2 hash")
	}
	f := argon2Format{prefix: prefix, variant: variant, memory: m, time: t, threads: uint8(p), salt: shapeOf(salt), keyLen: len(want)}
	return &parsed{info: f.describe(), writer: f, check: func(pw []byte) (bool, error) {
		return equal(f.key(pw, salt), want), nil
	}}, nil
}

// argon2Params parses exactly "m=M,t=T,p=P", the order every implementation writes.
func argon2Params(s string) (m, t, p uint32, ok bool) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	var vals [3]uint32
	for i, key := range []string{"m=", "t=", "p="} {
		v, found := strings.CutPrefix(parts[i], key)
		n, isNum := atoi(v)
		if !found || !isNum || n > 1<<32-1 {
			return 0, 0, 0, false
		}
		vals[i] = uint32(n)
	}
	return vals[0], vals[1], vals[2], true
}

func scryptKey(password, salt []byte, n, r, p, keyLen int) ([]byte, error) {
	return scrypt.Key(password, salt, n, r, p, keyLen)
}

// checkScrypt validates scrypt's N, r and p and bounds their memory and work.
func checkScrypt(name string, n, r, p int, lim *limits) error {
	if n < 2 || n&(n-1) != 0 || r < 1 || p < 1 {
		return malformed(name, "bad scrypt parameters")
	}
	// Bound each factor first so that the products below cannot overflow.
	if n > 1<<30 || r > 1<<20 || p > 1<<20 {
		return tooExpensive(name, "scrypt parameters")
	}
	if mem := 128 * n * r; mem > lim.scryptMemory {
		return tooExpensive(name, fmt.Sprintf("scrypt memory %d bytes > %d", mem, lim.scryptMemory))
	}
	if work := n * r * p; work > lim.scryptWork {
		return tooExpensive(name, fmt.Sprintf("scrypt work N×r×p=%d > %d", work, lim.scryptWork))
	}
	return nil
}
