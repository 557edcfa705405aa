package attack

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// requirements are the ids of SECURITY.md's requirements (the project's requirement list,
// kept beside the design documents), each of which this suite attacks or, for the ones that
// only the operator or the design can meet, the repository's SECURITY.md explains. The second
// release's ids joined as their features landed: RQ-RST-08 with session tracking (issue 11),
// RQ-COD-01 with typed codes (issue 14).
var requirements = func() []string {
	var ids []string
	for area, n := range map[string]int{"REQ": 10, "TOK": 10, "LNK": 7, "RST": 8, "PWD": 11, "HDR": 6, "PRX": 7, "HTM": 1, "ADM": 1, "COD": 1} {
		for i := 1; i <= n; i++ {
			ids = append(ids, fmt.Sprintf("RQ-%s-%02d", area, i))
		}
	}
	return ids
}()

// docOnly are the requirements no test of resetgate can prove, because they are decisions or
// the operator's duties; SECURITY.md must say so.
var docOnly = map[string]string{
	"RQ-PWD-11": "e-mail as the recovery factor is an accepted design decision",
	"RQ-PRX-03": "the operator must remove or guard the app's own reset paths",
}

var rqRe = regexp.MustCompile(`RQ-[A-Z]{3}-\d\d`)

// Every requirement is named by at least one attack test (in the comment that says which
// incident it reproduces) or is explained as out of resetgate's reach, and the repository's
// SECURITY.md maps every one of them, so that neither the suite nor the document can drop a
// requirement silently.
func TestEveryRequirementAttackedAndDocumented(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	tested := map[string]bool{}
	for _, f := range files {
		if f == "requirements_test.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range rqRe.FindAllString(string(b), -1) {
			tested[id] = true
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "SECURITY.md"))
	if err != nil {
		t.Fatalf("the repository's SECURITY.md: %v", err)
	}
	documented := map[string]bool{}
	for _, id := range rqRe.FindAllString(string(doc), -1) {
		documented[id] = true
	}
	known := map[string]bool{}
	for _, id := range requirements {
		known[id] = true
		if !tested[id] && docOnly[id] == "" {
			t.Errorf("%s: no attack test names it", id)
		}
		if !documented[id] {
			t.Errorf("%s: SECURITY.md does not map it", id)
		}
	}
	for id := range tested {
		if !known[id] {
			t.Errorf("a test names %s, which is not a requirement", id)
		}
	}
	for id, why := range docOnly {
		if !strings.Contains(string(doc), id) {
			t.Errorf("SECURITY.md must explain %s: %s", id, why)
		}
	}
}

var (
	knownSkipRe = regexp.MustCompile(`(?s)func (Test\w+)\(t \*testing\.T\) \{\s*t\.Skip\("KNOWN: `)
	knownDocRe  = regexp.MustCompile("`(Test\\w+)`")
)

// The weaknesses the suite knows about (tests skipped with "KNOWN:") and SECURITY.md's "Known
// gaps" section list the same tests: a fix that removes the skip must remove the line too, and
// a new known weakness must be disclosed.
func TestKnownGapsDisclosed(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range knownSkipRe.FindAllStringSubmatch(string(b), -1) {
			skipped[m[1]] = true
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "SECURITY.md"))
	if err != nil {
		t.Fatalf("the repository's SECURITY.md: %v", err)
	}
	_, gaps, ok := strings.Cut(string(doc), "\n## Known gaps")
	if !ok && len(skipped) > 0 {
		t.Fatalf("SECURITY.md has no \"## Known gaps\" section, but %d test(s) are skipped as KNOWN", len(skipped))
	}
	gaps, _, _ = strings.Cut(gaps, "\n## ")
	listed := map[string]bool{}
	for _, m := range knownDocRe.FindAllStringSubmatch(gaps, -1) {
		listed[m[1]] = true
	}
	for name := range skipped {
		if !listed[name] {
			t.Errorf("%s is skipped as KNOWN but SECURITY.md's known gaps do not list it", name)
		}
	}
	for name := range listed {
		if !skipped[name] {
			t.Errorf("SECURITY.md lists %s as a known gap, but the test is not skipped as KNOWN: fixed? then drop the line", name)
		}
	}
}
