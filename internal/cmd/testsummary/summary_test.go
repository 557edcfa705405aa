package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testdata/mixed.jsonl is `go test -json` of two small packages: one passing test, skips for a
// missing Mailpit (in both packages), a skipped table of subtests (no chromium), a skip that is
// not about a service, and a failing test.
func TestSummaryOfMixedRun(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "mixed.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := newSummarizer(&out)
	if err := s.Read(bytes.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	s.Finish(1)
	got := out.String()
	golden := filepath.Join("testdata", "mixed.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -run Mixed -update rewrites it):\n%s", golden, got)
	}

	// What the golden file must say, spelled out so that a careless -update cannot hide it.
	for _, want := range []string{
		"ok  \tsample/a\t",               // go test's own package lines pass through
		"FAIL\tsample/b\t",               //
		"--- FAIL: TestFails",            // a failing test's output is shown
		"got 1, want 2",                  //
		"SKIPPED: 5 tests did not run",   // every skip counted, subtests too
		"2 skipped: mailpit",             // grouped by reason, across packages
		"sample/a: TestNeedsMailpit",     //
		"sample/b: TestAlsoNeedsMailpit", //
		"2 skipped: chromium",            //
		"1 skipped: waits for a job lease (1m) to lapse",
		"    go install github.com/axllent/mailpit@v1.33.1\n", // the commands that install what is missing
		"    apt-get install chromium\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, noise := range []string{"=== RUN", "noise a passing test logs", "--- SKIP", "\nPASS\n"} {
		if strings.Contains(got, noise) {
			t.Errorf("output has %q, which plain go test does not print", noise)
		}
	}
	// The closing lines are go test's verdict, after the summary.
	if !strings.HasSuffix(got, "FAIL\tsample/b\t0.003s\nFAIL\n") && !strings.HasSuffix(got, "\nFAIL\n") {
		t.Errorf("output does not end with go test's FAIL lines:\n%s", got[max(0, len(got)-200):])
	}
}

func TestNoSkipsNoSummary(t *testing.T) {
	var out bytes.Buffer
	s := newSummarizer(&out)
	stream := `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Output":"PASS\n"}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}
{"Action":"pass","Package":"p"}
`
	if err := s.Read(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	s.Finish(0)
	if got := out.String(); got != "ok  \tp\t0.1s\n" {
		t.Errorf("output = %q, want go test's one ok line", got)
	}
}

func TestPlainLinesPassThrough(t *testing.T) {
	var out bytes.Buffer
	s := newSummarizer(&out)
	s.Read(strings.NewReader("go: downloading example.com/x v1.0.0\n{not json\n"))
	if got := out.String(); got != "go: downloading example.com/x v1.0.0\n{not json\n" {
		t.Errorf("output = %q", got)
	}
}

// The exit status is go test's own: the helper below plays go test, printing a stream and
// exiting with TESTSUMMARY_HELPER_EXIT.
func TestExitStatusIsGoTests(t *testing.T) {
	for _, code := range []int{0, 1, 2, 3} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Setenv("TESTSUMMARY_HELPER_EXIT", fmt.Sprint(code))
			var out, errOut bytes.Buffer
			got := run([]string{os.Args[0], "-test.run=^TestHelperGoTest$", "--", "-json"}, &out, &errOut)
			if got != code {
				t.Errorf("run = %d, want %d (stderr %q)", got, code, errOut.String())
			}
			if !strings.Contains(out.String(), "ok  \thelper\t0.1s\n") {
				t.Errorf("output lacks the helper's ok line:\n%s", out.String())
			}
		})
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if got := run([]string{"go", "test", "./..."}, &out, &errOut); got != 2 || !strings.Contains(errOut.String(), "-json") {
		t.Errorf("run without -json = %d, %q; want 2 and a usage line", got, errOut.String())
	}
}

func TestHelperGoTest(t *testing.T) {
	code := os.Getenv("TESTSUMMARY_HELPER_EXIT")
	if code == "" {
		t.Skip("helper process for TestExitStatusIsGoTests")
	}
	fmt.Println(`{"Action":"output","Package":"helper","Output":"ok  \thelper\t0.1s\n"}`)
	var n int
	fmt.Sscan(code, &n)
	os.Exit(n)
}

func TestTimeoutShowsThePanic(t *testing.T) {
	var out bytes.Buffer
	s := newSummarizer(&out)
	stream := `{"Action":"run","Package":"p","Test":"TestSlow"}
{"Action":"output","Package":"p","Test":"TestSlow","Output":"=== RUN   TestSlow\n"}
{"Action":"output","Package":"p","Test":"TestSlow","Output":"panic: test timed out after 10m0s\n"}
{"Action":"output","Package":"p","Test":"TestSlow","Output":"\trunning tests:\n\t\tTestSlow (10m0s)\n"}
{"Action":"pass","Package":"p","Test":"TestSlow"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t600.1s\n"}
{"Action":"fail","Package":"p","Elapsed":600.1}
`
	if err := s.Read(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	s.Finish(1)
	got := out.String()
	if i, j := strings.Index(got, "panic: test timed out"), strings.Index(got, "FAIL\tp\t600.1s"); i < 0 || j < i {
		t.Errorf("the panic is not shown before the FAIL line:\n%s", got)
	}
	for _, want := range []string{"panic: test timed out after 10m0s", "TestSlow (10m0s)", "FAIL\tp\t600.1s\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
