package passhash

import (
	"errors"
	"strings"
	"testing"
)

// fuzzLimits keep the work per fuzz input small, so the fuzzer explores parsers rather than
// waiting on key derivation; the parsers are the same.
var fuzzLimits = limits{
	pbkdf2Iter:     2000,
	bcryptCost:     5,
	argon2Memory:   256,
	argon2Time:     3,
	argon2Threads:  4,
	argon2Work:     512,
	scryptMemory:   128 * 64 * 4,
	scryptWork:     1024,
	shaCryptRounds: 5000,
	phpassLog2:     10,
}

// cheapFormats are writable formats of every kind with the lowest costs they accept.
var cheapFormats = []format{
	werkzeugPBKDF2{digest: "sha256", iter: 1000, saltLen: 16},
	werkzeugPBKDF2{digest: "sha1", iter: 1, saltLen: 6},
	werkzeugScrypt{n: 16, r: 2, p: 1, saltLen: 16},
	djangoPBKDF2{digest: "sha256", iter: 1000, saltLen: 22},
	djangoPBKDF2{digest: "sha1", iter: 10, saltLen: 12},
	bcryptFormat{minor: 'y', cost: 4},
	bcryptFormat{prefix: "bcrypt$", minor: 'b', cost: 4},
	bcryptFormat{prefix: "bcrypt_sha256$", minor: 'b', cost: 4, prehash: true},
	bcryptFormat{prefix: "{CRYPT}", minor: 'a', cost: 4},
	argon2Format{variant: "argon2id", memory: 64, time: 1, threads: 2, salt: saltShape{n: 16}, keyLen: 32},
	argon2Format{variant: "argon2i", memory: 32, time: 2, threads: 1, salt: saltShape{n: 16, text: true, alphabet: crypt64}, keyLen: 32},
	argon2Format{prefix: "argon2", variant: "argon2id", memory: 64, time: 1, threads: 8, salt: saltShape{n: 22, text: true, alphabet: alnum}, keyLen: 16},
	passlibPBKDF2{digest: "sha256", rounds: 1000, saltLen: 16},
	passlibPBKDF2{digest: "sha512", rounds: 10, saltLen: 4},
	passlibPBKDF2{digest: "sha1", rounds: 10, saltLen: 8},
	shaCryptFormat{is512: true, rounds: 1000, explicit: true, saltLen: 16},
	shaCryptFormat{rounds: 5000, saltLen: 8},
	shaCryptFormat{prefix: "{CRYPT}", is512: true, rounds: 5000, saltLen: 16},
	ldapSalted{label: "{SSHA}", digest: "sha1", saltLen: 4},
	ldapSalted{label: "{ssha512}", digest: "sha512", saltLen: 16},
	phpassFormat{id: 'P', log2: 7, saltLen: 8},
	phpassFormat{id: 'H', log2: 8, saltLen: 8},
	phpassFormat{id: 'S', log2: 7, saltLen: 8},
	bcryptFormat{prefix: wpPrefix, minor: 'y', cost: 4},
	bcryptFormat{prefix: springBcrypt, minor: 'a', cost: 4},
	argon2Format{prefix: springArgon2v58, variant: "argon2id", memory: 64, time: 1, threads: 1, salt: saltShape{n: 16}, keyLen: 32},
	argon2Format{prefix: "{ARGON2}", variant: "argon2i", memory: 64, time: 1, threads: 1, salt: saltShape{n: 16}, keyLen: 32},
	springScryptFormat{label: springScrypt, n: 16, r: 2, p: 1, saltLen: 64},
	aspnetFormat{iter: aspnetV2Iter, saltLen: aspnetV2Salt, keyLen: aspnetV2Key},
	aspnetFormat{v3: true, prf: 1, iter: 10, saltLen: 16, keyLen: 32},
	aspnetFormat{v3: true, prf: 2, iter: 3, saltLen: 32, keyLen: 64},
	djangoScrypt{n: 16, r: 2, p: 1, saltLen: 22},
}

// fuzzSeeds are real framework hashes plus cheap ones of every writable format, so that
// the fuzzer starts from strings that parse all the way through.
func fuzzSeeds(t testing.TB) []string {
	var seeds []string
	for _, v := range mustVectors(t) {
		seeds = append(seeds, v.Hash)
	}
	for _, f := range cheapFormats {
		h, err := f.hash([]byte("letmein-42"))
		if err != nil {
			t.Fatalf("seed %T: %v", f, err)
		}
		seeds = append(seeds, h)
	}
	return append(seeds,
		"plain$$letmein-42", "sha256$salt$"+strings.Repeat("0", 64), "md5$$"+strings.Repeat("a", 32),
		"5f4dcc3b5aa765d61d8327deb882cf99", "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19", "abJnggxhB/yWI",
		"{MD5}X03MO1qnZdYdgyfeuILPmQ==", "{SMD5}K5Ea9cNttCPG23SdjGiMqh0DIIQ=", "{CLEARTEXT}pw", "{CRYPT}abJnggxhB/yWI",
		"$1$abc$OGyl6dDvZCDiGmIVbeuCq/", "$y$j9T$salt$hash", "!unusable", "pbkdf2:sha256$salt$00",
		"$argon2i$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", "scrypt$16384$salt$8$1$AAAA",
	)
}

// checkParse is the property every parser must keep, on any input: no panic; errors wrap a
// sentinel and never carry a long stretch of the input; a recognised hash is either weak or
// writable, never both; and a writable one's hasher writes hashes that parse back to exactly
// the format it describes and verify with the password they were made from.
func checkParse(t *testing.T, s, pw string) {
	p, err := parse(s, &fuzzLimits)
	if err != nil {
		if !errors.Is(err, ErrUnknownFormat) && !errors.Is(err, ErrTooExpensive) {
			t.Fatalf("parse(%q) error %v wraps no sentinel", s, err)
		}
		if len(s) >= 24 && strings.Contains(err.Error(), s) {
			t.Fatalf("parse(%q) error %q carries the input", s, err)
		}
		if p != nil && (p.writer != nil || p.check != nil || p.info.Writable) {
			t.Fatalf("parse(%q) failed with %v but returned a usable result %+v", s, err, p.info)
		}
		return
	}
	if p.info.Scheme == "" || p.info.Weak == p.info.Writable || p.info.Writable != (p.writer != nil) {
		t.Fatalf("parse(%q) = %+v, writer %v: inconsistent", s, p.info, p.writer != nil)
	}
	if len(pw) > MaxPasswordBytes {
		return
	}
	if p.check != nil {
		if _, err := p.check([]byte(pw)); err != nil {
			t.Fatalf("check(%q, %q) = %v", pw, s, err)
		}
	}
	if p.writer == nil || len(pw) > p.writer.maxPassword() {
		return
	}
	out, err := p.writer.hash([]byte(pw))
	if err != nil {
		t.Fatalf("rehash of %q = %v", s, err)
	}
	q, err := parse(out, &fuzzLimits)
	if err != nil {
		t.Fatalf("parse(rehash %q of %q) = %v", out, s, err)
	}
	if want := p.writer.describe(); q.info != want {
		t.Fatalf("parse(rehash %q of %q) = %+v, want %+v", out, s, q.info, want)
	}
	if ok, err := q.check([]byte(pw)); !ok || err != nil {
		t.Fatalf("rehash %q of %q does not verify %q: %v, %v", out, s, pw, ok, err)
	}
}

func FuzzVerify(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add("letmein-42", s)
	}
	f.Fuzz(func(t *testing.T, pw, s string) { checkParse(t, s, pw) })
}

// FuzzIdentify fuzzes the public entry points that only parse, with the real limits.
func FuzzIdentify(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		info, derr := Describe(s)
		h, err := Identify(s)
		switch {
		case err == nil && (derr != nil || !info.Writable || h.Scheme() != info.Scheme):
			t.Fatalf("Identify(%q) = %v but Describe = %+v, %v", s, h, info, derr)
		case err != nil && derr == nil && info.Writable:
			t.Fatalf("Identify(%q) = %v but Describe says writable: %+v", s, err, info)
		case errors.Is(err, ErrWeakFormat) != (derr == nil && info.Weak):
			t.Fatalf("Identify(%q) = %v but Describe = %+v, %v", s, err, info, derr)
		}
	})
}

// fuzzFamily fuzzes one parser: the input is what follows one of its prefixes, so the fuzzer
// spends its time inside that parser.
func fuzzFamily(f *testing.F, prefixes ...string) {
	for _, s := range fuzzSeeds(f) {
		for i, prefix := range prefixes {
			if rest, ok := strings.CutPrefix(s, prefix); ok {
				f.Add(uint8(i), rest, "letmein-42")
			}
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, rest, pw string) {
		checkParse(t, prefixes[int(which)%len(prefixes)]+rest, pw)
	})
}

func FuzzWerkzeug(f *testing.F) {
	fuzzFamily(f, "pbkdf2:", "scrypt:", "scrypt$", "plain$", "sha256$", "md5$")
}

func FuzzDjango(f *testing.F) {
	fuzzFamily(f, "pbkdf2_sha256$", "pbkdf2_sha1$", "bcrypt$", "bcrypt_sha256$", "argon2$", "sha1$", "scrypt$")
}

// FuzzPHP covers phpass, WordPress 6.8 and Drupal 7.
func FuzzPHP(f *testing.F) { fuzzFamily(f, "$P$", "$H$", "$S$", "$wp$2y$", "U$") }

func FuzzSpring(f *testing.F) {
	fuzzFamily(f, "{bcrypt}", "{argon2}", "{argon2@SpringSecurity_v5_8}", "{scrypt}", "{pbkdf2}", "{sha256}", "{noop}")
}

// FuzzASPNet covers ASP.NET Core Identity's base64 payloads, which both start with 'A'.
func FuzzASPNet(f *testing.F) { fuzzFamily(f, "A", "AQAAA") }

func FuzzBcrypt(f *testing.F) { fuzzFamily(f, "$2a$", "$2b$", "$2y$", "{CRYPT}$2b$") }

func FuzzArgon2(f *testing.F) { fuzzFamily(f, "$argon2id$", "$argon2i$", "argon2$argon2id$") }

func FuzzPasslib(f *testing.F) { fuzzFamily(f, "$pbkdf2-sha256$", "$pbkdf2$", "$pbkdf2-sha512$") }

func FuzzShaCrypt(f *testing.F) { fuzzFamily(f, "$5$", "$6$", "{CRYPT}$6$", "$1$", "$apr1$") }

func FuzzLDAP(f *testing.F) { fuzzFamily(f, "{SSHA}", "{SSHA512}", "{SHA}", "{SMD5}", "{CRYPT}", "{") }

// FuzzLegacy covers the formats without a distinctive prefix.
func FuzzLegacy(f *testing.F) { fuzzFamily(f, "", "*", "!") }
