package examples_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A guide's commands are its fenced blocks preceded by a marker comment:
//
//	<!-- guide: packages -->  run, but apt-get and go install lines only check that the
//	                          package or tool is there (CI's .ci/run installs them)
//	<!-- guide: run -->       run as written, in one bash script, in order
//	<!-- guide: file NAME --> written to NAME in the script's directory at that point
//
// Blocks without a marker are for reading only (they hold placeholders such as "…").
type block struct {
	kind, arg, body string
	line            int
}

var markerRE = regexp.MustCompile(`^<!-- guide: (packages|run|file)(?: (\S+))? -->$`)

// parseGuide returns the marked blocks of a Markdown guide, failing on a marker that is not
// followed by a fenced block.
func parseGuide(md string) ([]block, error) {
	var blocks []block
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		m := markerRE.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			continue
		}
		j := i + 1
		for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
			j++
		}
		if j >= len(lines) || !strings.HasPrefix(strings.TrimSpace(lines[j]), "```") {
			return nil, fmt.Errorf("line %d: marker %q is not followed by a fenced block", i+1, m[0])
		}
		var body []string
		k := j + 1
		for ; k < len(lines) && strings.TrimSpace(lines[k]) != "```"; k++ {
			body = append(body, lines[k])
		}
		if k >= len(lines) {
			return nil, fmt.Errorf("line %d: fenced block never closed", j+1)
		}
		blocks = append(blocks, block{kind: m[1], arg: m[2], body: strings.Join(body, "\n") + "\n", line: i + 1})
		i = k
	}
	return blocks, nil
}

var (
	aptRE       = regexp.MustCompile(`^\$SUDO apt-get install -y ([a-z0-9.+\- ]+)$`)
	goInstallRE = regexp.MustCompile(`^go install ([\w./-]+)/(\w+)@\S+`)
)

// packagesCheck turns a packages block into commands that only check: each apt-get install
// line becomes a dpkg-query for its packages, each go install line a look for the binary.
func packagesCheck(body string) string {
	var out []string
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		code := strings.TrimSpace(strings.SplitN(line, "#", 2)[0])
		switch {
		case aptRE.MatchString(code):
			pkgs := aptRE.FindStringSubmatch(code)[1]
			out = append(out, fmt.Sprintf(`for p in %s; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || { echo "package $p is not installed ($SUDO apt-get install -y $p)"; exit 1; }; done`, pkgs))
		case goInstallRE.MatchString(code):
			m := goInstallRE.FindStringSubmatch(code)
			out = append(out, fmt.Sprintf(`command -v %[1]s >/dev/null || test -x "$(go env GOPATH)/bin/%[1]s" || { echo "%[1]s is not installed (%[2]s)"; exit 1; }`, m[2], code))
		default:
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// script is the guide's commands as one bash script that stops at the first failing command.
func script(blocks []block, packagesOnly bool) string {
	var b strings.Builder
	b.WriteString("set -euo pipefail\n")
	for _, bl := range blocks {
		fmt.Fprintf(&b, "# --- guide line %d: %s %s\n", bl.line, bl.kind, bl.arg)
		switch {
		case bl.kind == "packages":
			b.WriteString(packagesCheck(bl.body))
		case packagesOnly:
		case bl.kind == "run":
			b.WriteString(bl.body)
		case bl.kind == "file":
			fmt.Fprintf(&b, "cat > %s <<'GUIDE_FILE_END'\n%sGUIDE_FILE_END\n", bl.arg, bl.body)
		}
	}
	return b.String()
}

// substitute gives a run of a guide its own names and ports, so that it can run beside
// another run (or a reader's own try-out) on the same machine: every word starting with
// prefix gets a fresh one, and each listed port a free one. Nothing else changes.
func substitute(t *testing.T, s, prefix string, ports []int) (string, string, map[int]int) {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	name := "rgguide" + hex.EncodeToString(b[:])
	s = regexp.MustCompile(`\b`+prefix).ReplaceAllString(s, name)
	mapped := map[int]int{}
	for _, p := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		mapped[p] = l.Addr().(*net.TCPAddr).Port
		l.Close()
		s = regexp.MustCompile(`\b`+strconv.Itoa(p)+`\b`).ReplaceAllString(s, strconv.Itoa(mapped[p]))
	}
	return s, name, mapped
}

// mustCopyRepo copies the repository's tracked files (the guide starts "from a clone") into
// a temporary directory and returns it.
func mustCopyRepo(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files in %s: %v", root, err)
	}
	dst := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, f)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or a symlink
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// runScript runs a bash script in dir in its own process group and waits for it. Processes it
// leaves in the background (the app, Mailpit, resetgate) keep running until the test ends,
// when the whole group is stopped. The output goes to a file, since background processes
// keep it open after bash exits.
func runScript(t *testing.T, dir, name, src string, timeout time.Duration) (string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".sh")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.Command("bash", path)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() { stopGroup(pgid) })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		stopGroup(pgid)
		err = fmt.Errorf("%s did not finish within %s: %w", name, timeout, <-done)
	}
	out, _ := os.ReadFile(logPath)
	return string(out), err
}

// stopGroup ends the process group the test started: SIGTERM, then SIGKILL for whatever is
// still there after a few seconds.
func stopGroup(pgid int) {
	if syscall.Kill(-pgid, syscall.SIGTERM) != nil {
		return
	}
	for range 50 {
		if syscall.Kill(-pgid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
}

// readLog returns a file the script wrote, for failure messages and log assertions.
func readLog(dir, name string) string {
	b, _ := os.ReadFile(filepath.Join(dir, name))
	return string(b)
}

func lastLines(s string, n int) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func TestGuideMarkers(t *testing.T) {
	md := "intro\n<!-- guide: run -->\n\n```sh\necho one\n```\n```sh\necho unmarked\n```\n<!-- guide: file a.toml -->\n```toml\nx = 1\n```\n"
	blocks, err := parseGuide(md)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 || blocks[0].body != "echo one\n" || blocks[1].kind != "file" || blocks[1].arg != "a.toml" || blocks[1].body != "x = 1\n" {
		t.Errorf("parseGuide = %+v", blocks)
	}
	for _, bad := range []string{"<!-- guide: run -->\ntext\n```sh\nx\n```\n", "<!-- guide: run -->\n```sh\nnever closed\n"} {
		if _, err := parseGuide(bad); err == nil {
			t.Errorf("parseGuide(%q) = nil error, want one", bad)
		}
	}
}

func TestPackagesOnlyChecked(t *testing.T) {
	got := packagesCheck("SUDO=x\n$SUDO apt-get install -y php-cli curl\ngo install github.com/axllent/mailpit@v1.33.1   # a comment\n")
	for _, want := range []string{"SUDO=x\n", "for p in php-cli curl; do dpkg-query", `test -x "$(go env GOPATH)/bin/mailpit"`} {
		if !strings.Contains(got, want) {
			t.Errorf("packagesCheck lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "apt-get install -y php") || strings.Contains(got, "\ngo install") {
		t.Errorf("packagesCheck still installs:\n%s", got)
	}
}
