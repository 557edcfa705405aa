package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It is 100 on every
// Linux architecture Go supports; the harness checks with getconf when it can.
var clockTicks = 100.0

func readClockTicks() {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return
	}
	if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && v > 0 {
		clockTicks = v
	}
}

// proc is a child process the harness started, in its own process group so that it and its
// own children (nginx's workers) can be stopped together.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string // combined stdout and stderr
	done chan struct{}
	err  error
}

// startProc starts name with args (and extra environment) in dir, logging to logPath.
func startProc(name, logPath string, env []string, bin string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group it leads, then SIGKILL after a grace period.
func (p *proc) stop() {
	if p == nil || p.exited() {
		return
	}
	syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
}

// tail returns the last lines of the process's log, for error messages.
func (p *proc) tail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHTTP polls url until it answers 200, the process exits or the timeout passes.
func waitHTTP(p *proc, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited (%v):\n%s", p.name, p.err, p.tail())
		}
		resp, err := c.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	name := "server"
	if p != nil {
		name = p.name
		return fmt.Errorf("%s: %s did not answer 200 within %s:\n%s", name, url, timeout, p.tail())
	}
	return fmt.Errorf("%s did not answer 200 within %s", url, timeout)
}

// cpuTicks returns utime+stime of pid (all its threads), in clock ticks.
func cpuTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// parseStatCPU extracts utime+stime from the text of /proc/PID/stat. The command name (field
// 2) is in parentheses and may itself contain spaces and parentheses, so fields are counted
// from the last ')'.
func parseStatCPU(b []byte) (uint64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("stat: no ')'")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the name", len(f))
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("stat: %w", err)
	}
	return u + s, nil
}

// statusKB returns the named fields ("VmRSS", "VmHWM") of /proc/PID/status, in KiB.
func statusKB(pid int, names ...string) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseStatus(f, names...)
}

func parseStatus(r io.Reader, names ...string) (map[string]int64, error) {
	out := make(map[string]int64, len(names))
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, n := range names {
			if k == n {
				f := strings.Fields(v)
				if len(f) == 0 {
					return nil, fmt.Errorf("status: %s has no value", k)
				}
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err != nil {
					return nil, fmt.Errorf("status: %s: %w", k, err)
				}
				out[k] = kb
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("status: no %s", n)
		}
	}
	return out, nil
}

// children returns the pids whose parent is pid (nginx's workers).
func children(pid int) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		if c, err := strconv.Atoi(filepath.Base(filepath.Dir(d))); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// group is the set of processes that make up one proxy: one Go process, or nginx's master
// and workers. CPU and memory are summed over it.
type group []int

func (g group) cpu() (uint64, error) {
	var sum uint64
	for _, pid := range g {
		t, err := cpuTicks(pid)
		if err != nil {
			return 0, err
		}
		sum += t
	}
	return sum, nil
}

// memKB sums a /proc status field (VmRSS, VmHWM) over the group.
func (g group) memKB(field string) (int64, error) {
	var sum int64
	for _, pid := range g {
		m, err := statusKB(pid, field)
		if err != nil {
			return 0, err
		}
		sum += m[field]
	}
	return sum, nil
}

// resetPeak resets VmHWM to the current RSS (Linux ≥ 4.0: "5" in clear_refs), so that the
// next VmHWM is the peak of what follows. It reports whether the kernel allowed it.
func (g group) resetPeak() bool {
	for _, pid := range g {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
			return false
		}
	}
	return true
}

// peakSampler samples the group's VmRSS every interval until stopped: the fallback when
// VmHWM cannot be reset, and a cross-check when it can.
type peakSampler struct {
	stopc chan struct{}
	done  chan int64
}

func samplePeak(g group, interval time.Duration) *peakSampler {
	s := &peakSampler{stopc: make(chan struct{}), done: make(chan int64, 1)}
	go func() {
		var peak int64
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if v, err := g.memKB("VmRSS"); err == nil && v > peak {
				peak = v
			}
			select {
			case <-s.stopc:
				s.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *peakSampler) stop() int64 {
	close(s.stopc)
	return <-s.done
}

// runCmd runs a command to completion and returns its combined output.
func runCmd(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
