package lowprio

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// The work runs on a thread whose nice value is Nice, and the caller's thread keeps its own.
func TestWorkRunsAtTheLowestPriority(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("per-thread priorities are Linux's")
	}
	p := Start(2)
	defer p.Close()
	if !p.Lowered {
		t.Fatal("the threads' priority was not lowered")
	}
	var nice, tid int
	p.Do(func() { tid = syscall.Gettid(); nice = threadNice(t, tid) })
	if nice != Nice {
		t.Errorf("nice of the worker thread %d = %d, want %d", tid, nice, Nice)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if own := threadNice(t, syscall.Gettid()); own == Nice {
		t.Errorf("the caller's thread was reniced too")
	}
}

// threadNice reads a thread's nice value from /proc (field 19 of stat).
func threadNice(t *testing.T, tid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	n, err := strconv.Atoi(fields[16])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDoWaitsAndPropagatesPanics(t *testing.T) {
	p := Start(1)
	defer p.Close()
	var n atomic.Int64
	for range 100 {
		p.Do(func() { n.Add(1) })
	}
	if n.Load() != 100 {
		t.Fatalf("ran %d of 100", n.Load())
	}
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("recover() = %v, want the work's panic", r)
		}
		p.Do(func() {}) // the pool survives a panicking call
	}()
	p.Do(func() { panic("boom") })
}
