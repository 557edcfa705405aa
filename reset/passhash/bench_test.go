package passhash

import "testing"

// BenchmarkHash measures one new hash per scheme at New's default cost: the time a reset
// spends hashing, and the CPU budget the hashing semaphore shares out.
func BenchmarkHash(b *testing.B) {
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			h, err := New(name)
			if err != nil {
				b.Fatalf("New(%q) = %v", name, err)
			}
			for b.Loop() {
				if _, err := h.Hash("correct horse battery staple"); err != nil {
					b.Fatalf("Hash = %v", err)
				}
			}
		})
	}
}

// BenchmarkVerify measures verification of one real framework vector per format family.
func BenchmarkVerify(b *testing.B) {
	seen := map[string]bool{}
	for _, v := range mustVectors(b) {
		if seen[v.Scheme+v.Variant] {
			continue
		}
		seen[v.Scheme+v.Variant] = true
		b.Run(v.Scheme+"/"+v.Variant, func(b *testing.B) {
			for b.Loop() {
				if ok, err := Verify(v.Password, v.Hash); !ok || err != nil {
					b.Fatalf("Verify = %v, %v", ok, err)
				}
			}
		})
	}
}
