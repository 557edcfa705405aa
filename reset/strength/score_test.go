package strength

import (
	"slices"
	"testing"
)

// The estimator itself is tested in package guesses, against github.com/trustelem/zxcvbn as an
// oracle; these cases check what the checker relies on for passwords outside ASCII.
func TestEstimateStrengthUnicode(t *testing.T) {
	tests := []struct {
		name      string
		password  string
		wantScore int
		wantSeq   []string // the pattern of each piece
	}{
		{"Cyrillic passphrase", "пароль надёжный очень длинный", 4, []string{"bruteforce"}},
		{"accented word and a common password", "Müller password", 3, []string{"bruteforce", "dictionary"}},
		{"repeated Cyrillic word", "парольпарольпароль", 2, []string{"repeat"}},
		{"single accented letter", "é", 0, []string{"bruteforce"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := estimateStrength(tt.password, nil)
			var seq []string
			for _, m := range got.Sequence {
				seq = append(seq, m.Pattern)
			}
			if got.Score != tt.wantScore || !slices.Equal(seq, tt.wantSeq) {
				t.Errorf("estimateStrength(%q) = score %d, sequence %q (%g guesses), want score %d, sequence %q",
					tt.password, got.Score, seq, got.Guesses, tt.wantScore, tt.wantSeq)
			}
			// The sequence covers the password, piece after piece.
			var joined string
			for _, m := range got.Sequence {
				joined += m.Token
			}
			if joined != tt.password {
				t.Errorf("estimateStrength(%q) sequence covers %q", tt.password, joined)
			}
		})
	}
}
