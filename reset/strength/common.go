package strength

import (
	_ "embed"
	"fmt"
	"strings"
)

//go:generate go run gen.go

// commonTxt is the common-password list: header lines saying where it comes from and under which
// license, an empty line, then one lowercased password per line in byte order (see gen.go).
//
//go:embed common.txt
var commonTxt string

// commonList is the body of commonTxt: the entries, sorted, one per line. [isCommon] searches
// it in place, so the list costs no heap at all (as a []string it kept 320 KiB for the life of
// the process, issue 17); it is checked once at start-up.
var commonList = mustCheckCommon(commonTxt)

// mustCheckCommon returns the body of the embedded list after checking that it is sorted and
// lowercased, because the binary search in [isCommon] silently misses entries otherwise. It
// panics, like template.Must, since a bad list is a build defect that must stop the program at
// start-up.
func mustCheckCommon(txt string) string {
	body, err := checkCommon(txt)
	if err != nil {
		panic(err)
	}
	return body
}

// checkCommon checks txt's entries and returns its body without the final newline.
func checkCommon(txt string) (string, error) {
	_, body, ok := strings.Cut(txt, "\n\n")
	if !ok {
		return "", fmt.Errorf("common.txt: no empty line after the header")
	}
	body = strings.TrimSuffix(body, "\n")
	prev, rest := "", body
	for i := 0; ; i++ {
		w, next, more := strings.Cut(rest, "\n")
		switch {
		case w == "" || strings.ContainsAny(w, " \t\r"):
			return "", fmt.Errorf("common.txt: entry %d is %q", i+1, w)
		case strings.ToLower(w) != w:
			return "", fmt.Errorf("common.txt: entry %d (%q) is not lowercase", i+1, w)
		case i > 0 && prev >= w:
			return "", fmt.Errorf("common.txt: entry %d (%q) is out of order or repeated", i+1, w)
		}
		if !more {
			return body, nil
		}
		prev, rest = w, next
	}
}

// parseCommon returns txt's entries, checked as [checkCommon] does.
func parseCommon(txt string) ([]string, error) {
	body, err := checkCommon(txt)
	if err != nil {
		return nil, err
	}
	return strings.Split(body, "\n"), nil
}

// isCommon reports whether password is on the common-password list, ignoring case.
func isCommon(password string) bool { return hasLine(commonList, strings.ToLower(password)) }

// hasLine reports whether w is one of the lines of sorted, a binary search on byte offsets:
// each step takes the line around the middle of what is left.
func hasLine(sorted, w string) bool {
	lo, hi := 0, len(sorted) // both at line starts (hi: one past a line's newline, or the end)
	for lo < hi {
		mid := lo + (hi-lo)/2
		start := strings.LastIndexByte(sorted[:mid], '\n') + 1 // >= lo: lo is a line start
		end := strings.IndexByte(sorted[start:], '\n')
		if end < 0 {
			end = len(sorted)
		} else {
			end += start
		}
		switch line := sorted[start:end]; {
		case line == w:
			return true
		case line < w:
			lo = end + 1
		default:
			hi = start
		}
	}
	return false
}
