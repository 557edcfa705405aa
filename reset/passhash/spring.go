package passhash

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Spring Security's DelegatingPasswordEncoder stores "{id}" followed by the encoding of the
// PasswordEncoder registered under that id. The ids and their encoders are those of
// PasswordEncoderFactories.createDelegatingPasswordEncoder (Spring Security 5.8 to 7):
// the bare ids keep their pre-5.8 defaults, the "@SpringSecurity_v5_8" ids the new ones.
// Ids are case-sensitive in Spring.
const (
	springArgon2    = "{argon2}"                     // Argon2PasswordEncoder v5_2: m=4096 t=3 p=1
	springArgon2v58 = "{argon2@SpringSecurity_v5_8}" // m=16384 t=2 p=1
	springScrypt    = "{scrypt}"                     // SCryptPasswordEncoder v4_1: N=16384 r=8 p=1, 64-byte salt
	springScryptv58 = "{scrypt@SpringSecurity_v5_8}" // N=65536 r=8 p=1, 16-byte salt
	springPBKDF2    = "{pbkdf2}"                     // Pbkdf2PasswordEncoder v5_5: HMAC-SHA1, 185000, 8-byte salt
	springPBKDF2v58 = "{pbkdf2@SpringSecurity_v5_8}" // HMAC-SHA256, 310000, 16-byte salt
)

// springPBKDF2Defaults are the parameters each id's Pbkdf2PasswordEncoder uses. The hash
// carries none of them, so they are what Spring will use to check it.
var springPBKDF2Defaults = map[string]springPBKDF2Format{
	springPBKDF2:    {label: springPBKDF2, digest: "sha1", iter: 185_000, saltLen: 8},
	springPBKDF2v58: {label: springPBKDF2v58, digest: "sha256", iter: 310_000, saltLen: 16},
}

// parseSpring recognises a DelegatingPasswordEncoder id; ok is false for anything else
// starting with "{", which is then read as an LDAP scheme.
func parseSpring(s string, lim *limits) (p *parsed, err error, ok bool) {
	id, rest, _ := strings.Cut(s, "}")
	id += "}"
	switch id {
	case springBcrypt:
		p, err = parseBcrypt(rest, springBcrypt, false, lim)
	case springArgon2, springArgon2v58:
		p, err = parseArgon2(rest, id, lim)
	case springScrypt, springScryptv58:
		p, err = parseSpringScrypt(id, rest, lim)
	case springPBKDF2, springPBKDF2v58:
		p, err = parseSpringPBKDF2(id, rest, lim)
	case "{sha256}":
		p, err = parseSpringSHA256(rest)
	case "{noop}":
		p = &parsed{
			info:  Info{Scheme: "spring", Variant: "{noop}", Weak: true, Note: "plain text (NoOpPasswordEncoder); resetgate never writes it"},
			check: func(pw []byte) (bool, error) { return equal(pw, []byte(rest)), nil },
		}
	default:
		return nil, nil, false
	}
	return p, err, true
}

// springPBKDF2Format is Pbkdf2PasswordEncoder's hex (or, with setEncodeHashAsBase64, base64)
// of salt followed by a 256-bit PBKDF2 key, with no secret.
type springPBKDF2Format struct {
	label   string
	digest  string
	iter    int
	saltLen int
	base64  bool
}

const springPBKDF2KeyLen = 32 // hashWidth 256 bits in both defaults

func (f springPBKDF2Format) describe() Info {
	enc := "hex"
	if f.base64 {
		enc = "base64"
	}
	return Info{
		Scheme:   "spring",
		Variant:  f.label + " " + enc,
		Params:   fmt.Sprintf("PBKDF2-HMAC-%s iterations=%d salt=%d bytes", strings.ToUpper(f.digest), f.iter, f.saltLen),
		Writable: true,
		Note: joinNotes("the hash does not carry its parameters: resetgate assumes Spring's defaults for "+f.label+
			" and no secret, so an app with a customised Pbkdf2PasswordEncoder cannot verify what it writes (doctor -test-user cannot tell either)",
			pbkdf2Note(f.digest, f.iter)),
	}
}

func (f springPBKDF2Format) maxPassword() int { return MaxPasswordBytes }

func (f springPBKDF2Format) hash(password []byte) (string, error) {
	salt := randomBytes(f.saltLen)
	key, err := pbkdf2KeyLen(f.digest, password, salt, f.iter, springPBKDF2KeyLen)
	if err != nil {
		return "", fmt.Errorf("spring pbkdf2: %w", err)
	}
	raw := append(salt, key...)
	if f.base64 {
		return f.label + base64.StdEncoding.EncodeToString(raw), nil
	}
	return f.label + hex.EncodeToString(raw), nil
}

func parseSpringPBKDF2(label, data string, lim *limits) (*parsed, error) {
	f := springPBKDF2Defaults[label]
	if f.iter > lim.pbkdf2Iter {
		return nil, tooExpensive("spring", fmt.Sprintf("iterations %d > %d", f.iter, lim.pbkdf2Iter))
	}
	raw, ok := lowerHex(data)
	if !ok {
		var err error
		if raw, err = base64.StdEncoding.Strict().DecodeString(data); err != nil {
			return nil, malformed("spring", "a PBKDF2 hash that is neither hex nor base64")
		}
		f.base64 = true
	}
	if len(raw) != f.saltLen+springPBKDF2KeyLen {
		return unsupported("spring", label+" "+strconv.Itoa(len(raw))+" bytes",
			"not the length Spring's default Pbkdf2PasswordEncoder for "+label+" writes: a customised encoder, whose parameters the hash does not carry")
	}
	salt, want := raw[:f.saltLen], raw[f.saltLen:]
	return &parsed{info: f.describe(), writer: f, check: func(pw []byte) (bool, error) {
		key, err := pbkdf2KeyLen(f.digest, pw, salt, f.iter, springPBKDF2KeyLen)
		if err != nil {
			return false, err
		}
		return equal(key, want), nil
	}}, nil
}

// springScryptFormat is SCryptPasswordEncoder's "$PARAMS$SALT$KEY": PARAMS is the hex of
// log2(N)<<16 | r<<8 | p, SALT and KEY standard padded base64, the key 32 bytes.
type springScryptFormat struct {
	label   string
	n, r, p int
	saltLen int
}

const springScryptKeyLen = 32

func (f springScryptFormat) describe() Info {
	return Info{
		Scheme:   "spring",
		Variant:  f.label,
		Params:   fmt.Sprintf("n=%d r=%d p=%d salt=%d bytes", f.n, f.r, f.p, f.saltLen),
		Writable: true,
		Note:     "Spring Security's SCryptPasswordEncoder (needs BouncyCastle on the app's classpath)",
	}
}

func (f springScryptFormat) maxPassword() int { return MaxPasswordBytes }

func (f springScryptFormat) hash(password []byte) (string, error) {
	salt := randomBytes(f.saltLen)
	key, err := scryptKey(password, salt, f.n, f.r, f.p, springScryptKeyLen)
	if err != nil {
		return "", fmt.Errorf("spring scrypt: %w", err)
	}
	log2 := 0
	for 1<<log2 < f.n {
		log2++
	}
	params := strconv.FormatInt(int64(log2<<16|f.r<<8|f.p), 16)
	return f.label + "$" + params + "$" + base64.StdEncoding.EncodeToString(salt) + "$" + base64.StdEncoding.EncodeToString(key), nil
}

func parseSpringScrypt(label, data string, lim *limits) (*parsed, error) {
	parts := strings.Split(data, "$")
	if len(parts) != 4 || parts[0] != "" || len(parts[1]) > 8 {
		return nil, malformed("spring", "a bad scrypt string")
	}
	params, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil {
		return nil, malformed("spring", "bad scrypt parameters")
	}
	log2, r, p := int(params>>16), int(params>>8&0xff), int(params&0xff)
	if log2 < 1 || log2 > 30 {
		return nil, malformed("spring", "a bad scrypt cost")
	}
	f := springScryptFormat{label: label, n: 1 << log2, r: r, p: p}
	if err := checkScrypt("spring", f.n, f.r, f.p, lim); err != nil {
		return nil, err
	}
	salt, err1 := base64.StdEncoding.Strict().DecodeString(parts[2])
	want, err2 := base64.StdEncoding.Strict().DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(salt) == 0 || len(want) != springScryptKeyLen {
		return nil, malformed("spring", "a bad scrypt salt or key")
	}
	f.saltLen = len(salt)
	next := f
	if next.saltLen < 4 {
		next.saltLen = 16
	}
	return &parsed{info: f.describe(), writer: next, check: func(pw []byte) (bool, error) {
		got, err := scryptKey(pw, salt, f.n, f.r, f.p, springScryptKeyLen)
		if err != nil {
			return false, err
		}
		return equal(got, want), nil
	}}, nil
}

// parseSpringSHA256 is the deprecated StandardPasswordEncoder: hex of an 8-byte salt and
// SHA-256 applied 1024 times to salt+secret+password. It is verified assuming no secret.
func parseSpringSHA256(data string) (*parsed, error) {
	raw, ok := lowerHex(data)
	if !ok || len(raw) != 8+sha256.Size {
		return nil, malformed("spring", "a bad {sha256} hash")
	}
	salt, want := raw[:8], raw[8:]
	return &parsed{
		info: Info{Scheme: "spring", Variant: "{sha256}", Weak: true,
			Note: "StandardPasswordEncoder: 1024 fast SHA-256 rounds, deprecated by Spring; resetgate never writes it (verified assuming no secret)"},
		check: func(pw []byte) (bool, error) {
			sum := sha256.Sum256(append(append([]byte(nil), salt...), pw...))
			for i := 1; i < 1024; i++ {
				sum = sha256.Sum256(sum[:])
			}
			return equal(sum[:], want), nil
		},
	}, nil
}
