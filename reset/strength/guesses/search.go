package guesses

import "math"

// The constants of zxcvbn's model (Wheeler 2016, section 4).
const (
	// minGuessesBeforeGrowingSequence is D in l! × ∏ guesses + D^(l−1): an attacker tries the
	// shorter sequences first, at least D guesses per pattern.
	minGuessesBeforeGrowingSequence = 10000
	// bruteforceCardinality is the guesses per rune of a run that no pattern matches.
	bruteforceCardinality = 10
	// A match that is only part of the password counts at least this many guesses, so that a
	// sequence of tiny matches is not cheaper than the characters it spells.
	minSubmatchGuessesSingleChar = 10
	minSubmatchGuessesMultiChar  = 50
)

// piece is the last piece of a candidate sequence: a match, or a bruteforce run when m is nil.
type piece struct {
	m        *Match
	from, to int // runes, inclusive
	guesses  float64
}

// candidate is the best sequence of some length found so far for a prefix of the password.
type candidate struct {
	set  bool
	last piece
	pi   float64 // the product of the pieces' guesses
	g    float64 // l! × pi + D^(l−1)
}

// cheapest finds the sequence of matches and bruteforce runs covering t with the fewest
// guesses, with zxcvbn's dynamic programme on rune offsets: for each prefix ending at rune k
// and each sequence length l it keeps the best sequence found, unless a sequence of length l or
// less already covers that prefix with as few guesses (the search zxcvbn describes, pruning
// included, so that the result is the same). Bruteforce runs are tried from every rune
// boundary, but never right after another run, which one longer run always beats.
func (s *scorer) cheapest(t text, ms []*Match) Estimate {
	n := len(t.runes)
	if n == 0 {
		return Estimate{Guesses: 1, Score: scoreOf(1)}
	}
	// best[k*(n+1)+l]: sequences of l pieces covering runes 0..k.
	best := make([]candidate, n*(n+1))
	at := func(k, l int) *candidate { return &best[k*(n+1)+l] }
	// fact[l] is l!, penalty[l] is D^(l−1).
	fact, penalty := make([]float64, n+1), make([]float64, n+1)
	for l := 1; l <= n; l++ {
		fact[l], penalty[l] = factorial(l), pow10k(l-1)
	}
	update := func(p piece, l int) {
		pi := p.guesses
		if l > 1 {
			pi *= at(p.from-1, l-1).pi
		}
		g := fact[l]*pi + penalty[l]
		for c := 1; c <= l; c++ {
			if o := at(p.to, c); o.set && o.g <= g {
				return
			}
		}
		*at(p.to, l) = candidate{set: true, last: p, pi: pi, g: g}
	}

	brute := make([]float64, n+1) // brute[r] is the estimate for a run of r runes
	for r := 1; r <= n; r++ {
		brute[r] = bruteforceGuesses(r)
	}
	byEnd := make([][]*Match, n)
	for _, m := range ms { // ms is ordered by I, so each list is too
		byEnd[m.J] = append(byEnd[m.J], m)
	}
	for k := 0; k < n; k++ {
		for _, m := range byEnd[k] {
			p := piece{m: m, from: m.I, to: m.J, guesses: s.guesses(m, n)}
			if m.I == 0 {
				update(p, 1)
				continue
			}
			for l := 1; l < n; l++ {
				if at(m.I-1, l).set {
					update(p, l+1)
				}
			}
		}
		update(piece{from: 0, to: k, guesses: brute[k+1]}, 1)
		for i := 1; i <= k; i++ {
			p := piece{from: i, to: k, guesses: brute[k-i+1]}
			for l := 1; l < n; l++ {
				if c := at(i-1, l); c.set && c.last.m != nil {
					update(p, l+1)
				}
			}
		}
	}

	// The cheapest length for the whole password; on a tie, the longer sequence.
	length, g := 0, math.Inf(1)
	for l := 1; l <= n; l++ {
		if c := at(n-1, l); c.set && (c.g < g || c.g == g && l > length) {
			length, g = l, c.g
		}
	}
	seq := make([]*Match, length)
	for k, l := n-1, length; l > 0; l-- {
		p := at(k, l).last
		m := p.m
		if m == nil {
			m = &Match{Pattern: "bruteforce", Token: t.token(p.from, p.to), I: p.from, J: p.to, Guesses: p.guesses}
		}
		seq[l-1] = m
		k = p.from - 1
	}
	return Estimate{Guesses: g, Score: scoreOf(g), Sequence: seq}
}

// bruteforceGuesses is the estimate for a run of n runes that no pattern explains: 10^n, but
// one more than the least a match over the same runes counts, so that the match wins.
func bruteforceGuesses(n int) float64 {
	g := math.Pow(bruteforceCardinality, float64(n))
	if n == 1 {
		return max(g, minSubmatchGuessesSingleChar+1)
	}
	return max(g, minSubmatchGuessesMultiChar+1)
}
