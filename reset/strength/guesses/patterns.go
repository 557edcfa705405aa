package guesses

import "strings"

// spatialMatches appends the keyboard walks of three keys or more in t: runs in which each key
// is next to the one before on one of zxcvbn's keyboards, counting the changes of direction
// (the first key starts a turn) and the shifted keys.
func spatialMatches(ms []*Match, t text) []*Match {
	r := t.runes
	for _, g := range graphs() {
		for i := 0; i < len(r)-1; {
			j, turns, shifted, last := i+1, 0, 0, -1
			if r[i] < 128 && r[i] != 0 && strings.IndexByte(g.shifted, byte(r[i])) >= 0 {
				shifted = 1
			}
			for j < len(r) {
				dir, isShifted := g.neighbour(r[j-1], r[j])
				if dir < 0 {
					break
				}
				if isShifted {
					shifted++
				}
				if dir != last {
					turns++
					last = dir
				}
				j++
			}
			if j-i > 2 {
				ms = append(ms, &Match{Pattern: "spatial", Token: t.token(i, j-1), I: i, J: j - 1,
					Graph: g.name, Turns: turns, ShiftedCount: shifted})
			}
			i = j
		}
	}
	return ms
}

// repeatMatches appends the runs of t made of a part repeated at least twice, as zxcvbn's
// regular expressions /(.+)\1+/ (greedy) and /(.+?)\1+/ (lazy) find them, from left to right,
// without overlap: at the first position where a repeat starts, the longer of the two readings
// wins ("aabaab" is "aab" twice, "aaaaa" is "a" five times), with the shortest part that
// builds it. The part's own estimate is that of its cheapest sequence, without user inputs.
// As in those expressions, no part contains a line feed.
func (s *scorer) repeatMatches(ms []*Match, t text) []*Match {
	r := t.runes
	for from := 0; from < len(r); {
		i, short, long := -1, 0, 0
		for p := from; p < len(r) && i < 0; p++ {
			for l := 1; p+2*l <= len(r) && r[p+l-1] != '\n'; l++ {
				if equalRunes(r[p:p+l], r[p+l:p+2*l]) {
					if short == 0 {
						short = l
					}
					long = l
					i = p
				}
			}
		}
		if i < 0 {
			break
		}
		// Both readings take as many copies as follow; the lazy one's part is the shortest.
		lazyEnd := extend(r, i, short)
		greedyEnd := extend(r, i, long)
		end, part := lazyEnd, short
		if greedyEnd-i > lazyEnd-i {
			end, part = greedyEnd, period(r[i:greedyEnd])
		}
		base := t.token(i, i+part-1)
		baseText := newText(base)
		est := s.cheapest(baseText, s.omnimatch(baseText, builtinOnly()))
		ms = append(ms, &Match{Pattern: "repeat", Token: t.token(i, end-1), I: i, J: end - 1,
			BaseToken: base, BaseGuesses: est.Guesses, RepeatCount: (end - i) / part})
		from = end
	}
	return ms
}

// extend returns the end of the copies of r[i:i+l] that follow one another from i.
func extend(r []rune, i, l int) int {
	end := i + l
	for end+l <= len(r) && equalRunes(r[i:i+l], r[end:end+l]) {
		end += l
	}
	return end
}

// period returns the length of the shortest part of which r is two or more copies.
func period(r []rune) int {
	for l := 1; 2*l <= len(r); l++ {
		if len(r)%l != 0 {
			continue
		}
		ok := true
		for k := l; k < len(r) && ok; k += l {
			ok = equalRunes(r[:l], r[k:k+l])
		}
		if ok {
			return l
		}
	}
	return len(r)
}

func equalRunes(a, b []rune) bool {
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return len(a) == len(b)
}

// builtinOnly returns zxcvbn's lists, with room for the user's; a repeated part is scored
// without them, as in zxcvbn.
func builtinOnly() []wordList {
	lists := make([]wordList, 0, len(builtinLists)+1)
	for i := range builtinLists {
		lists = append(lists, builtin(i))
	}
	return lists
}

// sequenceMatches appends the runs of t whose code points step by the same amount, between 1
// and 5 up or down, of at least three runes (two for a step of 1), with zxcvbn's names for the
// alphabet: "lower", "upper", "digits", or "unicode" for anything else.
func sequenceMatches(ms []*Match, t text) []*Match {
	r := t.runes
	if len(r) <= 1 {
		return ms
	}
	add := func(i, j, delta int) {
		d := max(delta, -delta)
		if (j-i > 1 || d == 1) && d > 0 && d <= 5 {
			tok := t.token(i, j)
			ms = append(ms, &Match{Pattern: "sequence", Token: tok, I: i, J: j,
				SequenceName: alphabet(tok), Ascending: delta > 0})
		}
	}
	i, last := 0, int(r[1])-int(r[0])
	for k := 2; k < len(r); k++ {
		if delta := int(r[k]) - int(r[k-1]); delta != last {
			add(i, k-1, last)
			i, last = k-1, delta
		}
	}
	add(i, len(r)-1, last)
	return ms
}

// alphabet names the characters of a sequence.
func alphabet(tok string) string {
	in := func(lo, hi rune) bool {
		return strings.IndexFunc(tok, func(r rune) bool { return r < lo || r > hi }) < 0
	}
	switch {
	case in('a', 'z'):
		return "lower"
	case in('A', 'Z'):
		return "upper"
	case in('0', '9'):
		return "digits"
	}
	return "unicode"
}

// yearMatches appends the years 1900 to 2019 in t, zxcvbn's "recent_year" expression
// (19\d\d|200\d|201\d), from left to right without overlap.
func yearMatches(ms []*Match, t text) []*Match {
	r := t.runes
	for i := 0; i+4 <= len(r); {
		y, ok := digits(r[i : i+4])
		if !ok || y < 1900 || y > 2019 {
			i++
			continue
		}
		ms = append(ms, &Match{Pattern: "regex", RegexName: "recent_year", Token: t.token(i, i+3), I: i, J: i + 3, Year: y})
		i += 4
	}
	return ms
}

// digits returns the number r spells in ASCII digits, and false if r holds anything else.
func digits(r []rune) (int, bool) {
	v := 0
	for _, c := range r {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = 10*v + int(c-'0')
	}
	return v, len(r) > 0
}
