package guesses

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// lowered is a run of runes lowercased rune by rune (as strings.ToLower does), with the byte
// offset of each rune, so that the lowercase form of runes i to j is a substring, not a copy.
type lowered struct {
	s  string
	at []int
}

func lower(runes []rune) lowered {
	var b strings.Builder
	b.Grow(len(runes))
	at := make([]int, 0, len(runes)+1)
	for _, r := range runes {
		at = append(at, b.Len())
		b.WriteRune(unicode.ToLower(r))
	}
	at = append(at, b.Len())
	return lowered{b.String(), at}
}

// scan calls found for every run of runes i to j whose lowercase form is a word of one of the
// lists. For each start it narrows the range of words sharing the prefix read so far, and stops
// as soon as no word has it.
func scan(runes []rune, lists []wordList, found func(i, j int, word string, list *wordList, rank int)) {
	low := lower(runes)
	for li := range lists {
		l := &lists[li]
		for i := range runes {
			lo, hi, known := 0, l.n, 0
			for j := i; j < len(runes) && lo < hi; j++ {
				prefix := low.s[low.at[i]:low.at[j+1]]
				lo, hi = narrow(l, lo, hi, prefix, known)
				known = len(prefix)
				if lo < hi && l.word(lo) == prefix {
					found(i, j, prefix, l, l.rank(lo))
				}
			}
		}
	}
}

// dictionaryMatches appends the words of lists found in t.
func dictionaryMatches(ms []*Match, t text, lists []wordList) []*Match {
	scan(t.runes, lists, func(i, j int, word string, l *wordList, rank int) {
		ms = append(ms, &Match{Pattern: "dictionary", Token: t.token(i, j), I: i, J: j,
			DictionaryName: l.name, MatchedWord: word, Rank: rank})
	})
	return ms
}

// reversedMatches appends the words of lists found in t backwards.
func reversedMatches(ms []*Match, t text, lists []wordList) []*Match {
	n := len(t.runes)
	rev := slices.Clone(t.runes)
	slices.Reverse(rev)
	scan(rev, lists, func(i, j int, word string, l *wordList, rank int) {
		ms = append(ms, &Match{Pattern: "dictionary", Token: t.token(n-1-j, n-1-i), I: n - 1 - j, J: n - 1 - i,
			DictionaryName: l.name, MatchedWord: word, Rank: rank, Reversed: true})
	})
	return ms
}

// l33tTable is zxcvbn's table of look-alikes: each letter, then the characters typed for it.
var l33tTable = [...]string{"a4@", "b8", "c({[<", "e3", "g69", "i1!|", "l1|7", "o0", "s$5", "t+7", "x%", "z2"}

// sub is a set of substitutions, pairs of the character typed and the letter it stands for,
// ordered by the character typed.
type sub string

// l33tMatches appends the words of lists found in t once look-alike characters are read as the
// letters they stand for. Like zxcvbn it reads each character as one letter at a time, and each
// letter from one character at a time, trying every table of substitutions [l33tSubs] builds,
// and keeps only the words spelled with at least one substitution and longer than one rune.
//
// Rather than scanning the password once per table, it walks each start's prefixes once,
// branching at a look-alike character on what the tables still in play read it as: tables that
// agree on a token's characters share the work.
func l33tMatches(ms []*Match, t text, lists []wordList) []*Match {
	subs := l33tSubs(t.s)
	if len(subs) == 0 {
		return ms
	}
	w := l33tWalk{t: t, subs: subs, words: (len(subs) + 63) / 64}
	// reads[c] lists, for a look-alike character c, each way the tables read it (itself, or a
	// letter) with the set of tables that read it so.
	for si, sb := range subs {
		for k := 0; k < len(sb); k += 2 {
			w.addReading(sb[k], sb[k+1], si)
		}
	}
	for c := range w.reads {
		if len(w.reads[c]) == 0 {
			continue
		}
		// The tables that do not substitute c read it as itself.
		all := make([]uint64, w.words)
		for _, rd := range w.reads[c] {
			for k := range all {
				all[k] |= rd.tables[k]
			}
		}
		none := make([]uint64, w.words)
		for si := range subs {
			if all[si/64]&(1<<(si%64)) == 0 {
				none[si/64] |= 1 << (si % 64)
			}
		}
		w.reads[c] = append(w.reads[c], reading{byte(c), none})
	}
	every := make([]uint64, w.words)
	for si := range subs {
		every[si/64] |= 1 << (si % 64)
	}
	for li := range lists {
		w.list = &lists[li]
		for i := range t.runes {
			w.i = i
			w.prefix = w.prefix[:0]
			w.walk(i, 0, w.list.n, every)
		}
	}
	return append(ms, w.found...)
}

// reading is one way some substitution tables read a look-alike character.
type reading struct {
	as     byte     // the letter, or the character itself
	tables []uint64 // bit set of the tables, indexes into l33tWalk.subs
}

// l33tWalk is the state of [l33tMatches]' search.
type l33tWalk struct {
	t      text
	subs   []sub
	words  int // length of a bit set of tables
	reads  [128][]reading
	list   *wordList
	i      int    // the start of the prefixes walked
	prefix []byte // the prefix so far, lowercased and substituted
	found  []*Match
}

func (w *l33tWalk) addReading(c, letter byte, si int) {
	for _, rd := range w.reads[c] {
		if rd.as == letter {
			rd.tables[si/64] |= 1 << (si % 64)
			return
		}
	}
	tables := make([]uint64, w.words)
	tables[si/64] |= 1 << (si % 64)
	w.reads[c] = append(w.reads[c], reading{letter, tables})
}

// walk extends the prefix with rune j, read every way the tables in play allow, given that the
// words [lo, hi) of the list share the prefix so far.
func (w *l33tWalk) walk(j, lo, hi int, tables []uint64) {
	if j == len(w.t.runes) || lo >= hi {
		return
	}
	r := w.t.runes[j]
	if r < 128 && len(w.reads[r]) > 0 {
		next := make([]uint64, w.words)
		for _, rd := range w.reads[r] {
			live := false
			for k := range next {
				next[k] = tables[k] & rd.tables[k]
				live = live || next[k] != 0
			}
			if live {
				w.step(j, lo, hi, next, []byte{rd.as})
			}
		}
		return
	}
	var b [utf8.UTFMax]byte
	w.step(j, lo, hi, tables, utf8.AppendRune(b[:0], unicode.ToLower(r)))
}

// step appends the bytes read for rune j to the prefix, records a word the prefix spells and
// walks on.
func (w *l33tWalk) step(j, lo, hi int, tables []uint64, read []byte) {
	known := len(w.prefix)
	w.prefix = append(w.prefix, read...)
	defer func() { w.prefix = w.prefix[:known] }()
	lo, hi = narrow(w.list, lo, hi, w.prefix, known)
	if lo >= hi {
		return
	}
	if j > w.i && w.list.word(lo) == string(w.prefix) {
		w.record(j, lo, tables)
	}
	w.walk(j+1, lo, hi, tables)
}

// record adds the match of runes i to j, if it uses a substitution.
func (w *l33tWalk) record(j, lo int, tables []uint64) {
	tok := w.t.token(w.i, j)
	word := string(w.prefix)
	if strings.ToLower(tok) == word {
		return
	}
	// Every table in play reads tok's characters alike: take the first.
	si := 0
	for tables[si/64]&(1<<(si%64)) == 0 {
		si++
	}
	sb := w.subs[si]
	var used []byte
	for k := 0; k < len(sb); k += 2 {
		if strings.IndexByte(tok, sb[k]) >= 0 {
			used = append(used, sb[k], sb[k+1])
		}
	}
	w.found = append(w.found, &Match{Pattern: "dictionary", Token: tok, I: w.i, J: j,
		DictionaryName: w.list.name, MatchedWord: word, Rank: w.list.rank(lo), L33t: true, Subs: string(used)})
}

// l33tSubs returns the substitution tables zxcvbn tries for password: going through the letters
// in alphabetical order, each table is extended with every character of password that can stand
// for the letter; a character already standing for an earlier letter gives both the table as it
// is and the table with that character moved to the new letter. None if password has no
// look-alike character.
func l33tSubs(password string) []sub {
	subs := []sub{""}
	for _, row := range l33tTable {
		letter := row[0]
		var next []sub
		for _, c := range []byte(row[1:]) {
			if strings.IndexByte(password, c) < 0 {
				continue
			}
			for _, s := range subs {
				at := -1
				for k := 0; k < len(s); k += 2 {
					if s[k] == c {
						at = k
					}
				}
				if at < 0 {
					next = append(next, s.with(c, letter))
					continue
				}
				next = append(next, s, (s[:at]+s[at+2:]).with(c, letter))
			}
		}
		if next != nil {
			slices.Sort(next)
			subs = slices.Compact(next)
		}
	}
	if len(subs) == 1 && subs[0] == "" {
		return nil
	}
	return subs
}

// with returns s plus c standing for letter, kept in order of the character typed.
func (s sub) with(c, letter byte) sub {
	k := 0
	for k < len(s) && s[k] < c {
		k += 2
	}
	return s[:k] + sub([]byte{c, letter}) + s[k:]
}
