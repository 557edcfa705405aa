package testenv_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"resetgate/internal/testenv"
)

func TestInCI(t *testing.T) {
	for _, tt := range []struct {
		value string
		set   bool
		want  bool
	}{
		{set: false, want: false},
		{value: "", set: true, want: false},
		{value: "false", set: true, want: false},
		{value: "FALSE", set: true, want: false},
		{value: "False", set: true, want: false},
		{value: "0", set: true, want: false},
		{value: " false ", set: true, want: false},
		{value: "true", set: true, want: true},
		{value: "TRUE", set: true, want: true},
		{value: "1", set: true, want: true},
		{value: "yes", set: true, want: true},
		{value: "woodpecker", set: true, want: true},
	} {
		name := "unset"
		if tt.set {
			name = "CI=" + tt.value
		}
		t.Run(name, func(t *testing.T) {
			t.Setenv("CI", tt.value) // restored after the test
			if !tt.set {
				os.Unsetenv("CI")
			}
			if got := testenv.InCI(); got != tt.want {
				t.Errorf("InCI() with %s = %v, want %v", name, got, tt.want)
			}
		})
	}
}

// TestNeedChild is the test that TestNeed runs in a child process: it needs a service that
// is missing, and the child's verdict (skip or fail) is what TestNeed checks. Run directly,
// it does nothing (and does not skip, so it adds nothing to the list of skipped tests).
func TestNeedChild(t *testing.T) {
	if os.Getenv("TESTENV_NEED_CHILD") == "" {
		return
	}
	testenv.Need(t, "the flux capacitor", errors.New("connection refused"))
	t.Log("Need returned although the service is missing")
}

func TestNeed(t *testing.T) {
	testenv.Need(t, "a service that answers", nil) // returns: nothing to stop
	for _, tt := range []struct {
		ci       string
		wantFail bool
		want     string
	}{
		{"", false, "--- SKIP: TestNeedChild"},
		{"false", false, "--- SKIP: TestNeedChild"},
		{"0", false, "--- SKIP: TestNeedChild"},
		{"true", true, "--- FAIL: TestNeedChild"},
		{"1", true, "--- FAIL: TestNeedChild"},
		{"Yes", true, "--- FAIL: TestNeedChild"},
	} {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestNeedChild$", "-test.v", "-test.count=1")
			cmd.Env = append(withoutCI(os.Environ()), "TESTENV_NEED_CHILD=1", "CI="+tt.ci)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if failed := errors.As(err, &exit); failed != tt.wantFail || (err != nil && exit == nil) {
				t.Errorf("child with CI=%q: exit %v, want failure %v\n%s", tt.ci, err, tt.wantFail, out)
			}
			if !strings.Contains(string(out), tt.want) || !strings.Contains(string(out), "the flux capacitor") {
				t.Errorf("child with CI=%q printed no %q naming the service:\n%s", tt.ci, tt.want, out)
			}
			if strings.Contains(string(out), "Need returned") {
				t.Errorf("child with CI=%q: Need returned although the service is missing:\n%s", tt.ci, out)
			}
		})
	}
}

func withoutCI(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "CI=") {
			out = append(out, kv)
		}
	}
	return out
}
