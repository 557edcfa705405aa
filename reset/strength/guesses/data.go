package guesses

import (
	_ "embed"
	"encoding/binary"
	"slices"
	"strings"
)

//go:generate go run ./internal/gen

// blob holds zxcvbn's ranked word lists and keyboard graphs as internal/gen wrote them (the
// format is described there; layout_gen.go says where each part starts). It is read in place:
// the bytes stay in the binary's read-only data, cost no heap and are paged in only when a
// password is scored.
//
//go:embed data/zxcvbn.bin
var blob string

// listLayout says where a ranked list's three runs sit in blob.
type listLayout struct {
	name                  string
	n                     int // number of words
	words, offsets, ranks int // where each run starts
}

// wordList is a ranked dictionary searched in place: n words in byte order, concatenated in
// words, the i-th at words[offset(i):offset(i+1)], with its rank in ranks.
type wordList struct {
	name    string
	n       int
	words   string
	offsets string // n+1 little-endian uint32
	ranks   string // n little-endian uint16
}

// builtin returns the i-th of zxcvbn's lists, as slices of blob (no copy).
func builtin(i int) wordList {
	l := builtinLists[i]
	return wordList{
		name:    l.name,
		n:       l.n,
		words:   blob[l.words:l.offsets],
		offsets: blob[l.offsets:l.ranks],
		ranks:   blob[l.ranks : l.ranks+2*l.n],
	}
}

// userList returns the user's inputs as a ranked list: lowercased, each ranked by its position
// from 1 (a repeated input keeps the rank of its last occurrence, as in zxcvbn). Inputs after
// the 65,535th are ignored, since ranks are 16 bits wide.
func userList(inputs []string) wordList {
	inputs = inputs[:min(len(inputs), 0xFFFF)]
	type ranked struct {
		w    string
		rank int
	}
	rs := make([]ranked, 0, len(inputs))
	for i, in := range inputs {
		rs = append(rs, ranked{strings.ToLower(in), i + 1})
	}
	// Stable by word, so the last occurrence of a word comes last; keep that one.
	slices.SortStableFunc(rs, func(a, b ranked) int { return strings.Compare(a.w, b.w) })
	var words strings.Builder
	var offsets, ranks []byte
	n := 0
	for k, r := range rs {
		if r.w == "" || (k+1 < len(rs) && rs[k+1].w == r.w) {
			continue
		}
		offsets = binary.LittleEndian.AppendUint32(offsets, uint32(words.Len()))
		ranks = binary.LittleEndian.AppendUint16(ranks, uint16(r.rank))
		words.WriteString(r.w)
		n++
	}
	offsets = binary.LittleEndian.AppendUint32(offsets, uint32(words.Len()))
	return wordList{name: "user_inputs", n: n, words: words.String(), offsets: string(offsets), ranks: string(ranks)}
}

func (l wordList) word(i int) string {
	return l.words[uint32At(l.offsets, i):uint32At(l.offsets, i+1)]
}

func (l wordList) rank(i int) int {
	s := l.ranks[2*i : 2*i+2]
	return int(s[0]) | int(s[1])<<8
}

// uint32At decodes the i-th little-endian uint32 of s, which stays a string so that nothing is
// copied.
func uint32At(s string, i int) uint32 {
	s = s[4*i : 4*i+4]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// narrow returns the part [lo', hi') of [lo, hi) whose words start with prefix, given that all
// words in [lo, hi) start with prefix[:known]. Both ends are found by binary search. The prefix
// may be a string or a byte slice (the l33t matcher builds its candidates in a buffer); the
// conversions below are only compared, so neither allocates.
func narrow[P ~string | ~[]byte](l *wordList, lo, hi int, prefix P, known int) (int, int) {
	rest := prefix[known:]
	// First word >= prefix.
	a, b := lo, hi
	for a < b {
		m := int(uint(a+b) >> 1)
		if l.word(m)[known:] < string(rest) {
			a = m + 1
		} else {
			b = m
		}
	}
	lo = a
	// First word that does not start with prefix.
	b = hi
	for a < b {
		m := int(uint(a+b) >> 1)
		if w := l.word(m)[known:]; len(w) >= len(rest) && w[:len(rest)] == string(rest) {
			a = m + 1
		} else {
			b = m
		}
	}
	return lo, a
}

// graph is one of zxcvbn's keyboards: for each ASCII key, 8 neighbour slots (the slot is the
// direction) of an unshifted and a shifted character, 0 where there is none.
type graph struct {
	name    string
	table   string
	keys    int     // how many keys the keyboard has
	degree  float64 // their average number of neighbours
	shifted string  // the characters typed with shift
}

const (
	graphSlots = 8
	// shiftedKeys are the characters zxcvbn counts as shifted on both keyboards (it uses the
	// qwerty set for dvorak too).
	shiftedKeys = `~!@#$%^&*()_+QWERTYUIOP{}|ASDFGHJKL:"ZXCVBNM<>?`
)

// graphs returns the keyboards in the order zxcvbn walks them. The keypads have no shift.
func graphs() [4]graph {
	return [4]graph{
		{"qwerty", blob[qwertyGraph : qwertyGraph+128*graphSlots*2], qwertyKeys, qwertyDegree, shiftedKeys},
		{"dvorak", blob[dvorakGraph : dvorakGraph+128*graphSlots*2], dvorakKeys, dvorakDegree, shiftedKeys},
		{"keypad", blob[keypadGraph : keypadGraph+128*graphSlots*2], keypadKeys, keypadDegree, ""},
		{"mac_keypad", blob[macKeypadGraph : macKeypadGraph+128*graphSlots*2], macKeypadKeys, macKeypadDegree, ""},
	}
}

// neighbour returns the direction in which next lies from key on g and whether it is the shifted
// character of that neighbour, or -1 if next is not next to key.
func (g graph) neighbour(key, next rune) (dir int, shifted bool) {
	if key <= 0 || key >= 128 || next <= 0 || next >= 128 {
		return -1, false
	}
	slots := g.table[int(key)*graphSlots*2 : (int(key)+1)*graphSlots*2]
	for d := 0; d < graphSlots; d++ {
		switch byte(next) {
		case slots[2*d]:
			return d, false
		case slots[2*d+1]:
			return d, true
		}
	}
	return -1, false
}
