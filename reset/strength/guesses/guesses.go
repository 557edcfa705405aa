// Package guesses estimates how many guesses an attacker needs for a password, the way zxcvbn
// does (Wheeler, "zxcvbn: Low-Budget Password Strength Estimation", USENIX Security 2016): it
// finds every dictionary word, l33t or reversed word, keyboard walk, repeat, sequence, recent
// year and date in the password, estimates the guesses for each, and takes the sequence of
// patterns and bruteforce runs covering the password that needs the fewest guesses.
//
// For ASCII passwords its results are those of github.com/trustelem/zxcvbn v1.0.1, whose word
// lists and keyboard graphs it embeds (see data/LICENSE); unlike that library it works on rune
// boundaries throughout, so that passwords in any script are scored correctly, and it builds
// nothing at start-up: the lists are searched in place in the binary's read-only data, so an
// idle process carries none of them on its heap.
//
// Package strength uses it to judge new passwords.
package guesses

import (
	"math"
	"slices"
	"time"
	"unicode/utf8"
)

// Match is one pattern found in a password, or a run of bruteforce characters in an
// [Estimate]'s sequence.
//
// I and J are rune offsets, not byte offsets: Token is the password's runes I to J inclusive,
// string([]rune(password)[I:J+1]).
type Match struct {
	// Pattern is one of "dictionary", "spatial", "repeat", "sequence", "regex", "date" and,
	// in a sequence only, "bruteforce".
	Pattern string
	Token   string
	I, J    int
	// Guesses is the estimate for this pattern alone, at least 10 (one rune) or 50 (more)
	// when the match is only part of the password.
	Guesses float64

	// Dictionary matches: the list ("passwords", "english_wikipedia", "female_names",
	// "male_names", "surnames", "us_tv_and_film" or "user_inputs"), the word as listed
	// (lowercase, unreversed, without substitutions), its rank from 1, whether Token spells it
	// with l33t substitutions and which (pairs of bytes: the character typed, then the letter
	// it stands for, e.g. "4a3e"), and whether Token is the word backwards.
	DictionaryName string
	MatchedWord    string
	Rank           int
	L33t           bool
	Subs           string
	Reversed       bool

	// Spatial matches: the keyboard ("qwerty", "dvorak", "keypad", "mac_keypad"), how often the
	// walk changes direction and how many of its keys are shifted.
	Graph        string
	Turns        int
	ShiftedCount int

	// Repeat matches: the repeated part, its own estimate and how many times it occurs.
	BaseToken   string
	BaseGuesses float64
	RepeatCount int

	// Sequence matches: "lower", "upper", "digits" or "unicode", and the direction.
	SequenceName string
	Ascending    bool

	// Regex matches: "recent_year", zxcvbn's only one.
	RegexName string

	// Date matches: the date read and the separator between its parts ("" if none). Regex
	// matches have the Year too.
	Year, Month, Day int
	Separator        string
}

// Estimate is the verdict on a password.
type Estimate struct {
	// Guesses is the number of guesses for the cheapest sequence: l! × ∏ guesses + 10000^(l−1)
	// for its l pieces.
	Guesses float64
	// Score is 0 to 4, from Guesses with zxcvbn's thresholds: under 10^3, 10^6, 10^8 and 10^10
	// (each plus 5).
	Score int
	// Sequence is the cheapest way to guess the password, piece after piece: the tokens, in
	// order, spell the password.
	Sequence []*Match
}

// Of estimates password, given userInputs (the user's own words, the site's name) as an extra
// dictionary, "user_inputs", ranked in the order given. An empty password takes one guess. A
// password that is not valid UTF-8 gets the zero Estimate, as in zxcvbn: it cannot be judged.
// Of is safe for concurrent use.
func Of(password string, userInputs []string) Estimate {
	if !utf8.ValidString(password) {
		return Estimate{}
	}
	return estimate(newText(password), userInputs, time.Now().Year())
}

// estimate scores t; year is the reference year from which years and dates are counted (zxcvbn
// v1.0.1 takes the current year).
func estimate(t text, userInputs []string, year int) Estimate {
	lists := append(builtinOnly(), userList(userInputs))
	s := scorer{year: year}
	ms := s.omnimatch(t, lists)
	return s.cheapest(t, ms)
}

// scorer carries what the matchers and estimates share during one call.
type scorer struct {
	year int
}

// text is a password split into runes, with the byte offset of each rune (and of the end), so
// that tokens are slices of the original string.
type text struct {
	s     string
	runes []rune
	at    []int // at[i] is the byte offset of rune i; at[len(runes)] == len(s)
}

func newText(s string) text {
	t := text{s: s, runes: make([]rune, 0, len(s)), at: make([]int, 0, len(s)+1)}
	for i, r := range s {
		t.runes = append(t.runes, r)
		t.at = append(t.at, i)
	}
	t.at = append(t.at, len(s))
	return t
}

// token returns runes i to j inclusive.
func (t text) token(i, j int) string { return t.s[t.at[i]:t.at[j+1]] }

// omnimatch returns every match in t, ordered by I then J.
func (s *scorer) omnimatch(t text, lists []wordList) []*Match {
	var ms []*Match
	ms = dictionaryMatches(ms, t, lists)
	ms = reversedMatches(ms, t, lists)
	ms = l33tMatches(ms, t, lists)
	ms = spatialMatches(ms, t)
	ms = s.repeatMatches(ms, t)
	ms = sequenceMatches(ms, t)
	ms = yearMatches(ms, t)
	ms = s.dateMatches(ms, t)
	slices.SortStableFunc(ms, func(a, b *Match) int {
		if a.I != b.I {
			return a.I - b.I
		}
		return a.J - b.J
	})
	return ms
}

// scoreOf maps guesses to zxcvbn's 0–4 score.
func scoreOf(guesses float64) int {
	const delta = 5
	switch {
	case guesses < 1e3+delta:
		return 0
	case guesses < 1e6+delta:
		return 1
	case guesses < 1e8+delta:
		return 2
	case guesses < 1e10+delta:
		return 3
	}
	return 4
}

// factorial is n! as a float64 (n is at most a password's length in runes).
func factorial(n int) float64 {
	f := 1.0
	for i := 2; i <= n; i++ {
		f *= float64(i)
	}
	return f
}

// choose is the binomial coefficient C(n, k) as a float64.
func choose(n, k int) float64 {
	if k > n {
		return 0
	}
	r := 1.0
	for d := 1; d <= k; d++ {
		r = r * float64(n) / float64(d)
		n--
	}
	return r
}

// pow10k is 10000^e, the penalty for a sequence of e+1 pieces.
func pow10k(e int) float64 { return math.Pow(minGuessesBeforeGrowingSequence, float64(e)) }
