// Package passhash writes and verifies passwords in the legacy app's own hash format, so that
// the unmodified app keeps verifying the passwords resetgate sets.
//
// It implements [reset.Hasher] and [reset.Hashers] on golang.org/x/crypto and the standard
// library. Every supported format can be verified; the safe ones can also be written, either
// with resetgate's defaults ([New]) or exactly like an existing hash ([Identify]), which is
// what [Policy] does in "auto" mode. Weak formats (plain text, unsalted or fast MD5/SHA-1,
// $apr1$ and MD5-crypt, DES crypt) are recognised and, where possible, verified, but never
// written.
//
// Passwords are hashed byte for byte as given: no Unicode normalisation, because the legacy
// app hashes exactly the bytes its login form receives (SECURITY.md RQ-PWD-04). Salts come
// from crypto/rand in each framework's own length and alphabet. Every parser bounds the cost
// parameters it accepts, so a hostile or corrupt stored hash cannot make resetgate spend
// minutes or gigabytes on one password ([ErrTooExpensive]).
package passhash

import (
	"errors"
	"fmt"
	"strings"

	"resetgate/reset"
)

// Sentinel errors. Messages never contain the stored hash or the password, so they are safe to
// log.
var (
	// ErrUnknownFormat: the string is not a hash this package recognises, or it names a
	// format it recognises but cannot verify (gost-yescrypt, argon2d, …), or a field is malformed.
	ErrUnknownFormat = errors.New("unrecognised password hash format")
	// ErrWeakFormat: the hash is plain text or a fast, unsalted or broken format (MD5,
	// unsalted SHA-1, $apr1$, DES crypt, …) that resetgate never writes.
	ErrWeakFormat = errors.New("weak password hash format")
	// ErrTooExpensive: the hash's cost parameters exceed resetgate's limits, which are far
	// above any framework's default, so it is refused rather than computed: PBKDF2 and
	// sha-crypt 10,000,000 iterations, phpass 2^24, bcrypt cost 16, argon2 1 GiB, 64 passes, 64 lanes
	// and 4 GiB×passes, scrypt 1 GiB and N·r·p 2^24.
	ErrTooExpensive = errors.New("password hash parameters exceed resetgate's safety limits")
	// ErrPasswordTooLong: the password is longer than the format hashes without truncating
	// (72 bytes for bcrypt) or than [MaxPasswordBytes].
	ErrPasswordTooLong = errors.New("password too long for this hash format")
)

// MaxPasswordBytes is the longest password, in bytes, that any hasher here accepts. Some
// formats (sha-crypt) cost time proportional to the password's length on every round, so a
// bound is needed; 1024 bytes is twice DESIGN.md's 128-character maximum at 4 bytes of UTF-8
// per character.
const MaxPasswordBytes = 1024

// limits bound the cost parameters a stored hash may demand. Each is far above any
// framework's default (hundreds of thousands of PBKDF2 iterations, bcrypt cost 10–14, argon2
// 19–100 MiB), so a legitimate app never meets them, while a corrupt or planted hash cannot
// turn one reset into minutes of CPU or gigabytes of memory: it gets ErrTooExpensive.
// (RFC 9106's first argon2 option, 2 GiB, is over the memory limit on purpose.)
type limits struct {
	pbkdf2Iter     int    // PBKDF2 iterations (werkzeug, Django, passlib)
	bcryptCost     int    // bcrypt log2 rounds
	argon2Memory   uint32 // KiB
	argon2Time     uint32 // passes
	argon2Threads  uint32 // lanes
	argon2Work     uint64 // memory × passes, in KiB
	scryptMemory   int    // bytes: 128 × N × r
	scryptWork     int    // N × r × p
	shaCryptRounds int    // sha256-crypt / sha512-crypt rounds
	phpassLog2     int    // log2 of phpass / Drupal 7 iterations
}

var defaultLimits = limits{
	pbkdf2Iter:     10_000_000,
	bcryptCost:     16,
	argon2Memory:   1 << 20, // 1 GiB
	argon2Time:     64,
	argon2Threads:  64,
	argon2Work:     4 << 20, // e.g. 1 GiB × 4 passes
	scryptMemory:   1 << 30,
	scryptWork:     1 << 24,
	shaCryptRounds: 10_000_000,
	phpassLog2:     24, // 16 million MD5 or SHA-512 rounds
}

// maxEncoded bounds the stored hash itself; the longest real formats are ~130 characters.
const maxEncoded = 1024

// Hasher writes one scheme with fixed parameters and verifies any hash of its scheme.
// The hashers this package returns are safe for concurrent use and implement fmt.Stringer
// (scheme, variant and parameters, never a secret).
type Hasher interface {
	reset.Hasher
	// Verify reports whether password matches encoded, which must be a hash of this
	// hasher's scheme (any variant or parameters); other schemes give ErrUnknownFormat.
	Verify(password, encoded string) (bool, error)
}

// Info describes a stored hash, for the doctor command and for logs. It never contains the
// salt or the digest.
type Info struct {
	// Scheme is the family: for writable formats the name [New] accepts (werkzeug, django,
	// bcrypt, argon2id, passlib, sha512-crypt, sha256-crypt, ldap-ssha, wordpress, phpass,
	// drupal7, spring, aspnet-identity, yescrypt) or ldap-argon2 (OpenLDAP's {ARGON2}, which [New]
	// does not write); otherwise a descriptive name (plain, md5, sha1, apr1, md5-crypt,
	// gost-yescrypt, …).
	Scheme string
	// Variant is the exact format within the family, e.g. "pbkdf2:sha256", "$2y$",
	// "argon2id", "bcrypt_sha256 $2b$".
	Variant string
	// Params are the cost parameters and the salt's shape, e.g.
	// "iterations=260000 salt=16 chars".
	Params string
	// Writable reports that resetgate writes new hashes in exactly this format ([Identify]
	// succeeds).
	Writable bool
	// Weak reports a format resetgate never writes: plain text, or a fast, unsalted or
	// broken hash.
	Weak bool
	// Note is what an operator should know: the framework setting the format needs (e.g.
	// Django's PASSWORD_HASHERS entry), a cost below current advice, a truncation limit.
	Note string
}

// parsed is one stored hash taken apart.
type parsed struct {
	info Info
	// writer writes new hashes like this one (with a fresh salt); nil unless writable.
	writer format
	// check recomputes the hash of a password with the stored salt and parameters and
	// compares it in constant time; nil when the format cannot be verified.
	check func(password []byte) (bool, error)
}

// format is one writable format with fixed parameters.
type format interface {
	describe() Info
	// hash writes a new hash of password with a fresh salt.
	hash(password []byte) (string, error)
	// maxPassword is the longest password hashed without truncation.
	maxPassword() int
}

// hasher adapts a format to [Hasher], adding the length check and the CPU bound.
type hasher struct {
	f    format
	info Info
}

func newHasher(f format) *hasher { return &hasher{f: f, info: f.describe()} }

func (h *hasher) Scheme() string        { return h.info.Scheme }
func (h *hasher) MaxPasswordBytes() int { return h.f.maxPassword() }
func (h *hasher) String() string {
	return strings.TrimSpace(h.info.Scheme + " " + h.info.Variant + " " + h.info.Params)
}

// Hash returns a new hash of password. It refuses (ErrPasswordTooLong) rather than truncates a
// password longer than MaxPasswordBytes(). It does not bound how many hashes run at once: the
// caller does (reset.Service's hash slots, which also honour the request's context), so that
// one semaphore, not two, decides (DESIGN.md, "Password hashing is bounded").
func (h *hasher) Hash(password string) (string, error) {
	if n, max := len(password), h.f.maxPassword(); n > max {
		return "", fmt.Errorf("%w: %d bytes, %s hashes at most %d", ErrPasswordTooLong, n, h.info.Scheme, max)
	}
	return h.f.hash([]byte(password))
}

func (h *hasher) Verify(password, encoded string) (bool, error) {
	p, err := parse(encoded, &defaultLimits)
	if err != nil {
		return false, err
	}
	if p.info.Scheme != h.info.Scheme {
		return false, fmt.Errorf("%w: a %s hash given to the %s hasher", ErrUnknownFormat, p.info.Scheme, h.info.Scheme)
	}
	return p.verify(password)
}

func (p *parsed) verify(password string) (bool, error) {
	if p.check == nil {
		return false, fmt.Errorf("%w: %s hashes cannot be verified by resetgate", ErrUnknownFormat, p.info.Scheme)
	}
	if len(password) > MaxPasswordBytes {
		return false, fmt.Errorf("%w: %d bytes, at most %d are checked", ErrPasswordTooLong, len(password), MaxPasswordBytes)
	}
	return p.check([]byte(password))
}

// names are the schemes [New] accepts, in the order [Names] lists them.
var names = []string{"werkzeug", "django", "bcrypt", "argon2id", "passlib", "sha512-crypt", "sha256-crypt", "ldap-ssha",
	"wordpress", "phpass", "drupal7", "spring", "aspnet-identity", "yescrypt"}

// Names returns the scheme names [New] accepts, for configuration messages.
func Names() []string { return append([]string(nil), names...) }

// New returns the hasher for a configured scheme name with resetgate's defaults, each
// current advice for its format (OWASP Password Storage Cheat Sheet) in a form that the
// framework's oldest still-supported releases verify:
//
//   - werkzeug: pbkdf2:sha256:600000, 16-character alphanumeric salt (werkzeug 3.0's
//     default). Never scrypt: werkzeug before 2.3, still in Debian 12, cannot verify it.
//   - django: pbkdf2_sha256$1000000, 22-character alphanumeric salt (Django 5.2 LTS's
//     default; older Django verifies any count).
//   - bcrypt: $2b$ cost 12. $2b$ is the current OpenBSD prefix, verified by PHP's
//     password_verify, Python bcrypt, Ruby, Node and Spring; PHP itself writes $2y$, which
//     [Identify] keeps for apps that have it. Passwords over 72 bytes are refused.
//   - argon2id: $argon2id$v=19$m=19456,t=2,p=1 with a 16-byte salt and a 32-byte hash
//     (OWASP's first argon2id option).
//   - passlib: $pbkdf2-sha256$600000 with a 16-byte salt (OWASP's PBKDF2-HMAC-SHA256 count;
//     passlib's own default of 29000 is long outdated).
//   - sha512-crypt: $6$rounds=656000 with a 16-character salt (passlib's default).
//   - sha256-crypt: $5$rounds=535000 with a 16-character salt (passlib's default).
//   - ldap-ssha: {SSHA} with an 8-byte salt. {SSHA} is the one salted LDAP scheme every
//     verifier has (OpenLDAP needs a module for {SSHA512}); it is a single fast SHA-1, so
//     prefer a slow scheme when the app can verify one.
//   - wordpress: $wp$2y$ cost 12 (WordPress 6.8's format; PHP 8.4's bcrypt cost). Only
//     WordPress 6.8 and later verify it.
//   - phpass: $P$ with 2^16 iterations (the phpass portable hash of WordPress before 6.8,
//     phpBB 3 and the PasswordHash class, which accept 2^7 to 2^30).
//   - drupal7: $S$ with 2^16 iterations (Drupal 7 writes 2^15 and verifies any count).
//   - spring: {bcrypt}$2a$ cost 12, Spring Security's default DelegatingPasswordEncoder id.
//   - aspnet-identity: v3 with PBKDF2-HMAC-SHA512, 210,000 iterations (OWASP's count for
//     SHA-512), a 16-byte salt and a 32-byte key; every ASP.NET Core Identity release reads
//     the PRF and count from the header.
//   - yescrypt: $y$j9T$ (N=4096, r=32, p=1: 16 MiB) with a 16-byte salt, libxcrypt's
//     default (mkpasswd -m yescrypt, /etc/shadow on Debian 11+ and Ubuntu 22.04+).
//
// An unknown name gives an error listing [Names].
func New(name string) (Hasher, error) {
	var f format
	switch name {
	case "werkzeug":
		f = werkzeugPBKDF2{digest: "sha256", iter: 600_000, saltLen: 16}
	case "django":
		f = djangoPBKDF2{digest: "sha256", iter: 1_000_000, saltLen: 22}
	case "bcrypt":
		f = bcryptFormat{minor: 'b', cost: 12}
	case "argon2id":
		f = argon2Format{variant: "argon2id", memory: 19456, time: 2, threads: 1, salt: saltShape{n: 16}, keyLen: 32}
	case "passlib":
		f = passlibPBKDF2{digest: "sha256", rounds: 600_000, saltLen: 16}
	case "sha512-crypt":
		f = shaCryptFormat{is512: true, rounds: 656_000, explicit: true, saltLen: 16}
	case "sha256-crypt":
		f = shaCryptFormat{rounds: 535_000, explicit: true, saltLen: 16}
	case "ldap-ssha":
		f = ldapSalted{label: "{SSHA}", digest: "sha1", saltLen: 8}
	case "wordpress":
		f = bcryptFormat{prefix: wpPrefix, minor: 'y', cost: 12}
	case "phpass":
		f = phpassFormat{id: 'P', log2: floorPhpassLog2, saltLen: 8}
	case "drupal7":
		f = phpassFormat{id: 'S', log2: floorPhpassLog2, saltLen: 8}
	case "spring":
		f = bcryptFormat{prefix: springBcrypt, minor: 'a', cost: 12}
	case "aspnet-identity":
		f = aspnetFormat{v3: true, prf: 2, iter: 210_000, saltLen: 16, keyLen: 32}
	case "yescrypt":
		f = yescryptFormat{params: "j9T", nLog2: 12, r: 32, p: 1, saltLen: yescryptSaltDefault}
	default:
		return nil, fmt.Errorf("unknown hash scheme %q (want one of %s)", name, strings.Join(names, ", "))
	}
	return newHasher(f), nil
}

// Identify recognises the scheme and parameters of encoded (iterations, cost, memory, salt
// length and alphabet, $2y$ vs $2b$ vs $2a$, digest variants, Django's and LDAP's prefixes)
// and returns a hasher that writes new hashes exactly like it, with a fresh salt. The one
// deliberate difference: a salt shorter than 32 bits is replaced by the framework's default
// length.
//
// It returns an error wrapping ErrWeakFormat for formats resetgate never writes,
// ErrTooExpensive for parameters beyond its limits, and ErrUnknownFormat otherwise.
func Identify(encoded string) (Hasher, error) {
	p, err := parse(encoded, &defaultLimits)
	if err != nil {
		return nil, err
	}
	if p.info.Weak {
		return nil, fmt.Errorf("%w: %s (%s)", ErrWeakFormat, p.info.Scheme, p.info.Variant)
	}
	if p.writer == nil {
		return nil, fmt.Errorf("%w: %s cannot be written", ErrUnknownFormat, p.info.Scheme)
	}
	return newHasher(p.writer), nil
}

// Verify reports whether password matches encoded, in any format this package can verify,
// weak ones included (they are what legacy apps hold; [Identify] and [Describe] judge the
// format). The digest comparison is constant-time. A format it cannot verify gives
// ErrUnknownFormat; cost parameters beyond its limits give ErrTooExpensive.
func Verify(password, encoded string) (bool, error) {
	p, err := parse(encoded, &defaultLimits)
	if err != nil {
		return false, err
	}
	return p.verify(password)
}

// Describe says what encoded is, for the doctor command. The Info is filled as far as the
// format was recognised even when the error is not nil (e.g. Scheme "gost-yescrypt" with
// ErrUnknownFormat). The error is nil for every recognised format, weak ones included;
// [Verify] checks all of those except DES crypt.
func Describe(encoded string) (Info, error) {
	p, err := parse(encoded, &defaultLimits)
	if p != nil {
		return p.info, err
	}
	var fe *formatError
	if errors.As(err, &fe) {
		return Info{Scheme: fe.scheme}, err
	}
	return Info{}, err
}
