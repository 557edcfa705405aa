package passhash

import (
	"fmt"
	"strings"
)

// yescryptFormat is libxcrypt's yescrypt, "$y$PARAMS$SALT$HASH" (optionally behind LDAP's
// "{CRYPT}"): the default of /etc/shadow on Debian 11+ and Ubuntu 22.04+, of PAM and of
// crypt(3) there. PARAMS is the flavour ("j": YESCRYPT_RW with libxcrypt's defaults),
// log2 N and r, then optionally a bit set and p and t, each in yescrypt's variable-length
// base-64 integers; SALT is binary in yescrypt's little-endian crypt base 64 (libxcrypt
// writes 16 bytes, 22 characters) and HASH is 32 bytes, 43 characters.
type yescryptFormat struct {
	prefix  string // "" or "{CRYPT}" (any case)
	params  string // the PARAMS text, written unchanged unless the cost is raised
	nLog2   uint32
	r, p, t uint32
	saltLen int // bytes
}

const (
	yescryptSaltDefault = 16 // libxcrypt's
	yescryptSaltMax     = 64 // the decoder's buffer in libxcrypt
	yescryptHashChars   = 43
	yescryptFlavourJ    = 47 // encodes yescryptDefaults: RW + ((47 - RW) << 2) = 0xb6
)

func (f yescryptFormat) describe() Info {
	info := Info{
		Scheme:   "yescrypt",
		Variant:  f.prefix + "$y$",
		Params:   fmt.Sprintf("N=%d r=%d p=%d salt=%d bytes", uint64(1)<<f.nLog2, f.r, f.p, f.saltLen),
		Writable: true,
		Note:     "libxcrypt's yescrypt (crypt(3), PAM and /etc/shadow on Debian 11+ and Ubuntu 22.04+)",
	}
	if f.t != 0 {
		info.Params = fmt.Sprintf("N=%d r=%d p=%d t=%d salt=%d bytes", uint64(1)<<f.nLog2, f.r, f.p, f.t, f.saltLen)
	}
	if uint64(f.r)<<f.nLog2 < floorYescryptNr {
		info.Note = joinNotes(info.Note, fmt.Sprintf("%d KiB is below libxcrypt's default of 16 MiB (mkpasswd -R 5)", (uint64(f.r)<<f.nLog2)/8))
	}
	return info
}

func (f yescryptFormat) maxPassword() int { return MaxPasswordBytes }

func (f yescryptFormat) hash(password []byte) (string, error) {
	salt := randomBytes(f.saltLen)
	return f.prefix + f.encode(password, salt, crypt64LE(salt)), nil
}

// encode returns "$y$PARAMS$SALT$HASH" for password and the salt (bytes and their text).
func (f yescryptFormat) encode(password, salt []byte, saltText string) string {
	sum := yescryptKey(password, salt, uint64(1)<<f.nLog2, int(f.r), f.p, f.t)
	return "$y$" + f.params + "$" + saltText + "$" + crypt64LE(sum)
}

// harden raises N until N·r reaches libxcrypt's default memory (N=4096, r=32: 16 MiB).
func (f yescryptFormat) harden() format {
	if uint64(f.r)<<f.nLog2 >= floorYescryptNr {
		return f
	}
	for uint64(f.r)<<f.nLog2 < floorYescryptNr {
		f.nLog2++
	}
	f.params = encodeYescryptParams(f.nLog2, f.r, f.p, f.t)
	return f
}

// floorYescryptNr is N·r of libxcrypt's default cost (mkpasswd -R 5).
const floorYescryptNr = 4096 * 32

// parseYescrypt parses "$y$PARAMS$SALT$HASH".
func parseYescrypt(s, prefix string, lim *limits) (*parsed, error) {
	params, rest, ok1 := strings.Cut(s[len("$y$"):], "$")
	saltText, enc, ok2 := strings.Cut(rest, "$")
	if !ok1 || !ok2 || params == "" {
		return nil, malformed("yescrypt", "the wrong number of fields")
	}
	v, ok := decodeYescryptParams(params)
	if !ok {
		return nil, malformed("yescrypt", "bad parameters")
	}
	if v.flavour != yescryptFlavourJ || v.g != 0 || v.nromLog2 != 0 {
		return unsupported("yescrypt", prefix+"$y$", "a yescrypt flavour, upgrade count or ROM other than libxcrypt's (\"$y$j…\"); not supported")
	}
	if err := checkYescrypt(v.nLog2, v.r, v.p, v.t, lim); err != nil {
		return nil, err
	}
	salt, ok := decodeCrypt64LE(saltText)
	if !ok || len(salt) > yescryptSaltMax || len(enc) != yescryptHashChars {
		return nil, malformed("yescrypt", "a bad salt or hash")
	}
	if want, ok := decodeCrypt64LE(enc); !ok || len(want) != 32 {
		return nil, malformed("yescrypt", "a bad hash")
	}
	f := yescryptFormat{prefix: prefix, params: params, nLog2: v.nLog2, r: v.r, p: v.p, t: v.t, saltLen: len(salt)}
	next := f
	if len(salt) < 4 {
		next.saltLen = yescryptSaltDefault
	}
	return &parsed{info: f.describe(), writer: next, check: func(pw []byte) (bool, error) {
		got := f.encode(pw, salt, saltText)
		return equal([]byte(got[len(got)-yescryptHashChars:]), []byte(enc)), nil
	}}, nil
}

// checkYescrypt refuses parameters libxcrypt refuses and bounds memory and work like scrypt's.
func checkYescrypt(nLog2, r, p, t uint32, lim *limits) error {
	if nLog2 < 1 || nLog2 > 30 || r < 1 || r > 1<<20 || p < 1 || p > 1<<20 || t > 1<<10 {
		return malformed("yescrypt", "out-of-range parameters")
	}
	n := uint64(1) << nLog2
	if n/uint64(p) <= 1 {
		return malformed("yescrypt", "N/p below 2")
	}
	if mem := 128 * n * uint64(r); mem > uint64(lim.scryptMemory) {
		return tooExpensive("yescrypt", fmt.Sprintf("memory %d bytes > %d", mem, lim.scryptMemory))
	}
	if work := n * uint64(r) * uint64(p) * uint64(max(t, 1)); work > uint64(lim.scryptWork) {
		return tooExpensive("yescrypt", fmt.Sprintf("work N×r×p×t=%d > %d", work, lim.scryptWork))
	}
	return nil
}
