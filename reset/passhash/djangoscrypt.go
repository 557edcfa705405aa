package passhash

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// djangoScrypt is Django 4.0+'s ScryptPasswordHasher: "scrypt$N$SALT$R$P$BASE64", scrypt over
// the UTF-8 salt text with a 64-byte key.
type djangoScrypt struct {
	n, r, p int
	saltLen int
}

const djangoScryptKeyLen = 64

// djangoScryptMaxMem is OpenSSL's default scrypt memory limit, which Django's maxmem = 0
// leaves in force: Django cannot verify a hash needing more.
const djangoScryptMaxMem = 32 << 20

func (f djangoScrypt) describe() Info {
	info := Info{
		Scheme:   "django",
		Variant:  "scrypt",
		Params:   fmt.Sprintf("n=%d r=%d p=%d salt=%d chars", f.n, f.r, f.p, f.saltLen),
		Writable: true,
		Note:     "Django 4.0 or later; needs django.contrib.auth.hashers.ScryptPasswordHasher in PASSWORD_HASHERS (in Django's default list)",
	}
	if 128*f.n*f.r+128*f.r*f.p > djangoScryptMaxMem {
		info.Note = joinNotes(info.Note, "needs more than OpenSSL's default 32 MiB: the hasher's maxmem must be raised")
	}
	return info
}

func (f djangoScrypt) maxPassword() int { return MaxPasswordBytes }

func (f djangoScrypt) hash(password []byte) (string, error) {
	salt := randomText(f.saltLen, alnum)
	key, err := scryptKey(password, salt, f.n, f.r, f.p, djangoScryptKeyLen)
	if err != nil {
		return "", fmt.Errorf("django scrypt: %w", err)
	}
	return fmt.Sprintf("scrypt$%d$%s$%d$%d$%s", f.n, salt, f.r, f.p, base64.StdEncoding.EncodeToString(key)), nil
}

func parseDjangoScrypt(s string, lim *limits) (*parsed, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 {
		return nil, malformed("django", "the wrong number of scrypt fields")
	}
	n, ok1 := atoi(parts[1])
	r, ok2 := atoi(parts[3])
	p, ok3 := atoi(parts[4])
	salt := parts[2]
	if !ok1 || !ok2 || !ok3 || salt == "" {
		return nil, malformed("django", "bad scrypt parameters")
	}
	if err := checkScrypt("django", n, r, p, lim); err != nil {
		return nil, err
	}
	// Django compares the whole encoded string, so only canonical base64 can verify there.
	want, err := base64.StdEncoding.Strict().DecodeString(parts[5])
	if err != nil || len(want) != djangoScryptKeyLen {
		return nil, malformed("django", "a bad scrypt hash")
	}
	f := djangoScrypt{n: n, r: r, p: p, saltLen: len(salt)}
	next := f
	next.saltLen = textSaltLen(len(salt), 22)
	return &parsed{info: f.describe(), writer: next, check: func(pw []byte) (bool, error) {
		got, err := scryptKey(pw, []byte(salt), f.n, f.r, f.p, djangoScryptKeyLen)
		if err != nil {
			return false, err
		}
		return equal(got, want), nil
	}}, nil
}
