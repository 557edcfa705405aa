package guesses

import (
	"math"
	"strings"
	"unicode/utf8"
)

// minYearSpace is the fewest years an attacker is assumed to try for a year or a date, however
// close it is to the reference year.
const minYearSpace = 20

// guesses returns m's estimate, computed once and kept in m.Guesses, for a match inside a
// password of n runes.
func (s *scorer) guesses(m *Match, n int) float64 {
	if m.Guesses > 0 {
		return m.Guesses
	}
	runes := utf8.RuneCountInString(m.Token)
	least := 1.0
	if runes < n {
		least = minSubmatchGuessesMultiChar
		if runes == 1 {
			least = minSubmatchGuessesSingleChar
		}
	}
	var g float64
	switch m.Pattern {
	case "dictionary":
		g = dictionaryGuesses(m)
	case "spatial":
		g = spatialGuesses(m, runes)
	case "repeat":
		g = m.BaseGuesses * float64(m.RepeatCount)
	case "sequence":
		g = sequenceGuesses(m, runes)
	case "regex":
		g = s.yearSpace(m.Year)
	case "date":
		g = s.yearSpace(m.Year) * 365
		if m.Separator != "" {
			g *= 4 // about four likely separators
		}
	}
	m.Guesses = max(g, least)
	return m.Guesses
}

// yearSpace is how many years an attacker tries to reach year from the reference year.
func (s *scorer) yearSpace(year int) float64 {
	d := year - s.year
	if d < 0 {
		d = -d
	}
	return float64(max(d, minYearSpace))
}

// dictionaryGuesses is the word's rank times the ways to capitalise it, to substitute its
// letters, and 2 if it is reversed. It records the rank as m.BaseGuesses, as zxcvbn does.
func dictionaryGuesses(m *Match) float64 {
	m.BaseGuesses = float64(m.Rank)
	g := m.BaseGuesses * uppercaseVariations(m.Token) * l33tVariations(m)
	if m.Reversed {
		g *= 2
	}
	return g
}

// uppercaseVariations is how many capitalisations an attacker tries to reach token's: 1 for
// none, 2 for the common ones (first or last letter, all capitals), otherwise every way to put
// up to min(U, L) capitals among the U+L letters. Only A–Z and a–z count, as in zxcvbn.
func uppercaseVariations(token string) float64 {
	upper, lower, n := 0, 0, 0
	first, last := false, false
	for _, r := range token {
		isUpper := 'A' <= r && r <= 'Z'
		if isUpper {
			upper++
		} else if 'a' <= r && r <= 'z' {
			lower++
		}
		if n == 0 {
			first = isUpper
		}
		last = isUpper
		n++
	}
	switch {
	case upper == 0:
		return 1
	case n >= 2 && upper == 1 && (first || last), lower == 0:
		return 2
	}
	return mixes(upper, lower)
}

// l33tVariations is, for each substitution in m, the ways to substitute some of the letters:
// 2 if all of them are (or none), otherwise every way to pick up to min(S, U) of the S+U
// substituted and unsubstituted letters. Capitals do not count here.
func l33tVariations(m *Match) float64 {
	if !m.L33t {
		return 1
	}
	lower := strings.ToLower(m.Token)
	v := 1.0
	for k := 0; k+1 < len(m.Subs); k += 2 {
		subbed, letter := rune(m.Subs[k]), rune(m.Subs[k+1])
		s, u := 0, 0
		for _, r := range lower {
			switch r {
			case subbed:
				s++
			case letter:
				u++
			}
		}
		if s == 0 || u == 0 {
			v *= 2
			continue
		}
		v *= mixes(s, u)
	}
	return v
}

// mixes is how many ways there are to put up to min(a, b) of one kind among a+b characters
// of two kinds: C(a+b, 1) + … + C(a+b, min(a, b)). zxcvbn counts capitals among letters,
// substituted among unsubstituted letters and shifted among unshifted keys this way.
func mixes(a, b int) float64 {
	v := 0.0
	for i := 1; i <= min(a, b); i++ {
		v += choose(a+b, i)
	}
	return v
}

// spatialGuesses counts the walks of up to the token's length with up to its number of turns,
// from any key, on a keyboard of its size and average degree, times the ways to shift some of
// its keys. Both keyboards count as qwerty, both keypads as the PC one, as in zxcvbn.
func spatialGuesses(m *Match, runes int) float64 {
	keys, degree := float64(qwertyKeys), qwertyDegree
	if m.Graph == "keypad" || m.Graph == "mac_keypad" {
		keys, degree = float64(keypadKeys), keypadDegree
	}
	g := 0.0
	for i := 2; i <= runes; i++ {
		for j := 1; j <= min(m.Turns, i-1); j++ {
			g += choose(i-1, j-1) * keys * math.Pow(degree, float64(j))
		}
	}
	if s := m.ShiftedCount; s > 0 {
		u := runes - s
		if u == 0 {
			return g * 2
		}
		g *= mixes(s, u)
	}
	return g
}

// sequenceGuesses is the token's length times the likely starting points: 4 for the obvious
// ones (a, z, 0, 1, 9), 10 for another digit, 26 otherwise; twice that if it descends.
func sequenceGuesses(m *Match, runes int) float64 {
	first, _ := utf8.DecodeRuneInString(m.Token)
	base := 26.0
	switch {
	case strings.ContainsRune("aAzZ019", first):
		base = 4
	case '0' <= first && first <= '9':
		base = 10
	}
	if !m.Ascending {
		base *= 2
	}
	return base * float64(runes)
}
