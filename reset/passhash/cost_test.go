package passhash

import (
	"strings"
	"testing"
)

func TestUpgradeCost(t *testing.T) {
	tests := []struct {
		current, wantPrefix string
	}{
		{"pbkdf2:sha256:260000$Rewpv3MHpAj40WSB$a459588e3a76550b6aedb82ba34a90b3282a2fa3ebcdfda40536ebe7b6416f91", "pbkdf2:sha256:600000$"},
		{"$2y$05$uIpGA5xPaTjM8QyBBv5sCeHnUvkYZyQ7bhUbJ7zq2Ggjh1DlHrGO6", "$2y$10$"},
	}
	for _, tt := range tests {
		p := &Policy{UpgradeCost: true}
		h, err := p.For("1", tt.current)
		if err != nil {
			t.Fatalf("For(%q) = %v", tt.current[:12], err)
		}
		got, err := h.Hash("a password to store")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got, tt.wantPrefix) {
			t.Errorf("upgraded hash = %q…, want prefix %q", got[:20], tt.wantPrefix)
		}
		if ok, err := Verify("a password to store", got); !ok || err != nil {
			t.Errorf("upgraded hash does not verify: %v", err)
		}
		// Without UpgradeCost, auto keeps the parameters.
		h, _ = (&Policy{}).For("1", tt.current)
		if kept, _ := h.Hash("x-password"); !strings.HasPrefix(kept, tt.current[:strings.IndexByte(tt.current[1:], '$')+1]) {
			t.Errorf("without UpgradeCost the hash %q… changed parameters", kept[:20])
		}
	}
	// A cost above the floor is never lowered.
	h, _ := (&Policy{UpgradeCost: true}).For("1", "pbkdf2:sha256:900000$Rewpv3MHpAj40WSB$"+strings.Repeat("a", 64))
	if got, _ := h.Hash("x-password"); !strings.HasPrefix(got, "pbkdf2:sha256:900000$") {
		t.Errorf("a cost above the floor changed: %q", got[:24])
	}
}

// TestUpgradeCostStacks: the stacks of issue 15 whose formats carry their cost get it raised
// to the floor, keeping scheme and variant; Identity v2's fixed 1000 iterations stay.
func TestUpgradeCostStacks(t *testing.T) {
	tests := []struct {
		name, current, variant, params string
	}{
		{"phpBB 2^11", "$H$94QsX/pGS1v12vLynZTR0P1qQ3DLwD0", "$H$", "iterations=2^16 salt=8 chars"},
		{"Drupal 7 2^15", "$S$DuhXQOIxjWYo/D/6boPfV0kW.L/LoZyKpw3JYBWp/XgeetXJ.Ds4", "$S$", "iterations=2^16 salt=8 chars"},
		{"Django scrypt n=2^14", "scrypt$16384$jw2nfOvYQjWMP5jqHujW0m$8$5$O3yMBVq83ngMbvGTw34enfLPxPpGLRMvxJzVd+9Fh4g2UiSc7ns1CmLPt8H536QwtRk6xMqbzuKex9bQAmtSrw==",
			"scrypt", "n=32768 r=8 p=5 salt=22 chars"},
		{"Identity v3 10000", "AQAAAAEAACcQAAAAELbqH0KId2ahbT7rRirDaLGq9sdd7TuJNEtgJMVm/NWBAK3NDTZ+PkJCGNBl5Trf5A==",
			"v3 (0x01)", "PBKDF2-HMAC-SHA256 iterations=600000 salt=16 bytes key=32 bytes"},
		{"Identity v2 keeps 1000", "ALFIkEj8Zm9eCjXq/D/HFiUik//g/tlr6jkTKceShYOJ20vx5rV8sBbZILVoXiVHPg==",
			"v2 (0x00)", "PBKDF2-HMAC-SHA1 iterations=1000 salt=16 bytes key=32 bytes"},
		{"Spring scrypt N=2^14", "{scrypt}$e0801$f1k6vH8i5tY93ElOIBzj5PdoXQHbdXLuc9aTj9UuaN9HGGkqr0TKmSiZUE3jKbqvHAKdQqBPCB0tEj3atP3G6Q==$y9EAglLPlV7DG9wxGoFZkyFS8X22asbW2Jb+GpYStG0=",
			"{scrypt}", "n=32768 r=8 p=1 salt=64 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := (&Policy{UpgradeCost: true}).For("1", tt.current)
			if err != nil {
				t.Fatalf("For(%s) = %v", tt.name, err)
			}
			got, err := h.Hash("a password to store")
			if err != nil {
				t.Fatalf("upgraded %s Hash = %v", tt.name, err)
			}
			info, err := Describe(got)
			if err != nil || info.Variant != tt.variant || info.Params != tt.params {
				t.Errorf("Describe(upgraded %s) = %s %s, %v, want %s %s", tt.name, info.Variant, info.Params, err, tt.variant, tt.params)
			}
			if ok, err := Verify("a password to store", got); !ok || err != nil {
				t.Errorf("upgraded %s hash does not verify: %v, %v", tt.name, ok, err)
			}
		})
	}
}
