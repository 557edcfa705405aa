package passhash

import (
	"errors"
	"testing"
)

// TestRecognisedVectors: hashes made by real tools that resetgate recognises but cannot
// verify or write (libxcrypt's gost-yescrypt) are named, never verified, and never replaced
// by the fallback scheme.
func TestRecognisedVectors(t *testing.T) {
	vs := mustReadVectors(t, "testdata/recognised-vectors.jsonl")
	if len(vs) == 0 {
		t.Fatal("no recognised-only vectors")
	}
	policy := &Policy{Fallback: "sha512-crypt"}
	for i, v := range vs {
		t.Run(v.name(i), func(t *testing.T) {
			info, err := Describe(v.Hash)
			if info.Scheme != "gost-yescrypt" || !errors.Is(err, ErrUnknownFormat) {
				t.Errorf("Describe(%q) = %+v, %v, want gost-yescrypt and ErrUnknownFormat", v.Hash, info, err)
			}
			if ok, err := Verify(v.Password, v.Hash); ok || !errors.Is(err, ErrUnknownFormat) {
				t.Errorf("Verify(%q) = %v, %v, want false, ErrUnknownFormat", v.Hash, ok, err)
			}
			if h, err := policy.For("u1", v.Hash); err == nil {
				t.Errorf("Policy{Fallback}.For(%q) = %v, want an error, not the fallback", v.Hash, h)
			}
			if VerifiedBy(info) == "" {
				t.Errorf("VerifiedBy(%+v) is empty", info)
			}
		})
	}
}

// TestVerifiedByEveryVector: doctor can say how each format with a vector is verified.
func TestVerifiedByEveryVector(t *testing.T) {
	for i, v := range mustVectors(t) {
		info, err := Describe(v.Hash)
		if err != nil {
			t.Fatalf("Describe(vector %d %q) = %v", i, v.Hash, err)
		}
		if VerifiedBy(info) == "" && !info.Weak {
			t.Errorf("VerifiedBy(%s %s) is empty", info.Scheme, info.Variant)
		}
	}
}
