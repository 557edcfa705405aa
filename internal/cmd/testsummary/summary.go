package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time    time.Time
	Action  string // start, run, pause, cont, pass, bench, fail, output, skip, build-output, build-fail
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type testKey struct{ pkg, test string }

// skipped is one skipped test.
type skipped struct {
	pkg, test, reason string
}

// summarizer turns the event stream back into go test's plain output and remembers the
// skips and failures for the summary.
type summarizer struct {
	out     io.Writer
	pending map[testKey][]string // each running test's output, printed only if it fails
	skips   []skipped
	failed  []string // the FAIL lines of failed packages, repeated after the summary
	// panicked holds the packages whose test binary panicked (a timeout, say). test2json then
	// attributes the panic and the stack to whichever test ran last, and may even report that
	// test as passed, so from there on nothing a test printed is dropped.
	panicked map[string]bool
}

func newSummarizer(out io.Writer) *summarizer {
	return &summarizer{out: out, pending: map[testKey][]string{}, panicked: map[string]bool{}}
}

// Read consumes the stream until EOF. A line that is not a JSON event (go test writes some
// errors as plain text) is printed as it is.
func (s *summarizer) Read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			fmt.Fprintf(s.out, "%s\n", line)
			continue
		}
		s.event(ev)
	}
	return sc.Err()
}

// framing lines go test -v adds and plain go test does not print.
func framing(line string) bool {
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

func (s *summarizer) event(ev event) {
	k := testKey{ev.Package, ev.Test}
	switch {
	case ev.Action == "build-output":
		io.WriteString(s.out, ev.Output)
	case ev.Test == "" && ev.Action == "output":
		// Package level: ok/FAIL lines, "[no test files]", coverage, TestMain's own output.
		// A lone PASS is what -v adds; plain go test omits it.
		if strings.HasPrefix(ev.Output, "FAIL") {
			s.flushRunning(ev.Package)
		}
		if ev.Output != "PASS\n" && !framing(ev.Output) {
			io.WriteString(s.out, ev.Output)
		}
		if strings.HasPrefix(ev.Output, "FAIL\t") {
			s.failed = append(s.failed, ev.Output)
		}
	case ev.Test == "" && ev.Action == "fail":
		s.flushRunning(ev.Package)
	case ev.Test == "":
	case ev.Action == "output":
		if strings.HasPrefix(ev.Output, "panic: ") {
			s.panicked[ev.Package] = true
		}
		s.pending[k] = append(s.pending[k], ev.Output)
	case ev.Action == "fail":
		for _, line := range s.pending[k] {
			if !framing(line) {
				io.WriteString(s.out, line)
			}
		}
		delete(s.pending, k)
	case ev.Action == "skip":
		s.skips = append(s.skips, skipped{pkg: ev.Package, test: ev.Test, reason: skipReason(s.pending[k])})
		delete(s.pending, k)
	case ev.Action == "pass" && s.panicked[ev.Package]:
		s.flushRunning(ev.Package)
	case ev.Action == "pass":
		delete(s.pending, k)
	}
}

// flushRunning prints what the package's unfinished tests printed. A package that fails with
// tests still running (a timeout, a panic, os.Exit) never reports them as failed, and their
// output holds the panic and its stack.
func (s *summarizer) flushRunning(pkg string) {
	for tk, lines := range s.pending {
		if tk.pkg != pkg {
			continue
		}
		for _, line := range lines {
			if !framing(line) {
				io.WriteString(s.out, line)
			}
		}
		delete(s.pending, tk)
	}
}

// logPrefix is what t.Log puts before a message: indentation and file:line.
var logPrefix = regexp.MustCompile(`^\s*[\w.-]+\.go:\d+: `)

// skipReason is the message a skipped test logged last (t.Skip's), without its file:line.
func skipReason(lines []string) string {
	var reason string
	for _, line := range lines {
		trimmed := strings.TrimSpace(line)
		if framing(line) || strings.HasPrefix(trimmed, "--- SKIP") || trimmed == "" {
			continue
		}
		if logPrefix.MatchString(line) {
			reason = logPrefix.ReplaceAllString(strings.TrimRight(line, "\n"), "")
		} else if reason != "" { // a continuation line of a multi-line message
			reason += " " + trimmed
		}
	}
	if reason == "" {
		return "(no reason given)"
	}
	return reason
}

// installHint finds the install command a skip message names, as testenv.Need's messages do:
// "mailpit (go install github.com/axllent/mailpit@v1.33.1) unavailable".
var installHint = regexp.MustCompile(`\(((?:go install|apt-get install|npm install)[^)]*)\)`)

// Finish prints the summary of skipped tests, then again the FAIL lines of failed packages,
// so that the closing lines still say what go test said. status is go test's exit status.
func (s *summarizer) Finish(status int) {
	if len(s.skips) > 0 {
		s.printSkips()
	}
	if status != 0 {
		for _, line := range s.failed {
			io.WriteString(s.out, line)
		}
		if len(s.failed) > 0 {
			fmt.Fprintln(s.out, "FAIL")
		}
	}
}

func (s *summarizer) printSkips() {
	byReason := map[string][]skipped{}
	var reasons []string
	for _, sk := range s.skips {
		if _, ok := byReason[sk.reason]; !ok {
			reasons = append(reasons, sk.reason)
		}
		byReason[sk.reason] = append(byReason[sk.reason], sk)
	}
	// Most skips first: the missing service that hides the most tests leads.
	slices.SortStableFunc(reasons, func(a, b string) int { return len(byReason[b]) - len(byReason[a]) })

	w := s.out
	bar := strings.Repeat("=", 78)
	fmt.Fprintf(w, "\n%s\nSKIPPED: %d tests did not run. This run is NOT complete.\n%s\n", bar, len(s.skips), bar)
	var hints []string
	for _, r := range reasons {
		list := byReason[r]
		fmt.Fprintf(w, "\n%d skipped: %s\n", len(list), r)
		var pkgs []string
		for _, sk := range list {
			if !slices.Contains(pkgs, sk.pkg) {
				pkgs = append(pkgs, sk.pkg)
			}
		}
		for _, p := range pkgs {
			var names []string
			for _, sk := range list {
				if sk.pkg == p {
					names = append(names, sk.test)
				}
			}
			fmt.Fprintf(w, "    %s: %s\n", p, abbreviate(names, 4))
		}
		for _, m := range installHint.FindAllStringSubmatch(r, -1) {
			if !slices.Contains(hints, m[1]) {
				hints = append(hints, m[1])
			}
		}
	}
	fmt.Fprintln(w)
	if len(hints) > 0 {
		fmt.Fprintln(w, "Install what is missing (or run `bash .ci/run` as root on a fresh machine):")
		for _, h := range hints {
			fmt.Fprintf(w, "    %s\n", h)
		}
	}
	fmt.Fprintf(w, "With CI=true every skip for a missing service is a failure.\n%s\n", bar)
}

func abbreviate(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}
