package strength

import (
	"math"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"
	"github.com/trustelem/zxcvbn/matching"
	"github.com/trustelem/zxcvbn/scoring"
)

// maxScoredRunes is how much of a password zxcvbn sees. Its matchers look up every substring
// in every dictionary and its repeat matcher backtracks, so its cost grows faster than the square
// of the length: one call cost up to about 4 ms of CPU at 32 runes, 23 ms at 64 and 116 ms at 128
// (the maximum length resetgate accepts) when this was written (see BenchmarkCheck), and a
// checker that spends over 100 ms per request, twice when the password holds the user's own
// words, is a DoS lever (SECURITY.md RQ-PWD-10). Scoring a prefix errs on the strict side: a weak start is still
// weak, and an attacker must produce the whole prefix too, so a strong start makes the whole
// strong. The one blind spot is zxcvbn's: it rates a fragment of a dictionary word cut at the
// 64th rune as random characters, so a long password whose only weakness straddles the cut can
// pass, which needs more than 64 runes of mostly patterned text. The checks that need the whole
// password (the common list, equality with the user's address or name) do not go through zxcvbn
// and see all of it.
const maxScoredRunes = 64

// estimate is zxcvbn's verdict on password, which must be valid UTF-8.
type estimate struct {
	guesses float64
	score   int            // 0 to 4, from guesses with zxcvbn's thresholds
	seq     []*match.Match // the cheapest way to guess it, in order
}

// estimateStrength scores password with zxcvbn, given userInputs as an extra dictionary.
//
// zxcvbn.PasswordStrength mixes byte and rune offsets when it combines matches: v1.0.1 extends
// the sequences that end at the previous rune's first byte but reads their product of guesses at
// the byte just before the new piece, the previous rune's last byte, where nothing is stored, so
// it multiplies by zero. A password with multi-byte characters can thus come out with zero
// guesses: "пароль надёжный очень длинный" scores 0. ASCII passwords go through the library
// unchanged; the others use its matchers and guess estimates, combined by [cheapestSequence]
// on rune boundaries (SECURITY.md RQ-PWD-04: Unicode passwords must be accepted).
func estimateStrength(password string, userInputs []string) estimate {
	if isASCII(password) {
		r := zxcvbn.PasswordStrength(password, userInputs)
		return estimate{guesses: r.Guesses, score: r.Score, seq: r.Sequence}
	}
	return cheapestSequence(password, matching.Omnimatch(password, userInputs))
}

// cheapestSequence finds, like zxcvbn's scoring.MostGuessableMatchSequence, the sequence of
// matches and bruteforce runs covering password that minimises l! × ∏ guesses + 10000^(l−1) (the
// attacker must try the l patterns in every order, and shorter sequences first), but with every
// position a rune boundary. For each rune offset r and sequence length l it keeps the smallest
// product of guesses of l pieces covering the first r runes; that is exact, since for a fixed l
// the objective only grows with the product.
func cheapestSequence(password string, matches []*match.Match) estimate {
	// runeAt maps the byte offset of each rune start, and len(password), to a rune index.
	runeAt := make([]int, len(password)+1)
	for i := range runeAt {
		runeAt[i] = -1
	}
	var starts []int
	for i := range password {
		runeAt[i] = len(starts)
		starts = append(starts, i)
	}
	n := len(starts)
	runeAt[len(password)] = n
	starts = append(starts, len(password))
	if n == 0 {
		return estimate{guesses: 1, score: 0}
	}

	type piece struct {
		from    int // first rune
		guesses float64
		m       *match.Match // nil for a bruteforce run
	}
	endingAt := make([][]piece, n+1)
	for _, m := range matches {
		if m.I < 0 || m.J < m.I || m.J >= len(password) || runeAt[m.I] < 0 {
			continue
		}
		_, size := utf8.DecodeRuneInString(password[m.J:])
		end := m.J + size
		// Keep only matches that cover whole runes and say what they cover: the library's
		// dictionary and sequence matchers can stop inside a multi-byte rune, and its repeat
		// matcher can lose track of offsets after one.
		if runeAt[end] < 0 || m.Token != password[m.I:end] {
			continue
		}
		endingAt[runeAt[end]] = append(endingAt[runeAt[end]], piece{runeAt[m.I], guessesOf(m, password), m})
	}

	// best[r][l] is the smallest product of guesses of l pieces that cover runes [0, r); last
	// is the final piece of that sequence.
	best := make([][]float64, n+1)
	last := make([][]piece, n+1)
	for r := range best {
		best[r] = make([]float64, n+1)
		last[r] = make([]piece, n+1)
		for l := range best[r] {
			best[r][l] = math.Inf(1)
		}
	}
	best[0][0] = 1
	extend := func(to int, p piece) {
		for l := 0; l < n; l++ {
			if g := best[p.from][l] * p.guesses; g < best[to][l+1] {
				best[to][l+1] = g
				last[to][l+1] = p
			}
		}
	}
	for r := 1; r <= n; r++ {
		for _, p := range endingAt[r] {
			extend(r, p)
		}
		for from := 0; from < r; from++ {
			extend(r, piece{from: from, guesses: bruteforceGuesses(r - from)})
		}
	}

	guesses, length := math.Inf(1), 0
	factorial := 1.0
	for l := 1; l <= n; l++ {
		factorial *= float64(l)
		g := factorial*best[n][l] + math.Pow(scoring.MinGuessesBeforeGrowingSequence, float64(l-1))
		if g < guesses {
			guesses, length = g, l
		}
	}
	seq := make([]*match.Match, length)
	for r, l := n, length; l > 0; l-- {
		p := last[r][l]
		m := p.m
		if m == nil {
			i, j := starts[p.from], starts[r]
			m = &match.Match{Pattern: "bruteforce", Token: password[i:j], I: i, J: j - 1, Guesses: p.guesses}
		}
		seq[l-1] = m
		r = p.from
	}
	return estimate{guesses: guesses, score: scoreOf(guesses), seq: seq}
}

// guessesOf is zxcvbn's guess estimate for m, except that a repeat of a non-ASCII base is
// re-scored here: the library scores the base with its own sequence search (wrong for
// multi-byte text, see [estimateStrength]) and counts the repeats as runes over bytes.
func guessesOf(m *match.Match, password string) float64 {
	if m.Pattern == "repeat" && m.BaseToken != "" && !isASCII(m.BaseToken) {
		m.BaseGuesses = cheapestSequence(m.BaseToken, matching.Omnimatch(m.BaseToken, nil)).guesses
		m.RepeatCount = utf8.RuneCountInString(m.Token) / utf8.RuneCountInString(m.BaseToken)
		m.Guesses = 0 // force EstimateGuesses to recompute from the fields above
	}
	return scoring.EstimateGuesses(m, password)
}

// bruteforceGuesses is zxcvbn's estimate for a run of n runes matched by no pattern.
func bruteforceGuesses(n int) float64 {
	g := math.Pow(scoring.BruteforceCardinality, float64(n))
	// Like zxcvbn, one more than the smallest submatch estimate, so that a pattern over the same
	// span always wins.
	if n == 1 {
		return max(g, scoring.MinSubmatchGuessesSingleChar+1)
	}
	return max(g, scoring.MinSubmatchGuessesMultiChar+1)
}

// scoreOf maps guesses to zxcvbn's 0–4 score with the library's thresholds: under 10^3, 10^6,
// 10^8 and 10^10 guesses (plus 5, as zxcvbn does).
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

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
