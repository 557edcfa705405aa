package passhash

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"strings"
)

// SHA-crypt, implemented from Ulrich Drepper's specification "Unix crypt using SHA-256 and
// SHA-512" (https://www.akkadia.org/drepper/SHA-crypt.txt), which glibc, libxcrypt,
// passlib and Apache's htpasswd follow.
const (
	shaCryptRoundsDefault = 5000
	shaCryptRoundsMin     = 1000
	shaCryptRoundsMax     = 999_999_999
	shaCryptSaltMax       = 16
)

// shaCryptFormat is "$5$[rounds=N$]SALT$HASH" (SHA-256) or "$6$…" (SHA-512), optionally
// behind LDAP's "{CRYPT}".
type shaCryptFormat struct {
	prefix   string // "" or "{CRYPT}" (any case)
	is512    bool
	rounds   int
	explicit bool // the string carries "rounds=" (always, when rounds != 5000)
	saltLen  int
}

func (f shaCryptFormat) id() string {
	if f.is512 {
		return "6"
	}
	return "5"
}

func (f shaCryptFormat) describe() Info {
	info := Info{Scheme: "sha256-crypt", Variant: f.prefix + "$5$", Writable: true}
	if f.is512 {
		info.Scheme, info.Variant = "sha512-crypt", f.prefix+"$6$"
	}
	info.Params = fmt.Sprintf("rounds=%d salt=%d chars", f.rounds, f.saltLen)
	if !f.explicit {
		info.Params = fmt.Sprintf("rounds=%d (implicit) salt=%d chars", f.rounds, f.saltLen)
	}
	if f.rounds < 100_000 {
		info.Note = fmt.Sprintf("%d rounds is low (passlib writes 535000 for $5$ and 656000 for $6$); set an explicit hash scheme to write more", f.rounds)
	}
	return info
}

func (f shaCryptFormat) maxPassword() int { return MaxPasswordBytes }

func (f shaCryptFormat) hash(password []byte) (string, error) {
	salt := randomText(f.saltLen, crypt64)
	return f.prefix + f.encode(password, salt), nil
}

// encode returns "$5$[rounds=N$]SALT$HASH" for password and salt (at most 16 bytes).
func (f shaCryptFormat) encode(password, salt []byte) string {
	var b strings.Builder
	b.WriteString("$" + f.id() + "$")
	if f.explicit {
		fmt.Fprintf(&b, "rounds=%d$", f.rounds)
	}
	b.Write(salt)
	b.WriteByte('$')
	sum := shaCrypt(f.is512, password, salt, f.rounds)
	if f.is512 {
		b.WriteString(crypt64Encode(sum, sha512Order[:], 2))
	} else {
		b.WriteString(crypt64Encode(sum, sha256Order[:], 3))
	}
	return b.String()
}

// shaCrypt computes the raw digest of the specification's algorithm, steps 1–21.
func shaCrypt(is512 bool, key, salt []byte, rounds int) []byte {
	newHash := sha256.New
	if is512 {
		newHash = sha512.New
	}
	h := newHash()
	size := h.Size()
	sum := func(parts ...[]byte) []byte {
		h.Reset()
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}

	// Steps 4–8: digest B of key, salt, key.
	b := sum(key, salt, key)

	// Steps 1–3 and 9–12: digest A.
	h.Reset()
	h.Write(key)
	h.Write(salt)
	n := len(key)
	for ; n > size; n -= size {
		h.Write(b)
	}
	h.Write(b[:n])
	for n := len(key); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(key)
		}
	}
	a := h.Sum(nil)

	// Steps 13–16: byte sequence P from digest DP of the key repeated len(key) times.
	h.Reset()
	for range len(key) {
		h.Write(key)
	}
	dp := h.Sum(nil)
	p := make([]byte, len(key))
	for i := 0; i < len(p); i += size {
		copy(p[i:], dp)
	}

	// Steps 17–20: byte sequence S from digest DS of the salt repeated 16+A[0] times.
	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(salt)
	}
	ds := h.Sum(nil)
	s := make([]byte, len(salt))
	copy(s, ds) // the salt is at most 16 bytes, shorter than any digest

	// Step 21: the rounds.
	c := a
	next := make([]byte, 0, size)
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		next = h.Sum(next[:0])
		c, next = next, c
	}
	return c
}

// The specification's byte order for step 22's base-64 output, in triples (see
// crypt64Encode).
var sha256Order = [...]int{
	0, 10, 20, 21, 1, 11, 12, 22, 2, 3, 13, 23, 24, 4, 14, 15, 25, 5, 6, 16, 26, 27, 7, 17, 18, 28, 8, 9, 19, 29,
	-1, 31, 30,
}

var sha512Order = [...]int{
	0, 21, 42, 22, 43, 1, 44, 2, 23, 3, 24, 45, 25, 46, 4, 47, 5, 26, 6, 27, 48, 28, 49, 7, 50, 8, 29, 9, 30, 51,
	31, 52, 10, 53, 11, 32, 12, 33, 54, 34, 55, 13, 56, 14, 35, 15, 36, 57, 37, 58, 16, 59, 17, 38, 18, 39, 60,
	40, 61, 19, 62, 20, 41, -1, -1, 63,
}

// crypt64Encode writes sum in crypt's base 64 (least significant 6 bits first, alphabet
// "./0-9A-Za-z"), taking bytes in triples by order, each triple one 24-bit group of 4
// characters except the last, which gives lastChars; -1 in order stands for a zero byte.
func crypt64Encode(sum []byte, order []int, lastChars int) string {
	byteAt := func(i int) uint32 {
		if i < 0 {
			return 0
		}
		return uint32(sum[i])
	}
	out := make([]byte, 0, len(order)/3*4)
	for i := 0; i < len(order); i += 3 {
		w := byteAt(order[i])<<16 | byteAt(order[i+1])<<8 | byteAt(order[i+2])
		chars := 4
		if i+3 == len(order) {
			chars = lastChars
		}
		for range chars {
			out = append(out, crypt64[w&0x3f])
			w >>= 6
		}
	}
	return string(out)
}

// parseShaCrypt parses "$5$[rounds=N$]SALT$HASH" and "$6$…".
func parseShaCrypt(s, prefix string, lim *limits) (*parsed, error) {
	f := shaCryptFormat{prefix: prefix, is512: s[1] == '6', rounds: shaCryptRoundsDefault}
	name := f.describe().Scheme
	rest := s[3:]
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		digits, after, found := strings.Cut(r, "$")
		n, isNum := atoi(digits)
		if !found || !isNum {
			return nil, malformed(name, "a bad rounds field")
		}
		// The specification clamps the count into [1000, 999999999] and writes the clamped
		// value; resetgate also refuses counts beyond its own limit.
		f.rounds, f.explicit, rest = max(n, shaCryptRoundsMin), true, after
	}
	if f.rounds > lim.shaCryptRounds || f.rounds > shaCryptRoundsMax {
		return nil, tooExpensive(name, fmt.Sprintf("rounds %d > %d", f.rounds, lim.shaCryptRounds))
	}
	salt, enc, ok := strings.Cut(rest, "$")
	wantLen := 43
	if f.is512 {
		wantLen = 86
	}
	if !ok || len(salt) > shaCryptSaltMax || len(enc) != wantLen || !allIn(enc, crypt64) {
		return nil, malformed(name, "a bad salt or hash")
	}
	f.saltLen = len(salt)
	next := f
	next.saltLen = textSaltLen(len(salt), shaCryptSaltMax)
	return &parsed{info: f.describe(), writer: next, check: func(pw []byte) (bool, error) {
		got := f.encode(pw, []byte(salt))
		return equal([]byte(got[len(got)-wantLen:]), []byte(enc)), nil
	}}, nil
}

// md5Crypt is Poul-Henning Kamp's MD5-crypt ("$1$") and Apache's variant of it ("$apr1$"),
// which differs only in the magic string. Weak: 1000 MD5 rounds. Verified, never written.
func md5Crypt(magic string, password, salt []byte) string {
	h := md5.New()
	sum := func(parts ...[]byte) []byte {
		h.Reset()
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	alt := sum(password, salt, password)
	h.Reset()
	h.Write(password)
	h.Write([]byte(magic))
	h.Write(salt)
	for n := len(password); n > 0; n -= 16 {
		h.Write(alt[:min(n, 16)])
	}
	for n := len(password); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write(password[:1])
		}
	}
	final := h.Sum(nil)
	for i := range 1000 {
		var parts [4][]byte
		parts[0], parts[3] = final, password
		if i&1 != 0 {
			parts[0], parts[3] = password, final
		}
		if i%3 != 0 {
			parts[1] = salt
		}
		if i%7 != 0 {
			parts[2] = password
		}
		final = sum(parts[:]...)
	}
	order := []int{0, 6, 12, 1, 7, 13, 2, 8, 14, 3, 9, 15, 4, 10, 5, -1, -1, 11}
	return magic + string(salt) + "$" + crypt64Encode(final, order, 2)
}

func parseMD5Crypt(s, prefix string) (*parsed, error) {
	magic, scheme := "$1$", "md5-crypt"
	if strings.HasPrefix(s, "$apr1$") {
		magic, scheme = "$apr1$", "apr1"
	}
	salt, enc, ok := strings.Cut(s[len(magic):], "$")
	if !ok || len(salt) > 8 || len(enc) != 22 || !allIn(enc, crypt64) {
		return nil, malformed(scheme, "a bad salt or hash")
	}
	note := "MD5-crypt: 1000 MD5 rounds, cracked quickly; resetgate never writes it"
	if scheme == "apr1" {
		note = "Apache's MD5-crypt variant (htpasswd -m): 1000 MD5 rounds, cracked quickly; resetgate never writes it; htpasswd -B (bcrypt) is the safe alternative"
	}
	return &parsed{
		info: Info{Scheme: scheme, Variant: prefix + magic, Params: fmt.Sprintf("salt=%d chars", len(salt)), Weak: true, Note: note},
		check: func(pw []byte) (bool, error) {
			got := md5Crypt(magic, pw, []byte(salt))
			return equal([]byte(got[len(got)-22:]), []byte(enc)), nil
		},
	}, nil
}
