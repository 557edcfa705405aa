package guesses

import (
	"fmt"
	"strings"
	"testing"

	"github.com/trustelem/zxcvbn"
)

// BenchmarkOf measures Of beside trustelem's PasswordStrength, the library it replaces, on
// passwords of 16, 32 and 64 runes (64 is the most package strength scores): random ASCII, a
// passphrase, l33t look-alikes (the slowest case: every table of substitutions is tried) and
// Cyrillic (which the library scores wrongly, timed all the same).
func BenchmarkOf(b *testing.B) {
	inputs := []string{"jane.smith@example.org", "jane.smith", "jane", "smith", "resetgate"}
	for _, n := range []int{16, 32, 64} {
		for _, in := range []struct{ name, base string }{
			{"random", "xK9#mQ2$vL7!pR4@nT6w"},
			{"passphrase", "correct horse battery staple "},
			{"lookalikes", "1|7@4$5!3("},
			{"cyrillic", "пароль надёжный очень длинный "},
		} {
			p := string([]rune(strings.Repeat(in.base, 64))[:n])
			b.Run(fmt.Sprintf("%d/%s/guesses", n, in.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					Of(p, inputs)
				}
			})
			b.Run(fmt.Sprintf("%d/%s/trustelem", n, in.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					zxcvbn.PasswordStrength(p, inputs)
				}
			})
		}
	}
}
