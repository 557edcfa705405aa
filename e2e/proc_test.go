package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"resetgate/internal/testenv"
)

// proc is a server the test runs as a child process (a legacy app, resetgate), with its output
// kept so that a failing test can show it.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *testenv.Buffer
	exited chan struct{}
}

// launch starts cmd; the caller stops it with stop or hands it to keep.
func launch(name string, cmd *exec.Cmd) (*proc, error) {
	p := &proc{name: name, cmd: cmd, out: &testenv.Buffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { cmd.Wait(); close(p.exited) }()
	return p, nil
}

// stop asks the process to end (SIGTERM, so resetgate shuts down as in production) and kills
// it if it has not after a while.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// keep stops the process when the test ends and shows its output if the test failed.
func (p *proc) keep(t *testing.T) {
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("output of %s:\n%s", p.name, p.out.String())
		}
	})
}

// exitErr reports, once the process has exited, that it did, with its output.
func (p *proc) exitErr() error {
	return fmt.Errorf("%s exited (%v); output:\n%s", p.name, p.cmd.ProcessState, p.out.String())
}

// startOnFreePort starts a server on a port that was free a moment ago. Another process can
// take the port in between, so a server that exits before it is ready is started again on a
// new port. ready waits until the server answers; it must return when p.exited closes.
func startOnFreePort(t *testing.T, name string, cmdFor func(port int) *exec.Cmd, ready func(ctx context.Context, p *proc, port int) error) (*proc, int) {
	t.Helper()
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("%s: find a free port: %v", name, err)
		}
		p, err := launch(name, cmdFor(port))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
		err = ready(ctx, p, port)
		cancel()
		if err == nil {
			p.keep(t)
			return p, port
		}
		p.stop()
		lastErr = err
	}
	t.Fatalf("%s did not start: %v", name, lastErr)
	return nil, 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTP polls url until the server answers with any status, or the process exits.
func waitHTTP(ctx context.Context, p *proc, url string) error {
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-p.exited:
			return p.exitErr()
		case <-ctx.Done():
			return fmt.Errorf("%s: no answer at %s: %v; output:\n%s", p.name, url, err, p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitLog waits for the log line whose msg is msg and returns its attributes as strings. It
// reads resetgate's slog output in both of its formats: JSON (serve, when stderr is not a
// terminal) and text (the demo).
func waitLog(ctx context.Context, p *proc, msg string) (map[string]string, error) {
	for {
		for line := range strings.Lines(p.out.String()) {
			if attrs := parseLogLine(line); attrs["msg"] == msg {
				return attrs, nil
			}
		}
		select {
		case <-p.exited:
			return nil, p.exitErr()
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: no log line %q: %w; output:\n%s", p.name, msg, ctx.Err(), p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var textAttr = regexp.MustCompile(`([A-Za-z0-9_.]+)=("(?:[^"\\]|\\.)*"|\S*)`)

// parseLogLine returns the attributes of one slog line, JSON or text, or nil.
func parseLogLine(line string) map[string]string {
	line = strings.TrimSpace(line)
	attrs := map[string]string{}
	if strings.HasPrefix(line, "{") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			return nil
		}
		for k, v := range m {
			if s, ok := v.(string); ok {
				attrs[k] = s
			} else {
				attrs[k] = fmt.Sprint(v)
			}
		}
		return attrs
	}
	for _, m := range textAttr.FindAllStringSubmatch(line, -1) {
		v := m[2]
		if strings.HasPrefix(v, `"`) {
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
		}
		attrs[m[1]] = v
	}
	return attrs
}

// logProblems returns the lines of a server's output that show trouble (an exception, a PHP
// warning, a resetgate error), which the journey's pages alone might not reveal.
func logProblems(out string, bad ...string) []string {
	var problems []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		for _, b := range bad {
			if strings.Contains(sc.Text(), b) {
				problems = append(problems, sc.Text())
				break
			}
		}
	}
	return problems
}

// need returns an error when the executable is missing, for testenv.Need.
func need(path string) error {
	if _, err := exec.LookPath(path); err != nil {
		return err
	}
	return nil
}

// runTool runs a helper command (a seed script) and returns its error with its output.
func runTool(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}
