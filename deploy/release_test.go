package deploy

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"resetgate/internal/testenv"
)

// testVersion is the version the tests release; a pre-release, so it sorts below real ones.
const testVersion = "v0.0.0-test"

var rel struct {
	once    sync.Once
	dist    string // the first build's dist directory
	commit  string
	cleanup []string
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range rel.cleanup {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// need stops the test when a command it shells out to is missing: a skip, or with CI=true a
// failure (testenv.Need).
func need(t *testing.T, tool, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	testenv.Need(t, tool+" (Debian package "+pkg+")", err)
	return p
}

// buildRelease clones HEAD into a fresh directory and runs `make release` there, as from a
// clean clone. Uncommitted changes are not in the clone: commit before testing a release.
func buildRelease(umask string, env ...string) (dist, commit, dir string, err error) {
	top, err := output("..", "git", "rev-parse", "--show-toplevel")
	if err != nil {
		return "", "", "", fmt.Errorf("not a git checkout (make release needs one): %v", err)
	}
	if commit, err = output(top, "git", "rev-parse", "HEAD"); err != nil {
		return "", "", "", err
	}
	if dir, err = os.MkdirTemp("", "resetgate-release-"); err != nil {
		return "", "", "", err
	}
	src := filepath.Join(dir, "src")
	if _, err := output(top, "git", "clone", "--quiet", "--no-checkout", top, src); err != nil {
		return "", "", dir, err
	}
	if _, err := output(src, "git", "checkout", "--quiet", "--detach", commit); err != nil {
		return "", "", dir, err
	}
	cmd := exec.Command("sh", "-c", "umask "+umask+" && exec make release VERSION="+testVersion)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", dir, fmt.Errorf("make release: %v\n%s", err, out)
	}
	return filepath.Join(src, "dist"), commit, dir, nil
}

// release returns the dist directory of `make release VERSION=v0.0.0-test`, built once per run.
func release(t *testing.T) string {
	t.Helper()
	need(t, "git", "git")
	need(t, "make", "make")
	rel.once.Do(func() {
		var dir string
		rel.dist, rel.commit, dir, rel.err = buildRelease("022")
		if dir != "" {
			rel.cleanup = append(rel.cleanup, dir)
		}
	})
	if rel.err != nil {
		t.Fatal(rel.err)
	}
	return rel.dist
}

// hostBinary is the release's binary for this machine.
func hostBinary(t *testing.T) string {
	t.Helper()
	return filepath.Join(release(t), "resetgate_"+testVersion+"_linux_"+runtime.GOARCH)
}

func output(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestReleaseHasEveryArtefactWithChecksums(t *testing.T) {
	dist := release(t)
	want := []string{"SHA256SUMS"}
	for _, arch := range []string{"amd64", "arm64"} {
		bin := "resetgate_" + testVersion + "_linux_" + arch
		want = append(want, bin, bin+".cdx.json")
	}
	want = append(want,
		"resetgate_0.0.0~test-1_amd64.deb", "resetgate_0.0.0~test-1_arm64.deb",
		"resetgate-0.0.0~test-1.x86_64.rpm", "resetgate-0.0.0~test-1.aarch64.rpm")
	for _, f := range want {
		if _, err := os.Stat(filepath.Join(dist, f)); err != nil {
			t.Errorf("release artefact missing: %v", err)
		}
	}
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(sums), "\n"); n != len(want)-1 {
		t.Errorf("SHA256SUMS has %d lines, want one per artefact (%d):\n%s", n, len(want)-1, sums)
	}
	cmd := exec.Command("sha256sum", "--check", "--strict", "SHA256SUMS")
	cmd.Dir = dist
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sha256sum --check: %v\n%s", err, out)
	}
}

func TestReleaseBinariesAreStaticAndStamped(t *testing.T) {
	dist := release(t)
	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		path := filepath.Join(dist, "resetgate_"+testVersion+"_linux_"+arch)
		f, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if f.Machine != machine {
			t.Errorf("%s: machine %v, want %v", path, f.Machine, machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s asks for a dynamic loader: not static", path)
			}
		}
		f.Close()
		info := mustRun(t, "go", "version", "-m", path)
		for _, s := range []string{"-trimpath=true", "CGO_ENABLED=0"} {
			if !strings.Contains(info, s) {
				t.Errorf("%s: build info lacks %q:\n%s", path, s, info)
			}
		}
		// The commit and its date are stamped with -X; VCS stamping is off, so the binary does
		// not depend on the checkout's state (-buildvcs=false).
		if strings.Contains(info, "vcs.") {
			t.Errorf("%s: build info has VCS settings:\n%s", path, info)
		}
	}
	out := mustRun(t, hostBinary(t), "version")
	date, err := output("..", "git", "log", "-1", "--format=%cd", "--date=format-local:%Y-%m-%dT%H:%M:%SZ", rel.commit)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("resetgate %s (commit %s, %s, ", testVersion, rel.commit[:12], date)
	if !strings.HasPrefix(out, want) {
		t.Errorf("resetgate version = %q, want it to start %q", out, want)
	}
}

// TestTwoBuildsOfACommitAreIdentical builds the release a second time, from another clone at
// another path, with another umask and time zone, and compares every artefact byte for byte.
// The two builds share the Go build cache; with RESETGATE_FRESH_CACHE=1 the second uses an
// empty one, compiling everything again (minutes longer).
func TestTwoBuildsOfACommitAreIdentical(t *testing.T) {
	first, err := os.ReadFile(filepath.Join(release(t), "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"TZ=Pacific/Kiritimati", "LC_ALL=C"}
	if os.Getenv("RESETGATE_FRESH_CACHE") == "1" {
		env = append(env, "GOCACHE="+t.TempDir())
	}
	dist, _, dir, err := buildRelease("077", env...)
	if dir != "" {
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("two builds of %s differ:\nfirst:\n%s\nsecond:\n%s", rel.commit, first, second)
	}
}

func TestSBOMListsTheModulesOfTheBinary(t *testing.T) {
	dist := release(t)
	var bom struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
		Metadata    struct {
			Component struct{ Name, Version string } `json:"component"`
		} `json:"metadata"`
		Components []struct{ Name, Version, Purl string } `json:"components"`
	}
	b, err := os.ReadFile(filepath.Join(dist, "resetgate_"+testVersion+"_linux_arm64.cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &bom); err != nil {
		t.Fatal(err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.Metadata.Component.Name != "resetgate" {
		t.Errorf("not resetgate's CycloneDX SBOM: format %q, component %q", bom.BOMFormat, bom.Metadata.Component.Name)
	}
	// Every module the arm64 binary is linked from, with its version, and nothing test-only.
	deps, err := output("..", "go", "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{end}}{{end}}", ".")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, c := range bom.Components {
		have[c.Name] = c.Version
	}
	sc := bufio.NewScanner(strings.NewReader(deps))
	for sc.Scan() {
		if path, version, ok := strings.Cut(sc.Text(), " "); ok && have[path] != version {
			t.Errorf("SBOM: module %s is %q, want %q", path, have[path], version)
		}
	}
	for _, testOnly := range []string{"github.com/chromedp/chromedp", "github.com/trustelem/zxcvbn", "go.yaml.in/yaml/v3"} {
		if _, ok := have[testOnly]; ok {
			t.Errorf("SBOM lists %s, which is not in the binary", testOnly)
		}
	}
}
