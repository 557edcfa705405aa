package strength

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
)

//go:generate go run gen.go

// commonTxt is the common-password list: header lines saying where it comes from and under which
// license, an empty line, then one lowercased password per line in byte order (see gen.go).
//
//go:embed common.txt
var commonTxt string

// common holds the entries of commonTxt, sorted, for a binary search. The strings point into
// the embedded text, which lives in the binary's read-only data, so the heap only holds the
// slice: 16 bytes an entry, 320 KiB for 20,000 (BenchmarkCommonList); a map of the same strings
// measured 850 KiB.
var common = mustParseCommon(commonTxt)

// mustParseCommon splits the embedded list and checks that it is sorted and lowercased, because
// the binary search in [isCommon] silently misses entries otherwise. It panics, like
// template.Must, since a bad list is a build defect that must stop the program at start-up.
func mustParseCommon(txt string) []string {
	list, err := parseCommon(txt)
	if err != nil {
		panic(err)
	}
	return list
}

func parseCommon(txt string) ([]string, error) {
	_, body, ok := strings.Cut(txt, "\n\n")
	if !ok {
		return nil, fmt.Errorf("common.txt: no empty line after the header")
	}
	list := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	for i, w := range list {
		switch {
		case w == "" || strings.ContainsAny(w, " \t\r"):
			return nil, fmt.Errorf("common.txt: entry %d is %q", i+1, w)
		case strings.ToLower(w) != w:
			return nil, fmt.Errorf("common.txt: entry %d (%q) is not lowercase", i+1, w)
		case i > 0 && list[i-1] >= w:
			return nil, fmt.Errorf("common.txt: entry %d (%q) is out of order or repeated", i+1, w)
		}
	}
	return list, nil
}

// isCommon reports whether password is on the common-password list, ignoring case.
func isCommon(password string) bool {
	_, found := slices.BinarySearch(common, strings.ToLower(password))
	return found
}
