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
