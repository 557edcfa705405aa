package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var (
	screenshotsFlag = flag.String("screenshots", "",
		"save the screenshots of every page under `DIR`/<scenario>/ (default $E2E_SCREENSHOTS, else a temporary directory kept only when a test fails)")
	docsFlag = flag.Bool("docs", false,
		"copy the four main pages of the Flask scenario and TestAppLook's themed and wrapped pages, and TestLanguageSwitcher's Arabic and Japanese request forms, at both widths, to ../docs/screenshots for the README")
)

// Generous bounds that only stop a hung test; no assertion depends on how fast anything is.
const (
	stepTimeout  = 60 * time.Second
	startTimeout = 60 * time.Second
)

var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// resetgateBinary builds resetgate once per test run (the module root, one directory up) and
// returns the path of the executable. The tests run the real binary, as an operator does.
// $E2E_RESETGATE names an already built binary to test instead, e.g. a release.
func resetgateBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("E2E_RESETGATE"); p != "" {
		return p
	}
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "resetgate-e2e-bin-")
		if err != nil {
			binary.err = err
			return
		}
		binary.dir = dir
		binary.path = filepath.Join(dir, "resetgate")
		// go test puts its own GOROOT/bin first on PATH, so this is the same toolchain.
		cmd := exec.Command("go", "build", "-o", binary.path, ".")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build resetgate: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// screenshotDir returns the directory for one scenario's screenshots: under -screenshots or
// $E2E_SCREENSHOTS when given, else under a temporary directory that is removed when the test
// passes and kept (its path logged) when it fails, so that a failure's pictures can be seen.
func screenshotDir(t *testing.T, scenario string) string {
	t.Helper()
	root := *screenshotsFlag
	if root == "" {
		root = os.Getenv("E2E_SCREENSHOTS")
	}
	if root == "" {
		tmp, err := os.MkdirTemp("", "resetgate-e2e-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("screenshots kept in %s", tmp)
				return
			}
			os.RemoveAll(tmp)
		})
		root = filepath.Join(tmp, "screenshots")
	}
	dir := filepath.Join(root, scenario)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
