package guesses

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
)

// piece is how a test describes a match of a sequence.
func pieceOf(m *Match) string { return fmt.Sprintf("%s %q %d-%d", m.Pattern, m.Token, m.I, m.J) }

// TestOfUnicode checks passwords outside ASCII, where the offsets are runes and every pattern
// must still be found: the cases trustelem gets wrong.
func TestOfUnicode(t *testing.T) {
	tests := []struct {
		name      string
		password  string
		inputs    []string
		wantScore int
		want      []string // the sequence's pieces
	}{
		{"Cyrillic passphrase", "пароль надёжный очень длинный", nil, 4, []string{`bruteforce "пароль надёжный очень длинный" 0-28`}},
		{"word after an accented one", "Müller password", nil, 3, []string{`bruteforce "Müller " 0-6`, `dictionary "password" 7-14`}},
		{"repeated Cyrillic word", "парольпарольпароль", nil, 2, []string{`repeat "парольпарольпароль" 0-17`}},
		{"Cyrillic user input", "Иванов1987", []string{"иванов"}, 1, []string{`dictionary "Иванов" 0-5`, `regex "1987" 6-9`}},
		{"reversed user input", "вонави", []string{"иванов"}, 0, []string{`dictionary "вонави" 0-5`}},
		{"keyboard walk after an accent", "é;lkjhgf", nil, 1, []string{`bruteforce "é" 0-0`, `spatial ";lkjhgf" 1-7`}},
		{"date with Greek around it", "λ12.05.1987λ", nil, 3, []string{`bruteforce "λ" 0-0`, `date "12.05.1987" 1-10`, `bruteforce "λ" 11-11`}},
		{"Cyrillic alphabet", "абвгдежз", nil, 0, []string{`sequence "абвгдежз" 0-7`}},
		{"single accented letter", "é", nil, 0, []string{`bruteforce "é" 0-0`}},
		{"empty", "", nil, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Of(tt.password, tt.inputs)
			var pieces []string
			var joined string
			for _, m := range got.Sequence {
				pieces = append(pieces, pieceOf(m))
				joined += m.Token
				if r := []rune(tt.password); string(r[m.I:m.J+1]) != m.Token {
					t.Errorf("Of(%q): token %q is not runes %d-%d", tt.password, m.Token, m.I, m.J)
				}
			}
			if got.Score != tt.wantScore || !slices.Equal(pieces, tt.want) {
				t.Errorf("Of(%q) = score %d, %q (%g guesses), want score %d, %q", tt.password, got.Score, pieces, got.Guesses, tt.wantScore, tt.want)
			}
			if joined != tt.password {
				t.Errorf("Of(%q) sequence spells %q", tt.password, joined)
			}
		})
	}
}

// TestZxcvbnUnicodeDefect pins the defect of the oracle that this package does not reproduce:
// trustelem/zxcvbn v1.0.1 extends the sequences ending at the previous rune's first byte but
// reads their product of guesses at the byte before the new piece, where nothing is stored, so a
// password with multi-byte characters can come out with zero guesses. If a new version scores
// it sensibly, TestOracle can take in non-ASCII passwords.
func TestZxcvbnUnicodeDefect(t *testing.T) {
	const p = "пароль надёжный очень длинный"
	if got := zxcvbn.PasswordStrength(p, nil); got.Score != 0 || got.Guesses != 0 {
		t.Errorf("zxcvbn.PasswordStrength(%q) = score %d, %g guesses, want the v1.0.1 defect (0, 0)", p, got.Score, got.Guesses)
	}
	if got := Of(p, nil); got.Score != 4 {
		t.Errorf("Of(%q) = score %d, want 4", p, got.Score)
	}
}

func TestOfInvalidUTF8(t *testing.T) {
	if got := Of("\xff\xfepassword", nil); got.Guesses != 0 || got.Score != 0 || got.Sequence != nil {
		t.Errorf("Of(invalid UTF-8) = %+v, want the zero Estimate", got)
	}
}

func TestMatchers(t *testing.T) {
	tests := []struct {
		password string
		want     string // a match that must be among omnimatch's
	}{
		{"aabaab", `repeat "aabaab" 0-5 base "aab" ×2`},
		{"aaaaa", `repeat "aaaaa" 0-4 base "a" ×5`},
		{"abcabcabcx", `repeat "abcabcabc" 0-8 base "abc" ×3`},
		{"aabaabaabaab", `repeat "aabaabaabaab" 0-11 base "aab" ×4`},
		{"ab\nab\n", `sequence "ab" 0-1`},
		{"zyxw", `sequence "zyxw" 0-3`},
		{"1357", `sequence "1357" 0-3`},
		{"2015_06_04", `date "2015_06_04" 0-9 2015-4-6`},
		{"111504", `date "111504" 0-5 2004-11-15`},
		{"1191", `date "1191" 0-3 2001-9-11`}, // closer to the reference year than 1991-1-1
		{"x19870", `regex "1987" 1-4`},
		{"p4ssw0rd", `dictionary "p4ssw0rd" 0-7 password l33t 0o4a`},
		{"drowssap", `dictionary "drowssap" 0-7 password reversed`},
		{"qwER43@!", `spatial "qwER43@!" 0-7 qwerty turns 3 shifted 4`},
		{"7895123", `spatial "7895123" 0-6 keypad turns 3 shifted 0`},
	}
	lists := builtinOnly()
	for _, tt := range tests {
		s := scorer{year: 2026}
		var got []string
		for _, m := range s.omnimatch(newText(tt.password), lists) {
			d := pieceOf(m)
			switch m.Pattern {
			case "repeat":
				d += fmt.Sprintf(" base %q ×%d", m.BaseToken, m.RepeatCount)
			case "date":
				d += fmt.Sprintf(" %d-%d-%d", m.Year, m.Month, m.Day)
			case "dictionary":
				d += " " + m.MatchedWord
				if m.L33t {
					d += " l33t " + m.Subs
				}
				if m.Reversed {
					d += " reversed"
				}
			case "spatial":
				d += fmt.Sprintf(" %s turns %d shifted %d", m.Graph, m.Turns, m.ShiftedCount)
			}
			got = append(got, d)
		}
		if !slices.Contains(got, tt.want) {
			t.Errorf("omnimatch(%q) = %q, want it to contain %q", tt.password, got, tt.want)
		}
	}
}

func TestL33tSubs(t *testing.T) {
	tests := []struct {
		password string
		want     []sub
	}{
		{"password", nil},
		{"p4ss", []sub{"4a"}},
		{"p4@s", []sub{"4a", "@a"}},
		{"1", []sub{"1i", "1l"}},
		{"1|", []sub{"1i", "1i|l", "1l", "1l|i", "|i", "|l"}},
		{"$5", []sub{"$s", "5s"}},
	}
	for _, tt := range tests {
		if got := l33tSubs(tt.password); !slices.Equal(got, tt.want) {
			t.Errorf("l33tSubs(%q) = %q, want %q", tt.password, got, tt.want)
		}
	}
}

func TestScoreOf(t *testing.T) {
	for _, tt := range []struct {
		guesses float64
		want    int
	}{{1, 0}, {1004, 0}, {1005, 1}, {1e6 + 4, 1}, {1e6 + 5, 2}, {1e8 + 5, 3}, {1e10 + 4, 3}, {1e10 + 5, 4}, {1e20, 4}} {
		if got := scoreOf(tt.guesses); got != tt.want {
			t.Errorf("scoreOf(%g) = %d, want %d", tt.guesses, got, tt.want)
		}
	}
}

func TestUppercaseVariations(t *testing.T) {
	for _, tt := range []struct {
		token string
		want  float64
	}{{"password", 1}, {"Password", 2}, {"passworD", 2}, {"PASSWORD", 2}, {"PassWord", 28 + 8}, {"pAsswOrd", 28 + 8}, {"Ümlaut", 1}, {"1234", 1}, {"A", 2}} {
		if got := uppercaseVariations(tt.token); got != tt.want {
			t.Errorf("uppercaseVariations(%q) = %g, want %g", tt.token, got, tt.want)
		}
	}
}

func TestUserList(t *testing.T) {
	l := userList([]string{"Jane", "smith", "", "jane"})
	var got []string
	for k := range l.n {
		got = append(got, fmt.Sprintf("%s:%d", l.word(k), l.rank(k)))
	}
	// "jane" keeps the rank of its last occurrence; the empty input is no word.
	if want := []string{"jane:4", "smith:2"}; !slices.Equal(got, want) {
		t.Errorf("userList = %q, want %q", got, want)
	}
}

// TestRunesNotBytes checks that every match of a long mixed password lies on rune boundaries.
func TestRunesNotBytes(t *testing.T) {
	p := strings.Repeat("Zwölf Boxkämpfer 1987 qwerty ", 2)
	r := []rune(p)
	s := scorer{year: 2026}
	for _, m := range s.omnimatch(newText(p), builtinOnly()) {
		if m.I < 0 || m.J >= len(r) || string(r[m.I:m.J+1]) != m.Token || !utf8.ValidString(m.Token) {
			t.Errorf("match %s is not runes %d-%d of %q", pieceOf(m), m.I, m.J, p)
		}
	}
}
