// Package lowprio runs CPU-heavy work, password hashing above all, on OS threads of the
// lowest scheduling priority, so that the proxy's own threads, the app behind it and
// everything else on the machine keep the CPUs while a burst of resets is hashed (issue 17:
// with hashes at normal priority, the proxied p99 grew 9–13× during 200 completions).
//
// Each worker goroutine is locked to its OS thread and that thread alone is reniced (on
// Linux, setpriority(2) with a thread id changes one thread). The Go scheduler still decides
// which goroutine runs on which thread; the kernel decides which runnable thread gets a CPU,
// and a nice-19 thread gets one only when nothing of normal priority wants it. Elsewhere the
// threads keep their priority and the package only bounds concurrency.
package lowprio

import (
	"runtime"
	"sync"
)

// Nice is the priority the workers' threads run at: the lowest a process may set.
const Nice = 19

// Pool is a fixed set of low-priority threads. Its methods are safe for concurrent use.
type Pool struct {
	work chan func()
	wg   sync.WaitGroup
	once sync.Once
	// Lowered reports whether the threads' priority could be lowered (false on systems
	// without per-thread priorities, or when the kernel refused).
	Lowered bool
}

// Start starts n worker threads (at least 1).
func Start(n int) *Pool {
	p := &Pool{work: make(chan func())}
	lowered := make(chan bool, max(1, n))
	for range max(1, n) {
		p.wg.Go(func() {
			runtime.LockOSThread() // this thread is reniced: never hand it back to the runtime
			lowered <- lower()
			for f := range p.work {
				f()
			}
		})
	}
	p.Lowered = true
	for range max(1, n) {
		p.Lowered = <-lowered && p.Lowered
	}
	return p
}

// Do runs f on one of the pool's threads and returns when it has. A panic in f is raised
// again in the caller's goroutine, as if f had run there.
func (p *Pool) Do(f func()) {
	done := make(chan any, 1)
	p.work <- func() {
		defer func() { done <- recover() }()
		f()
	}
	if r := <-done; r != nil {
		panic(r)
	}
}

// Close stops the threads once the calls in progress return. Do must not be called after.
func (p *Pool) Close() {
	p.once.Do(func() { close(p.work) })
	p.wg.Wait()
}
