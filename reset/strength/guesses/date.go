package guesses

import "unicode"

// The years a date may have, as zxcvbn reads them.
const (
	dateMinYear = 1000
	dateMaxYear = 2050
)

// dmy is a day, a month and a year read from a run of digits.
type dmy struct{ day, month, year int }

// splits are, for each length of a run of 4 to 8 digits without separators, the ways zxcvbn cuts
// it into three numbers: the starts of the second and third ({0, 0} ends the list).
var splits = [9][4][2]int{
	4: {{1, 2}, {2, 3}},                 // 1 1 91, 91 1 1
	5: {{1, 3}, {2, 3}},                 // 1 11 91, 11 1 91
	6: {{1, 2}, {2, 4}, {4, 5}},         // 1 1 1991, 11 11 91, 1991 1 1
	7: {{1, 3}, {2, 3}, {4, 5}, {4, 6}}, // 1 11 1991, 11 1 1991, 1991 1 11, 1991 11 1
	8: {{2, 4}, {4, 6}},                 // 11 11 1991, 1991 11 11
}

// dateMatches appends the dates in t: runs of 4 to 8 digits, or of three numbers (1–4, 1–2 and
// 1–4 digits) with the same separator (a space, / \ _ . or -) between them, that read as a day,
// a month and a two- or four-digit year first or last. A run of digits that reads several ways
// takes the year closest to the reference year. Dates inside longer dates are dropped.
func (s *scorer) dateMatches(ms []*Match, t text) []*Match {
	r := t.runes
	var found []*Match
	for i := 0; i+4 <= len(r); i++ {
		for j := i + 3; j <= i+7 && j < len(r); j++ {
			if _, ok := digits(r[i : j+1]); !ok {
				continue
			}
			best, ok := dmy{}, false
			for _, sp := range splits[j-i+1] {
				if sp[0] == 0 {
					break
				}
				a, _ := digits(r[i : i+sp[0]])
				b, _ := digits(r[i+sp[0] : i+sp[1]])
				c, _ := digits(r[i+sp[1] : j+1])
				if d, valid := readDate(a, b, c); valid && (!ok || s.distance(d.year) < s.distance(best.year)) {
					best, ok = d, true
				}
			}
			if ok {
				found = append(found, &Match{Pattern: "date", Token: t.token(i, j), I: i, J: j,
					Year: best.year, Month: best.month, Day: best.day})
			}
		}
	}
	for i := 0; i+6 <= len(r); i++ {
		for j := i + 5; j <= i+9 && j < len(r); j++ {
			if a, b, c, sep, ok := separated(r[i : j+1]); ok {
				if d, valid := readDate(a, b, c); valid {
					found = append(found, &Match{Pattern: "date", Token: t.token(i, j), I: i, J: j,
						Year: d.year, Month: d.month, Day: d.day, Separator: string(sep)})
				}
			}
		}
	}
	for _, m := range found {
		inside := false
		for _, o := range found {
			if o != m && o.I <= m.I && o.J >= m.J {
				inside = true
				break
			}
		}
		if !inside {
			ms = append(ms, m)
		}
	}
	return ms
}

func (s *scorer) distance(year int) int { return max(year-s.year, s.year-year) }

// separated reads r as digits, a separator, one or two digits, the same separator and digits:
// zxcvbn's ^(\d{1,4})([\s/\\_.-])(\d{1,2})\2(\d{1,4})$.
func separated(r []rune) (a, b, c int, sep rune, ok bool) {
	run := func(from, most int) (v, end int) {
		end = from
		for end < len(r) && end-from < most && '0' <= r[end] && r[end] <= '9' {
			v = 10*v + int(r[end]-'0')
			end++
		}
		return v, end
	}
	isSep := func(c rune) bool {
		return unicode.IsSpace(c) || c == '/' || c == '\\' || c == '_' || c == '.' || c == '-'
	}
	a, k := run(0, 4)
	if k == 0 || k >= len(r) || !isSep(r[k]) {
		return 0, 0, 0, 0, false
	}
	sep = r[k]
	b, m := run(k+1, 2)
	if m == k+1 || m >= len(r) || r[m] != sep {
		return 0, 0, 0, 0, false
	}
	c, e := run(m+1, 4)
	if e == m+1 || e != len(r) {
		return 0, 0, 0, 0, false
	}
	return a, b, c, sep, true
}

// readDate maps three numbers to a date as zxcvbn does, or reports false: the middle one is
// never the year; none may be over 2050 or have three digits below 1000; at most one may be over
// 31, not all over 12, at most one zero. A four-digit year last, else first, needs the other two
// to be a day and a month (in either order); otherwise a two-digit year last, else first.
func readDate(a, b, c int) (dmy, bool) {
	if b > 31 || b <= 0 {
		return dmy{}, false
	}
	over12, over31, zero := 0, 0, 0
	for _, v := range [3]int{a, b, c} {
		if (v > 99 && v < dateMinYear) || v > dateMaxYear {
			return dmy{}, false
		}
		if v > 31 {
			over31++
		}
		if v > 12 {
			over12++
		}
		if v <= 0 {
			zero++
		}
	}
	if over31 >= 2 || over12 == 3 || zero >= 2 {
		return dmy{}, false
	}
	for _, y := range [2][3]int{{c, a, b}, {a, b, c}} {
		if dateMinYear <= y[0] && y[0] <= dateMaxYear {
			return dayMonth(y[1], y[2], y[0])
		}
	}
	for _, y := range [2][3]int{{c, a, b}, {a, b, c}} {
		if d, ok := dayMonth(y[1], y[2], y[0]); ok {
			switch {
			case d.year > 99:
			case d.year > 50:
				d.year += 1900
			default:
				d.year += 2000
			}
			return d, true
		}
	}
	return dmy{}, false
}

// dayMonth reads x and y as a day and a month, in that order or the other.
func dayMonth(x, y, year int) (dmy, bool) {
	switch {
	case x <= 31 && y <= 12:
		return dmy{x, y, year}, true
	case y <= 31 && x <= 12:
		return dmy{y, x, year}, true
	}
	return dmy{}, false
}
