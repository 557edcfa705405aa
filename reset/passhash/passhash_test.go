package passhash

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func mustNew(t *testing.T, name string) Hasher {
	t.Helper()
	h, err := New(name)
	if err != nil {
		t.Fatalf("New(%q) = %v", name, err)
	}
	return h
}

func mustHash(t *testing.T, h Hasher, password string) string {
	t.Helper()
	got, err := h.Hash(password)
	if err != nil {
		t.Fatalf("%v.Hash(%q) = %v", h, password, err)
	}
	return got
}

func TestNewDefaults(t *testing.T) {
	tests := []struct {
		name, variant, params string
		max                   int
	}{
		{"werkzeug", "pbkdf2:sha256", "iterations=600000 salt=16 chars", MaxPasswordBytes},
		{"django", "pbkdf2_sha256", "iterations=1000000 salt=22 chars", MaxPasswordBytes},
		{"bcrypt", "$2b$", "cost=12", 72},
		{"argon2id", "argon2id", "m=19456 t=2 p=1 salt=16 bytes hash=32 bytes", MaxPasswordBytes},
		{"passlib", "$pbkdf2-sha256$", "rounds=600000 salt=16 bytes", MaxPasswordBytes},
		{"sha512-crypt", "$6$", "rounds=656000 salt=16 chars", MaxPasswordBytes},
		{"sha256-crypt", "$5$", "rounds=535000 salt=16 chars", MaxPasswordBytes},
		{"ldap-ssha", "{SSHA}", "salt=8 bytes", MaxPasswordBytes},
		{"wordpress", "$wp$2y$", "cost=12", MaxPasswordBytes},
		{"phpass", "$P$", "iterations=2^16 salt=8 chars", MaxPasswordBytes},
		{"drupal7", "$S$", "iterations=2^16 salt=8 chars", MaxPasswordBytes},
		{"spring", "{bcrypt}$2a$", "cost=12", 72},
		{"aspnet-identity", "v3 (0x01)", "PBKDF2-HMAC-SHA512 iterations=210000 salt=16 bytes key=32 bytes", MaxPasswordBytes},
		{"yescrypt", "$y$", "N=4096 r=32 p=1 salt=16 bytes", MaxPasswordBytes},
	}
	if got := len(tests); got != len(Names()) {
		t.Fatalf("test covers %d schemes, Names() has %d", got, len(Names()))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := mustNew(t, tt.name)
			if h.Scheme() != tt.name || h.MaxPasswordBytes() != tt.max {
				t.Errorf("New(%q) Scheme, MaxPasswordBytes = %q, %d, want %q, %d", tt.name, h.Scheme(), h.MaxPasswordBytes(), tt.name, tt.max)
			}
			const pw = "naïve Ωmega \"quoted\" 密码"
			got := mustHash(t, h, pw)
			info, err := Describe(got)
			if err != nil || info.Scheme != tt.name || info.Variant != tt.variant || info.Params != tt.params || !info.Writable || info.Weak {
				t.Errorf("Describe(New(%q).Hash) = %+v, %v, want %s %s %s writable", tt.name, info, err, tt.name, tt.variant, tt.params)
			}
			if strings.Contains(info.Note, "below") || strings.Contains(info.Note, " low") {
				// Defaults must not trip their own low-cost warnings.
				t.Errorf("Describe(New(%q).Hash).Note = %q, want none", tt.name, info.Note)
			}
			if fmt.Sprint(h) != tt.name+" "+tt.variant+" "+tt.params {
				t.Errorf("New(%q).String() = %q", tt.name, fmt.Sprint(h))
			}
			if ok, err := Verify(pw, got); !ok || err != nil {
				t.Errorf("Verify(%q, %q) = %v, %v, want true, nil", pw, got, ok, err)
			}
			if ok, err := h.Verify(pw+" ", got); ok || err != nil {
				t.Errorf("New(%q).Verify(%q, %q) = %v, %v, want false, nil", tt.name, pw+" ", got, ok, err)
			}
		})
	}
}

// TestSaltsAreFresh checks, on every kind of writable format, that each hash gets a new salt
// of the shape the format describes.
func TestSaltsAreFresh(t *testing.T) {
	for _, f := range cheapFormats {
		h := newHasher(f)
		a, b := mustHash(t, h, "pw"), mustHash(t, h, "pw")
		if a == b {
			t.Errorf("%v hashed %q twice as %q", h, "pw", a)
		}
		if info, err := Describe(a); info != f.describe() || err != nil {
			t.Errorf("Describe(%q) = %+v, %v, want %+v", a, info, err, f.describe())
		}
	}
}

func TestNewUnknown(t *testing.T) {
	for _, name := range []string{"", "auto", "md5", "Werkzeug", "scrypt"} {
		if h, err := New(name); err == nil || !strings.Contains(err.Error(), "werkzeug, django") {
			t.Errorf("New(%q) = %v, %v, want an error listing the names", name, h, err)
		}
	}
	names := Names()
	names[0] = "changed"
	if Names()[0] != "werkzeug" {
		t.Errorf("Names() shares its slice with callers")
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		name    string
		hash    string
		scheme  string
		variant string
		params  string
		weak    bool
		note    string // a substring of Note
		wantErr error
	}{
		{"werkzeug 2.2 default", "pbkdf2:sha256:260000$Rewpv3MHpAj40WSB$a459588e3a76550b6aedb82ba34a90b3282a2fa3ebcdfda40536ebe7b6416f91",
			"werkzeug", "pbkdf2:sha256", "iterations=260000 salt=16 chars", false, "below OWASP's 600000", nil},
		{"werkzeug 3 scrypt", "scrypt:32768:8:1$HV9QBjMLVj11m0SL$1a7377c43d3fa58887bdc1f1b2d0c86787a4bc09703b3fd12fa9656638accb895b6d56867db6d53cd627387709a8f45bfa7c4262f5717343676d5bd0ffc11db5",
			"werkzeug", "scrypt", "n=32768 r=8 p=1 salt=16 chars", false, "werkzeug 2.3 or later", nil},
		{"django bcrypt needs a setting", "bcrypt$$2b$12$nPZdY1ymMAhUzgMdW.vN1uiESCpO1LNUHKwI/rDZs5eMw2bTZ5/Hu",
			"django", "bcrypt $2b$", "cost=12", false, "BCryptPasswordHasher, which Django's default list leaves out", nil},
		{"django argon2", "argon2$argon2id$v=19$m=102400,t=2,p=8$UzN2aHBrUHF4VEl3aWVDWTU0RXJMTg$PMlGpgztAENG6pVPlKfilA",
			"django", "argon2 argon2id", "m=102400 t=2 p=8 salt=22 chars hash=16 bytes", false, "Argon2PasswordHasher", nil},
		{"php bcrypt", "$2y$10$TLM4/TJuzGFnzu17u0EEbOqCSAJ4TeYEF8KKUYDPdOV7TroO9ruoy",
			"bcrypt", "$2y$", "cost=10", false, "72 bytes", nil},
		{"htpasswd bcrypt cost 5", "$2y$05$2QwlBZ8mvAtHTJCz8M4VbuD2jMMaUYh6bj3dtaTE5rx92rvJtTnaO",
			"bcrypt", "$2y$", "cost=5", false, "cost 5 is below", nil},
		{"php argon2id", "$argon2id$v=19$m=65536,t=4,p=1$Ujk5S1FLdUxuSWNMNlRnbA$sz4S5kUJIsFc3mfaZ8pif7ivNkYKcYJM5ubT7NrF4Fg",
			"argon2id", "argon2id", "m=65536 t=4 p=1 salt=16 chars hash=32 bytes", false, "", nil},
		{"passlib argon2 raw salt", "$argon2id$v=19$m=102400,t=2,p=8$yhnj3BuD0Hpvbe39P2fsvQ$u75H+QcaQMZmDExkYn+z3g",
			"argon2id", "argon2id", "m=102400 t=2 p=8 salt=16 bytes hash=16 bytes", false, "", nil},
		{"htpasswd sha256-crypt implicit rounds", "$5$5eytDxlhNJ/Zs0/V$1jhSrqA3obeRuwroqI4vSnSqmqSjLN686J.qqhzCB.A",
			"sha256-crypt", "$5$", "rounds=5000 (implicit) salt=16 chars", false, "5000 rounds is low", nil},
		{"ldap ssha", "{SSHA}eX57JE3ST068H9WD1pJw1bP9uDqmVKo1", "ldap-ssha", "{SSHA}", "salt=4 bytes", false, "fast", nil},
		{"werkzeug plain", "plain$$password", "plain", "werkzeug plain$$", "", true, "plain text", nil},
		{"werkzeug salted hmac", "sha256$rlTNIuaglGbvsEWR$85feb92dd7d7973a7d4a3a8206399625f784ff6875c62f69f43160a84f0ee67b",
			"salted-sha256", "werkzeug < 2.3 salted HMAC", "salt=16 chars", true, "", nil},
		{"django unsalted md5", "5f4dcc3b5aa765d61d8327deb882cf99", "md5", "unsalted hex", "", true, "", nil},
		{"django unsalted sha1", "sha1$$5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", "sha1", "unsalted sha1$$", "", true, "", nil},
		{"htpasswd apr1", "$apr1$V0UufzLs$E4Mc.4alI.KRSfTRSEp9O/", "apr1", "$apr1$", "salt=8 chars", true, "htpasswd -B", nil},
		{"htpasswd sha1", "{SHA}5O0abs17D8BuMfvg9kbCGKQW3PU=", "ldap-sha", "{SHA}", "", true, "unsalted", nil},
		{"mysql password()", "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19", "mysql41", "MySQL PASSWORD()", "", true, "", nil},
		{"des crypt", "abJnggxhB/yWI", "des-crypt", "DES", "", true, "cannot verify", nil},
		{"yescrypt", "$y$j9T$F5Jx5fExrKuJdGmT0ZRY0.$ae3VKWl4Qb5T5.HKiTrtFE9Kcbq3yN4xvKQQ9LUb3n1", "yescrypt", "$y$", "N=4096 r=32 p=1 salt=16 bytes", false, "libxcrypt", nil},
		{"gost-yescrypt", "$gy$j9T$BdImFSDFlAiXpJlYBqNZl1$QxGILZXGS7FnoSIEkMAKUHxiCk/xqfyQMpONITA80i2", "gost-yescrypt", "$gy$", "", false, "not supported", ErrUnknownFormat},
		{"bcrypt 2x", "$2x$10$TLM4/TJuzGFnzu17u0EEbOqCSAJ4TeYEF8KKUYDPdOV7TroO9ruoy", "bcrypt", "$2x$", "", false, "", ErrUnknownFormat},
		{"argon2 version 16", "$argon2i$m=65536,t=4,p=1$bC50ZW1HUm10QlVleFlLNg$V9jfQ+K8uyzrPGJX3yPqIZZZcz3vOtMu83zXdFMAzVw", "argon2id", "argon2i v=16", "", false, "", ErrUnknownFormat},
		{"werkzeug pbkdf2 without iterations", "pbkdf2:sha256$salt$00", "werkzeug", "pbkdf2:sha256", "", false, "no iteration count", ErrUnknownFormat},
		{"django unusable", "!qhSWhcYq3qyZ0IAt5kqbsmJQbqKhZp54ZSfrSWpu", "django-unusable", "!", "", false, "fallback", ErrUnknownFormat},
		{"truncated werkzeug", "pbkdf2:sha256:260000$Rewpv3MHpAj40WSB$a459588e3a76550b6aedb82ba3", "werkzeug", "", "", false, "", ErrUnknownFormat},
		{"empty", "", "", "", "", false, "", ErrUnknownFormat},
		{"plain password in the column", "hunter2", "", "", "", false, "", ErrUnknownFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Describe(tt.hash)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Describe(%q) error = %v, want %v", tt.hash, err, tt.wantErr)
			}
			if info.Scheme != tt.scheme || info.Variant != tt.variant || info.Params != tt.params || info.Weak != tt.weak ||
				!strings.Contains(info.Note, tt.note) || info.Writable != (err == nil && !tt.weak) {
				t.Errorf("Describe(%q) = %+v, want %s %q %q weak=%v note~%q", tt.hash, info, tt.scheme, tt.variant, tt.params, tt.weak, tt.note)
			}
		})
	}
}

// TestWeakFormatsVerify checks the formats resetgate verifies but never writes against hashes
// made by werkzeug 2.2, Django 3.2 and passlib 1.7.4.
func TestWeakFormatsVerify(t *testing.T) {
	for _, hash := range []string{
		"plain$$password",
		"sha256$rlTNIuaglGbvsEWR$85feb92dd7d7973a7d4a3a8206399625f784ff6875c62f69f43160a84f0ee67b", // werkzeug HMAC
		"md5$SSJROXc1TibNqxa7$9dff44da3eda12215de3e17433bf0072",                                    // werkzeug HMAC
		"sha1$tA38qNrBKhOHVDLShaAuiA$e3218248b44f691f35b16ecb8039e0bec431c0b8",                     // Django salted
		"md5$f0wOmdJwuGYuH1jszh99fk$9c846255bffd0acd9a6d2f51aff8d963",                              // Django salted
		"sha1$$5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8",                                           // Django unsalted_sha1
		"5f4dcc3b5aa765d61d8327deb882cf99",                                                         // Django unsalted_md5
		"{MD5}X03MO1qnZdYdgyfeuILPmQ==",
		"{SMD5}K5Ea9cNttCPG23SdjGiMqh0DIIQ=",
		"*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19",
	} {
		if ok, err := Verify("password", hash); !ok || err != nil {
			t.Errorf("Verify(%q, %q) = %v, %v, want true, nil", "password", hash, ok, err)
		}
		if ok, err := Verify("Password", hash); ok || err != nil {
			t.Errorf("Verify(%q, %q) = %v, %v, want false, nil", "Password", hash, ok, err)
		}
		if h, err := Identify(hash); !errors.Is(err, ErrWeakFormat) {
			t.Errorf("Identify(%q) = %v, %v, want ErrWeakFormat", hash, h, err)
		}
	}
	if ok, err := Verify("password", "abJnggxhB/yWI"); ok || !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Verify(DES crypt) = %v, %v, want false, ErrUnknownFormat", ok, err)
	}
}

// TestHostileParameters checks that stored hashes demanding absurd work are refused before
// any of it is done.
func TestHostileParameters(t *testing.T) {
	for _, hash := range []string{
		"pbkdf2:sha256:4000000000$salt$" + strings.Repeat("0", 64),
		"pbkdf2_sha256$99999999$salt$" + strings.Repeat("A", 43) + "=",
		"$pbkdf2-sha256$2147483647$c2FsdA$" + strings.Repeat("A", 43),
		"scrypt:1048576:64:1$salt$" + strings.Repeat("0", 128),
		"scrypt:2:1:1073741823$salt$" + strings.Repeat("0", 128),
		"$2b$31$TLM4/TJuzGFnzu17u0EEbOqCSAJ4TeYEF8KKUYDPdOV7TroO9ruoy",
		"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"$argon2id$v=19$m=1048576,t=64,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"$argon2id$v=19$m=65536,t=4294967295,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"$argon2id$v=19$m=65536,t=1,p=255$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"$6$rounds=999999999$salt$" + strings.Repeat("a", 86),
		"{CRYPT}$5$rounds=4000000000$salt$" + strings.Repeat("a", 43),
	} {
		if ok, err := Verify("pw", hash); ok || !errors.Is(err, ErrTooExpensive) {
			t.Errorf("Verify(%q) = %v, %v, want ErrTooExpensive", hash, ok, err)
		}
		if h, err := Identify(hash); !errors.Is(err, ErrTooExpensive) {
			t.Errorf("Identify(%q) = %v, %v, want ErrTooExpensive", hash, h, err)
		}
	}
	long := "pbkdf2:sha256:1000$" + strings.Repeat("s", maxEncoded) + "$" + strings.Repeat("0", 64)
	if _, err := Describe(long); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Describe(%d-byte hash) = %v, want ErrUnknownFormat", len(long), err)
	}
}

func TestPasswordLength(t *testing.T) {
	bc := mustNew(t, "bcrypt")
	if _, err := bc.Hash(strings.Repeat("a", 73)); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("bcrypt Hash(73 bytes) = %v, want ErrPasswordTooLong", err)
	}
	// 72 bytes counted as UTF-8 bytes, not characters: 24 three-byte characters. (Cost 4
	// from here on: the limits do not depend on the cost.)
	bc = newHasher(bcryptFormat{minor: 'b', cost: 4})
	h72 := mustHash(t, bc, strings.Repeat("密", 24))
	if ok, err := Verify(strings.Repeat("密", 24), h72); !ok || err != nil {
		t.Errorf("Verify(72-byte password) = %v, %v, want true, nil", ok, err)
	}
	if _, err := bc.Hash(strings.Repeat("密", 24) + "a"); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("bcrypt Hash(73 UTF-8 bytes) = %v, want ErrPasswordTooLong", err)
	}

	// Django's bcrypt_sha256 pre-hashes, so long passwords are whole and distinct.
	sha := newHasher(bcryptFormat{prefix: "bcrypt_sha256$", minor: 'b', cost: 4, prehash: true})
	long := strings.Repeat("b", 100)
	got := mustHash(t, sha, long)
	if ok, err := Verify(long[:72], got); ok || err != nil {
		t.Errorf("Verify(first 72 bytes, bcrypt_sha256 of 100) = %v, %v, want false, nil", ok, err)
	}

	w := mustNew(t, "ldap-ssha")
	if _, err := w.Hash(strings.Repeat("a", MaxPasswordBytes+1)); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Hash(%d bytes) = %v, want ErrPasswordTooLong", MaxPasswordBytes+1, err)
	}
	if ok, err := Verify(strings.Repeat("a", MaxPasswordBytes+1), "{SSHA}eX57JE3ST068H9WD1pJw1bP9uDqmVKo1"); ok || !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Verify(%d bytes) = %v, %v, want ErrPasswordTooLong", MaxPasswordBytes+1, ok, err)
	}
}

// TestNoNormalisation checks that passwords are hashed as the bytes typed: the NFC and NFD
// spellings of "é" are different passwords, as they are to every framework.
func TestNoNormalisation(t *testing.T) {
	nfc, nfd := "caf\u00e9-password", "cafe\u0301-password"
	for _, name := range []string{"ldap-ssha", "sha256-crypt"} {
		got := mustHash(t, mustNew(t, name), nfc)
		if ok, err := Verify(nfd, got); ok || err != nil {
			t.Errorf("%s: Verify(NFD, hash of NFC) = %v, %v, want false, nil", name, ok, err)
		}
	}
}

// TestShortSaltsGrow checks the one way Identify departs from the current hash: salts under
// 32 bits get the framework's default length.
func TestShortSaltsGrow(t *testing.T) {
	tests := []struct{ password, hash, want string }{
		{"short salt", "pbkdf2:sha256:1000$nH5$667d6d86d7318d914c8a4cfabc45cc96cd7e26f3a77904befad62d918688e180", "iterations=1000 salt=16 chars"}, // werkzeug, salt_length=3
		{"short salt", "$5$rounds=1000$ab$UOw511de8VvkzGz43lBAVN9CTT.YO43nw5jpLU2lfS1", "rounds=1000 salt=16 chars"},                               // glibc crypt
	}
	for _, tt := range tests {
		if ok, err := Verify(tt.password, tt.hash); !ok || err != nil {
			t.Errorf("Verify(%q, %q) = %v, %v, want true, nil", tt.password, tt.hash, ok, err)
		}
		h, err := Identify(tt.hash)
		if err != nil {
			t.Fatalf("Identify(%q) = %v", tt.hash, err)
		}
		if info, _ := Describe(mustHash(t, h, tt.password)); info.Params != tt.want {
			t.Errorf("Describe(Identify(%q).Hash).Params = %q, want %q", tt.hash, info.Params, tt.want)
		}
	}
}

func TestHasherVerifyOtherScheme(t *testing.T) {
	h := mustNew(t, "werkzeug")
	if ok, err := h.Verify("letmein-42", "$2y$10$TLM4/TJuzGFnzu17u0EEbOqCSAJ4TeYEF8KKUYDPdOV7TroO9ruoy"); ok || !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("werkzeug Verify(bcrypt hash) = %v, %v, want false, ErrUnknownFormat", ok, err)
	}
	if ok, err := h.Verify("letmein-42", "pbkdf2:sha1:260000$jPTlVZodnS3jT9jT$8ca48aebd6a4b9792c2f82c4a0c243f3dd1b6281"); !ok || err != nil {
		t.Errorf("werkzeug Verify(pbkdf2:sha1 hash) = %v, %v, want true, nil", ok, err)
	}
}

// TestErrorsNeverCarryTheHash checks that parse errors, which callers log, hold no salt or
// digest: damaged copies of every vector are refused with messages free of their tails.
func TestErrorsNeverCarryTheHash(t *testing.T) {
	for _, v := range mustVectors(t) {
		for _, bad := range []string{v.Hash[:len(v.Hash)-1], v.Hash + "A", v.Hash[:len(v.Hash)-3] + "$$$"} {
			_, err := Identify(bad)
			if err == nil {
				continue // e.g. a longer salt is still a hash
			}
			if tail := bad[len(bad)-12:]; strings.Contains(err.Error(), tail) {
				t.Errorf("Identify(%q) error %q contains the hash", bad, err)
			}
		}
	}
}

func TestNamesDistinct(t *testing.T) {
	n := Names()
	if len(slices.Compact(slices.Sorted(slices.Values(n)))) != len(n) {
		t.Errorf("Names() = %v has duplicates", n)
	}
}
