package passhash

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// digests are the hash functions PBKDF2-based formats may name.
var digests = map[string]func() hash.Hash{
	"sha1":   sha1.New,
	"sha224": sha256.New224,
	"sha256": sha256.New,
	"sha384": sha512.New384,
	"sha512": sha512.New,
}

func digestSize(name string) int { return digests[name]().Size() }

func pbkdf2Key(digest string, password, salt []byte, iter int) ([]byte, error) {
	return pbkdf2KeyLen(digest, password, salt, iter, digestSize(digest))
}

// pbkdf2KeyLen derives a key of n bytes, for formats whose key is not digest-sized.
func pbkdf2KeyLen(digest string, password, salt []byte, iter, n int) ([]byte, error) {
	return pbkdf2.Key(digests[digest], string(password), salt, iter, n)
}

// owaspPBKDF2 are the OWASP Password Storage Cheat Sheet's iteration counts.
var owaspPBKDF2 = map[string]int{"sha1": 1_300_000, "sha256": 600_000, "sha512": 210_000}

func pbkdf2Note(digest string, iter int) string {
	if min, ok := owaspPBKDF2[digest]; ok && iter < min {
		return fmt.Sprintf("%d iterations is below OWASP's %d for PBKDF2-HMAC-%s", iter, min, strings.ToUpper(digest))
	}
	return ""
}

func joinNotes(notes ...string) string {
	var kept []string
	for _, n := range notes {
		if n != "" {
			kept = append(kept, n)
		}
	}
	return strings.Join(kept, "; ")
}

// werkzeugPBKDF2 is werkzeug's "pbkdf2:DIGEST:ITERATIONS$SALT$HEX": PBKDF2-HMAC over the
// UTF-8 bytes of a text salt, digest-sized key, lower-case hex.
type werkzeugPBKDF2 struct {
	digest  string
	iter    int
	saltLen int
}

func (f werkzeugPBKDF2) describe() Info {
	return Info{
		Scheme:   "werkzeug",
		Variant:  "pbkdf2:" + f.digest,
		Params:   fmt.Sprintf("iterations=%d salt=%d chars", f.iter, f.saltLen),
		Writable: true,
		Note:     pbkdf2Note(f.digest, f.iter),
	}
}

func (f werkzeugPBKDF2) maxPassword() int { return MaxPasswordBytes }

func (f werkzeugPBKDF2) hash(password []byte) (string, error) {
	// werkzeug's gen_salt draws from ASCII letters and digits.
	salt := randomText(f.saltLen, alnum)
	dk, err := pbkdf2Key(f.digest, password, salt, f.iter)
	if err != nil {
		return "", fmt.Errorf("werkzeug pbkdf2: %w", err)
	}
	return fmt.Sprintf("pbkdf2:%s:%d$%s$%s", f.digest, f.iter, salt, hex.EncodeToString(dk)), nil
}

// werkzeugScrypt is werkzeug ≥ 2.3's "scrypt:N:R:P$SALT$HEX" with a 64-byte key.
type werkzeugScrypt struct {
	n, r, p int
	saltLen int
}

const werkzeugScryptKeyLen = 64

func (f werkzeugScrypt) describe() Info {
	return Info{
		Scheme:   "werkzeug",
		Variant:  "scrypt",
		Params:   fmt.Sprintf("n=%d r=%d p=%d salt=%d chars", f.n, f.r, f.p, f.saltLen),
		Writable: true,
		Note:     "werkzeug 2.3 or later only (werkzeug 2.2, in Debian 12, cannot verify scrypt)",
	}
}

func (f werkzeugScrypt) maxPassword() int { return MaxPasswordBytes }

func (f werkzeugScrypt) hash(password []byte) (string, error) {
	salt := randomText(f.saltLen, alnum)
	dk, err := scryptKey(password, salt, f.n, f.r, f.p, werkzeugScryptKeyLen)
	if err != nil {
		return "", fmt.Errorf("werkzeug scrypt: %w", err)
	}
	return fmt.Sprintf("scrypt:%d:%d:%d$%s$%s", f.n, f.r, f.p, salt, hex.EncodeToString(dk)), nil
}

// parseWerkzeug parses "METHOD$SALT$HEX" for the pbkdf2 and scrypt methods. werkzeug splits
// on the first two '$', so the salt cannot contain one.
func parseWerkzeug(s string, lim *limits) (*parsed, error) {
	method, rest, _ := strings.Cut(s, "$")
	salt, digestHex, ok := strings.Cut(rest, "$")
	if !ok {
		return nil, malformed("werkzeug", "no salt and digest")
	}
	if salt == "" {
		// werkzeug refuses an empty salt for both methods.
		return nil, malformed("werkzeug", "an empty salt")
	}
	args := strings.Split(method, ":")
	switch args[0] {
	case "pbkdf2":
		if len(args) == 2 {
			return unsupported("werkzeug", "pbkdf2:"+safeName(args[1]), "no iteration count: werkzeug fills in its own version's default, which resetgate cannot know")
		}
		if len(args) != 3 {
			return nil, malformed("werkzeug", "a bad pbkdf2 method")
		}
		digest := args[1]
		if digests[digest] == nil {
			return unsupported("werkzeug", "pbkdf2:"+safeName(digest), "digest not supported")
		}
		iter, ok := atoi(args[2])
		if !ok || iter < 1 {
			return nil, malformed("werkzeug", "a bad iteration count")
		}
		if iter > lim.pbkdf2Iter {
			return nil, tooExpensive("werkzeug", fmt.Sprintf("iterations %d > %d", iter, lim.pbkdf2Iter))
		}
		want, ok := lowerHex(digestHex)
		if !ok || len(want) != digestSize(digest) {
			return nil, malformed("werkzeug", "a bad digest")
		}
		seen := werkzeugPBKDF2{digest: digest, iter: iter, saltLen: len(salt)}
		next := seen
		next.saltLen = textSaltLen(len(salt), 16)
		return &parsed{info: seen.describe(), writer: next, check: pbkdf2Check(digest, []byte(salt), iter, want)}, nil
	case "scrypt":
		f := werkzeugScrypt{n: 1 << 15, r: 8, p: 1, saltLen: len(salt)} // werkzeug's defaults
		if len(args) != 1 && len(args) != 4 {
			return nil, malformed("werkzeug", "a bad scrypt method")
		}
		if len(args) == 4 {
			var ok1, ok2, ok3 bool
			f.n, ok1 = atoi(args[1])
			f.r, ok2 = atoi(args[2])
			f.p, ok3 = atoi(args[3])
			if !ok1 || !ok2 || !ok3 {
				return nil, malformed("werkzeug", "bad scrypt parameters")
			}
		}
		if err := checkScrypt("werkzeug", f.n, f.r, f.p, lim); err != nil {
			return nil, err
		}
		want, ok := lowerHex(digestHex)
		if !ok || len(want) != werkzeugScryptKeyLen {
			return nil, malformed("werkzeug", "a bad digest")
		}
		next := f
		next.saltLen = textSaltLen(len(salt), 16)
		return &parsed{info: f.describe(), writer: next, check: func(pw []byte) (bool, error) {
			got, err := scryptKey(pw, []byte(salt), f.n, f.r, f.p, werkzeugScryptKeyLen)
			if err != nil {
				return false, err
			}
			return equal(got, want), nil
		}}, nil
	}
	return nil, malformed("werkzeug", "an unknown method")
}

// safeName returns s if it is a short identifier, so that Info never carries arbitrary text
// from a stored hash.
func safeName(s string) string {
	if len(s) > 16 || !allIn(s, alnum+"_-") {
		return "?"
	}
	return s
}

// djangoPBKDF2 is Django's "pbkdf2_sha256$ITERATIONS$SALT$BASE64" (and pbkdf2_sha1).
type djangoPBKDF2 struct {
	digest  string // sha256 or sha1
	iter    int
	saltLen int
}

func (f djangoPBKDF2) name() string { return "pbkdf2_" + f.digest }

func (f djangoPBKDF2) describe() Info {
	entry := "PBKDF2PasswordHasher"
	if f.digest == "sha1" {
		entry = "PBKDF2SHA1PasswordHasher"
	}
	return Info{
		Scheme:   "django",
		Variant:  f.name(),
		Params:   fmt.Sprintf("iterations=%d salt=%d chars", f.iter, f.saltLen),
		Writable: true,
		Note:     joinNotes("needs django.contrib.auth.hashers."+entry+" in PASSWORD_HASHERS (in Django's default list)", pbkdf2Note(f.digest, f.iter)),
	}
}

func (f djangoPBKDF2) maxPassword() int { return MaxPasswordBytes }

func (f djangoPBKDF2) hash(password []byte) (string, error) {
	// Django's get_random_string draws from ASCII letters and digits.
	salt := randomText(f.saltLen, alnum)
	dk, err := pbkdf2Key(f.digest, password, salt, f.iter)
	if err != nil {
		return "", fmt.Errorf("django %s: %w", f.name(), err)
	}
	return fmt.Sprintf("%s$%d$%s$%s", f.name(), f.iter, salt, base64.StdEncoding.EncodeToString(dk)), nil
}

func parseDjangoPBKDF2(s string, lim *limits) (*parsed, error) {
	parts := strings.SplitN(s, "$", 4)
	if len(parts) != 4 {
		return nil, malformed("django", "too few fields")
	}
	digest := strings.TrimPrefix(parts[0], "pbkdf2_")
	iter, ok := atoi(parts[1])
	if !ok || iter < 1 {
		return nil, malformed("django", "a bad iteration count")
	}
	if iter > lim.pbkdf2Iter {
		return nil, tooExpensive("django", fmt.Sprintf("iterations %d > %d", iter, lim.pbkdf2Iter))
	}
	salt := parts[2]
	if salt == "" {
		return nil, malformed("django", "an empty salt")
	}
	// Django compares the whole encoded string, so only the canonical padded base64 of a
	// digest-sized key can ever verify there.
	want, err := base64.StdEncoding.Strict().DecodeString(parts[3])
	if err != nil || len(want) != digestSize(digest) {
		return nil, malformed("django", "a bad digest")
	}
	seen := djangoPBKDF2{digest: digest, iter: iter, saltLen: len(salt)}
	next := seen
	next.saltLen = textSaltLen(len(salt), 22)
	return &parsed{info: seen.describe(), writer: next, check: pbkdf2Check(digest, []byte(salt), iter, want)}, nil
}

// ab64 is passlib's "adapted base64": the standard alphabet with '.' for '+', no padding.
var ab64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./").WithPadding(base64.NoPadding)

// passlibPBKDF2 is passlib's "$pbkdf2-sha256$ROUNDS$SALT$CHECKSUM" (also $pbkdf2$ for SHA-1
// and $pbkdf2-sha512$): raw salt bytes and digest-sized checksum, both ab64.
type passlibPBKDF2 struct {
	digest  string
	rounds  int
	saltLen int // bytes
}

func (f passlibPBKDF2) ident() string {
	if f.digest == "sha1" {
		return "pbkdf2"
	}
	return "pbkdf2-" + f.digest
}

func (f passlibPBKDF2) describe() Info {
	return Info{
		Scheme:   "passlib",
		Variant:  "$" + f.ident() + "$",
		Params:   fmt.Sprintf("rounds=%d salt=%d bytes", f.rounds, f.saltLen),
		Writable: true,
		Note:     pbkdf2Note(f.digest, f.rounds),
	}
}

func (f passlibPBKDF2) maxPassword() int { return MaxPasswordBytes }

func (f passlibPBKDF2) hash(password []byte) (string, error) {
	salt := randomBytes(f.saltLen)
	dk, err := pbkdf2Key(f.digest, password, salt, f.rounds)
	if err != nil {
		return "", fmt.Errorf("passlib %s: %w", f.ident(), err)
	}
	return fmt.Sprintf("$%s$%d$%s$%s", f.ident(), f.rounds, ab64.EncodeToString(salt), ab64.EncodeToString(dk)), nil
}

func parsePasslib(s string, lim *limits) (*parsed, error) {
	parts := strings.Split(s[1:], "$")
	if len(parts) != 4 {
		return nil, malformed("passlib", "the wrong number of fields")
	}
	f := passlibPBKDF2{digest: "sha1"}
	if d, ok := strings.CutPrefix(parts[0], "pbkdf2-"); ok {
		f.digest = d
	}
	rounds, ok := atoi(parts[1])
	if !ok || rounds < 1 {
		return nil, malformed("passlib", "a bad rounds count")
	}
	if rounds > lim.pbkdf2Iter {
		return nil, tooExpensive("passlib", fmt.Sprintf("rounds %d > %d", rounds, lim.pbkdf2Iter))
	}
	f.rounds = rounds
	salt, err := ab64.DecodeString(parts[2])
	if err != nil {
		return nil, malformed("passlib", "a bad salt")
	}
	want, err := ab64.DecodeString(parts[3])
	if err != nil || len(want) != digestSize(f.digest) {
		return nil, malformed("passlib", "a bad checksum")
	}
	f.saltLen = len(salt)
	next := f
	if next.saltLen < 4 {
		next.saltLen = 16
	}
	return &parsed{info: f.describe(), writer: next, check: func(pw []byte) (bool, error) {
		got, err := pbkdf2Key(f.digest, pw, salt, f.rounds)
		if err != nil {
			return false, err
		}
		return equal(got, want), nil
	}}, nil
}

// pbkdf2Check returns the verifier of a parsed PBKDF2 hash: derive with the stored salt and
// iterations, compare in constant time.
func pbkdf2Check(digest string, salt []byte, iter int, want []byte) func(pw []byte) (bool, error) {
	return func(pw []byte) (bool, error) {
		got, err := pbkdf2Key(digest, pw, salt, iter)
		if err != nil {
			return false, err
		}
		return equal(got, want), nil
	}
}
