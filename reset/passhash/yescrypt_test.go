package passhash

import (
	"errors"
	"strings"
	"testing"
)

// libxcrypt's outputs for pinned settings (mkpasswd -m yescrypt -S SETTING, with the
// password on stdin; testdata/make-yescrypt-vectors.py makes more): resetgate's yescrypt must
// give them byte for byte, not just verify its own output.
func TestYescryptMatchesLibxcrypt(t *testing.T) {
	tests := []struct{ password, hash string }{
		{"secret", "$y$j9T$abcdefghijklmnopqrstu.$7uryFExhLbAhrpK1WytVzeNObCUVaK3VoKccP3fJEIB"},
		{"secret", "$y$j75$abcdefghijklmnopqrstu.$cQjAYfMwB51ACkjNBqV7OEAUemp/TRZgJmoQ3b5QsN8"},
		{"letmein-42", "$y$j9T..$abcdefghijklmnopqrstu.$BIbqaCR4vXyoBhytyR54Y400/5dssjW5fB2wUuqtFD6"},
		{"letmein-42", "$y$j9T//$abcdefghijklmnopqrstu.$rv0LX60U/wP6CQbuOB6FB5TAsEQVq7vj0MvEdFx98V4"},
		{"letmein-42", "$y$j9T00.$abcdefghijklmnopqrstu.$2kgA0MCwIxwSIaPH6uzcUrF3le8TsY5j0ubxhir31JB"},
	}
	for _, tt := range tests {
		p, err := parse(tt.hash, &defaultLimits)
		if err != nil {
			t.Fatalf("parse(%q) = %v", tt.hash, err)
		}
		f := p.writer.(yescryptFormat)
		setting := tt.hash[:strings.LastIndexByte(tt.hash, '$')]
		saltText := setting[strings.LastIndexByte(setting, '$')+1:]
		salt, ok := decodeCrypt64LE(saltText)
		if !ok {
			t.Fatalf("salt %q does not decode", saltText)
		}
		if got := f.encode([]byte(tt.password), salt, saltText); got != tt.hash {
			t.Errorf("yescrypt(%q, %q) = %q, want libxcrypt's %q", tt.password, setting, got, tt.hash)
		}
	}
}

func TestYescryptParams(t *testing.T) {
	tests := []struct {
		params   string
		nLog2, r uint32
		p, t     uint32
	}{
		{"j9T", 12, 32, 1, 0},
		{"j75", 10, 8, 1, 0},
		{"jBT", 14, 32, 1, 0},
		{"j9T..", 12, 32, 2, 0},
		{"j8T//", 11, 32, 1, 2},
		{"j8T00.", 11, 32, 4, 1},
	}
	for _, tt := range tests {
		v, ok := decodeYescryptParams(tt.params)
		if !ok || v.flavour != yescryptFlavourJ || v.nLog2 != tt.nLog2 || v.r != tt.r || v.p != tt.p || v.t != tt.t {
			t.Errorf("decodeYescryptParams(%q) = %+v, %v", tt.params, v, ok)
		}
		if got := encodeYescryptParams(tt.nLog2, tt.r, tt.p, tt.t); got != tt.params {
			t.Errorf("encodeYescryptParams(%d, %d, %d, %d) = %q, want %q", tt.nLog2, tt.r, tt.p, tt.t, got, tt.params)
		}
	}
	// Multi-character integers round-trip (r=300 needs two characters, 70000 three).
	for _, v := range []uint32{0, 1, 46, 47, 48, 63, 100, 300, 1000, 70000, 1 << 20} {
		enc := encodeUint(v, 0)
		got, rest, ok := decodeUint(enc+"x", 0)
		if !ok || got != v || rest != "x" {
			t.Errorf("decodeUint(encodeUint(%d) = %q) = %d, %q, %v", v, enc, got, rest, ok)
		}
	}
	for _, bad := range []string{"", "j", "j9", "j9T$", "j9T.", "j9T0", "j9T_", "j9T/", "j9TZ"} {
		if v, ok := decodeYescryptParams(bad); ok {
			t.Errorf("decodeYescryptParams(%q) = %+v, want an error", bad, v)
		}
	}
}

func TestYescryptSaltEncoding(t *testing.T) {
	for n := 0; n <= 20; n++ {
		b := randomBytes(n)
		got, ok := decodeCrypt64LE(crypt64LE(b))
		if !ok || string(got) != string(b) {
			t.Errorf("decodeCrypt64LE(crypt64LE(%x)) = %x, %v", b, got, ok)
		}
	}
	// libxcrypt refuses a lone character, a non-alphabet byte and stray high bits
	// (crypt("secret", "$y$j9T$abcdefghijklmnopqrstuv$") fails there: "v" has bits past the
	// 16th byte).
	for _, bad := range []string{"a", "abcde", "ab$d", "abcdefghijklmnopqrstuv"} {
		if b, ok := decodeCrypt64LE(bad); ok {
			t.Errorf("decodeCrypt64LE(%q) = %x, want an error", bad, b)
		}
	}
}

func TestYescryptRefused(t *testing.T) {
	tests := []struct {
		name, hash string
		want       error
	}{
		{"classic scrypt flavour", "$y$.9T$abcdefghijklmnopqrstu.$7uryFExhLbAhrpK1WytVzeNObCUVaK3VoKccP3fJEIB", ErrUnknownFormat},
		{"ROM", "$y$j9T7.$abcdefghijklmnopqrstu.$7uryFExhLbAhrpK1WytVzeNObCUVaK3VoKccP3fJEIB", ErrUnknownFormat},
		{"no hash", "$y$j9T$abcdefghijklmnopqrstu.", ErrUnknownFormat},
		{"short hash", "$y$j9T$abcdefghijklmnopqrstu.$7uryFExhLbAhrpK1WytVzeNObCUVaK3VoKccP3fJEI", ErrUnknownFormat},
		{"bad salt", "$y$j9T$abcdefghijklmnopqrstuv$7uryFExhLbAhrpK1WytVzeNObCUVaK3VoKccP3fJEIB", ErrUnknownFormat},
		{"N/p below 2", "$y$j.T.0$abcdefghijklmnopqrstu.$7uryFExhLbAhrpK1WytVzeNObCUVaK3VoKccP3fJEIB", ErrUnknownFormat},
		{"2 GiB", "$y$jIT$abcdefghijklmnopqrstu.$7uryFExhLbAhrpK1WytVzeNObCUVaK3VoKccP3fJEIB", ErrTooExpensive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ok, err := Verify("secret", tt.hash); ok || !errors.Is(err, tt.want) {
				t.Errorf("Verify(%q) = %v, %v, want %v", tt.hash, ok, err, tt.want)
			}
			if h, err := Identify(tt.hash); err == nil {
				t.Errorf("Identify(%q) = %v, want an error", tt.hash, h)
			}
		})
	}
}

func TestYescryptKeepsAndHardens(t *testing.T) {
	const low = "$y$j75$abcdefghijklmnopqrstu.$cQjAYfMwB51ACkjNBqV7OEAUemp/TRZgJmoQ3b5QsN8"
	h, err := Identify(low)
	if err != nil {
		t.Fatal(err)
	}
	got := mustHash(t, h, "secret")
	if !strings.HasPrefix(got, "$y$j75$") || len(got) != len(low) || got == low {
		t.Errorf("Identify(j75).Hash = %q, want $y$j75$, a fresh 22-character salt", got)
	}
	hard := mustHash(t, harden(h), "secret")
	if !strings.HasPrefix(hard, "$y$jB5$") {
		// N·r from 2^10·8 (mkpasswd -R 1) to libxcrypt's default 2^17: N=2^14, r kept at 8.
		t.Errorf("harden(j75).Hash = %q, want N raised to 2^14", hard)
	}
	if ok, err := Verify("secret", hard); !ok || err != nil {
		t.Errorf("Verify(hardened %q) = %v, %v", hard, ok, err)
	}
}
