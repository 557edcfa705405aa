package passhash

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
)

// vector is one line of testdata/hash-vectors.jsonl: a hash made by a real framework's own
// hash function (testdata/README.md says which versions and how).
type vector struct {
	Scheme           string `json:"scheme"`
	Framework        string `json:"framework"`
	FrameworkVersion string `json:"framework_version"`
	Variant          string `json:"variant"`
	Password         string `json:"password"`
	Hash             string `json:"hash"`
}

func (v vector) name(i int) string { return fmt.Sprintf("%s/%s/%d", v.Scheme, v.Variant, i) }

// weakVectors are the vector variants resetgate verifies but never writes.
var weakVectors = map[string]bool{
	"apr1-md5 (-m)": true, "sha1 {SHA} (-s)": true, "md5crypt": true, "PASSWORD()": true,
	"md5()": true, "sha1()": true, "{sha256}": true, "{noop}": true,
}

// mustVectors returns the framework vectors (hash-vectors.jsonl), the stack vectors
// (stack-vectors.jsonl, made by testdata/make-stack-vectors.py) and libxcrypt's yescrypt
// (yescrypt-vectors.jsonl, made by testdata/make-yescrypt-vectors.py).
func mustVectors(t testing.TB) []vector {
	t.Helper()
	vs := mustReadVectors(t, "testdata/hash-vectors.jsonl")
	if len(vs) < 100 {
		t.Fatalf("only %d vectors", len(vs))
	}
	vs = append(vs, mustReadVectors(t, "testdata/stack-vectors.jsonl")...)
	return append(vs, mustReadVectors(t, "testdata/yescrypt-vectors.jsonl")...)
}

func mustReadVectors(t testing.TB, path string) []vector {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open vectors: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	var vs []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var v vector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s line %d: %v", path, len(vs)+1, err)
		}
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return vs
}

// tamper changes the last letter or digit at or before i to another of the same class (hex
// digit, letter), so the result still parses and only the digest (or salt) differs.
func tamper(s string, i int) string {
	b := []byte(s)
	for ; i >= 0; i-- {
		c := &b[i]
		switch {
		case *c >= '0' && *c <= '8', *c >= 'a' && *c <= 'e', *c >= 'g' && *c <= 'y', *c >= 'A' && *c <= 'E', *c >= 'G' && *c <= 'Y':
			*c++
		case *c == '9':
			*c = '0'
		case *c == 'f':
			*c = 'a'
		case *c == 'F': // upper-case hex (MySQL) stays hex
			*c = 'A'
		case *c == 'z':
			*c = 'g'
		case *c == 'Z':
			*c = 'A'
		default:
			continue
		}
		return string(b)
	}
	panic("tamper: no letter or digit in " + s)
}

// vectorsUnderTest is every vector, or one per framework variant under the race detector
// (see raceEnabled).
func vectorsUnderTest(t testing.TB) []vector {
	if !raceEnabled {
		return mustVectors(t)
	}
	// Under the race detector only the framework vectors are sampled: the stack vectors
	// (hundreds of thousands of PBKDF2 rounds, 64 MiB scrypt) share the same code paths and
	// run in full without -race in make test's first step.
	vs := mustReadVectors(t, "testdata/hash-vectors.jsonl")
	seen := map[string]bool{}
	var sample []vector
	for _, v := range vs {
		if !seen[v.Scheme+v.Variant] {
			seen[v.Scheme+v.Variant] = true
			sample = append(sample, v)
		}
	}
	return sample
}

func wrongPassword(pw string) string {
	// Change the first byte: a change after byte 72 would still match a bcrypt hash, as it
	// does in every framework.
	if pw[0] == 'x' {
		return "y" + pw[1:]
	}
	return "x" + pw[1:]
}

func TestVectorsVerify(t *testing.T) {
	for i, v := range vectorsUnderTest(t) {
		t.Run(v.name(i), func(t *testing.T) {
			t.Parallel()
			if ok, err := Verify(v.Password, v.Hash); !ok || err != nil {
				t.Errorf("Verify(%q, %q) = %v, %v, want true, nil", v.Password, v.Hash, ok, err)
			}
			bad := tamper(v.Hash, len(v.Hash)-5)
			if ok, err := Verify(v.Password, bad); ok || err != nil {
				t.Errorf("Verify(%q, tampered %q) = %v, %v, want false, nil", v.Password, bad, ok, err)
			}
			if raceEnabled {
				return // the tampered copy already shows a mismatch is caught
			}
			wrong := wrongPassword(v.Password)
			if ok, err := Verify(wrong, v.Hash); ok || err != nil {
				t.Errorf("Verify(%q, %q) = %v, %v, want false, nil", wrong, v.Hash, ok, err)
			}
		})
	}
}

func TestVectorsRehash(t *testing.T) {
	for i, v := range vectorsUnderTest(t) {
		t.Run(v.name(i), func(t *testing.T) {
			t.Parallel()
			want, err := Describe(v.Hash)
			if err != nil {
				t.Fatalf("Describe(%q) = %v", v.Hash, err)
			}
			h, err := Identify(v.Hash)
			if weakVectors[v.Variant] {
				if !errors.Is(err, ErrWeakFormat) || !want.Weak || want.Writable {
					t.Fatalf("Identify(%q) = %v, %v (Describe %+v), want ErrWeakFormat", v.Hash, h, err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Identify(%q) = %v", v.Hash, err)
			}
			if !want.Writable || want.Weak {
				t.Errorf("Describe(%q) = %+v, want Writable and not Weak", v.Hash, want)
			}
			if max := h.MaxPasswordBytes(); max > 0 && len(v.Password) > max {
				if _, err := h.Hash(v.Password); !errors.Is(err, ErrPasswordTooLong) {
					t.Errorf("Identify(%q).Hash(%d bytes) = %v, want ErrPasswordTooLong", v.Hash, len(v.Password), err)
				}
				return
			}
			got, err := h.Hash(v.Password)
			if err != nil {
				t.Fatalf("Identify(%q).Hash(%q) = %v", v.Hash, v.Password, err)
			}
			if gotInfo, err := Describe(got); gotInfo != want || err != nil {
				t.Errorf("Describe(rehash %q) = %+v, %v, want %+v", got, gotInfo, err, want)
			}
			if got == v.Hash {
				t.Errorf("rehash of %q reused its salt", v.Hash)
			}
			if raceEnabled {
				return // TestFrameworksAcceptWrittenHashes verifies rehashes with the frameworks
			}
			if ok, err := h.Verify(v.Password, got); !ok || err != nil {
				t.Errorf("Identify(%q).Verify(%q, rehash %q) = %v, %v, want true, nil", v.Hash, v.Password, got, ok, err)
			}
		})
	}
}
