package bolt_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"resetgate/reset"
	"resetgate/reset/bolt"
	"resetgate/reset/resettest"
)

// childEnv makes the test binary act as a second resetgate process (see TestMain).
const childEnv = "RESETGATE_BOLT_TEST_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(child(path))
	}
	os.Exit(m.Run())
}

// openStore opens path for the conformance suite, which closes the store itself.
func openStore(t *testing.T, path string) reset.Store {
	t.Helper()
	s, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open(%q) = %v, want nil", path, err)
	}
	return s
}

// mustOpen opens path and closes it when the test ends.
func mustOpen(t *testing.T, path string) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open(%q) = %v, want nil", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v, want nil", err)
		}
	})
	return s
}

func tempPath(t *testing.T) string { return filepath.Join(t.TempDir(), "state.db") }

func TestStore(t *testing.T) {
	resettest.TestStore(t, resettest.Factory{
		Open: func(t *testing.T) reset.Store { return openStore(t, tempPath(t)) },
		Reopen: func(t *testing.T, closed reset.Store) reset.Store {
			return openStore(t, closed.(*bolt.Store).Path())
		},
	})
}

func TestOpenInUse(t *testing.T) {
	path := tempPath(t)
	first, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open(%q) = %v, want nil", path, err)
	}
	second, err := bolt.Open(path, bolt.Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, bolt.ErrInUse) {
		second.Close()
		t.Fatalf("second Open(%q) = %v, want %v", path, err, bolt.ErrInUse)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("second Open(%q) error %q does not name the file", path, err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	// Closing releases the lock.
	mustOpen(t, path)
}

// TestKilledProcessKeepsAcceptedWrites runs a second process that enqueues jobs as fast as it
// can and prints each address once Enqueue has returned, then kills it with SIGKILL
// mid-stream: every printed job must be in the file (the promise of Enqueue), and while the
// process lived, this one could not open the file.
func TestKilledProcessKeepsAcceptedWrites(t *testing.T) {
	path := tempPath(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	lines := bufio.NewScanner(out)
	var accepted []string
	for len(accepted) < 200 && lines.Scan() {
		accepted = append(accepted, lines.Text())
	}
	if len(accepted) < 200 {
		t.Fatalf("child stopped after %d enqueues: %v", len(accepted), lines.Err())
	}

	if s, err := bolt.Open(path, bolt.Options{LockTimeout: 100 * time.Millisecond}); !errors.Is(err, bolt.ErrInUse) {
		if err == nil {
			s.Close()
		}
		t.Errorf("Open(%q) while another process has it = %v, want %v", path, err, bolt.ErrInUse)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill child: %v", err)
	}
	for lines.Scan() {
		accepted = append(accepted, lines.Text())
	}
	cmd.Wait()

	s := mustOpen(t, path)
	js, err := s.Jobs(t.Context())
	if err != nil {
		t.Fatalf("Jobs() = %v, want nil", err)
	}
	stored := make(map[string]bool, len(js))
	for _, j := range js {
		stored[j.Email] = true
	}
	for _, email := range accepted {
		if !stored[email] {
			t.Errorf("job for %s was accepted before the kill but is not in the file", email)
		}
	}
	t.Logf("%d jobs accepted before SIGKILL, %d in the file", len(accepted), len(js))
}

// child is the second process of TestKilledProcessKeepsAcceptedWrites: four goroutines
// enqueue until the process is killed (or a minute passes, should the parent be gone).
func child(path string) int {
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	stop := time.Now().Add(time.Minute)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				email := fmt.Sprintf("w%d-%d@example.com", w, i)
				err := s.Enqueue(context.Background(), reset.Job{ID: resettest.NewJobID(time.Now()), Kind: reset.JobReset, Email: email, CreatedAt: time.Now()})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				mu.Lock()
				fmt.Println(email)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return 0
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	notBolt := filepath.Join(dir, "not-bolt.db")
	if err := os.WriteFile(notBolt, []byte(strings.Repeat("this is not a bbolt file\n", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	newer := filepath.Join(dir, "newer.db")
	s, err := bolt.Open(newer, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open(%q) = %v, want nil", newer, err)
	}
	s.Close()
	rawPut(t, newer, "meta", "format", []byte("3"))

	tests := []struct {
		name, path, want string
	}{
		{"file that is not a bbolt database", notBolt, "invalid"},
		{"data written by a newer resetgate", newer, `data format "3"`},
		{"directory that does not exist", filepath.Join(dir, "missing", "state.db"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := bolt.Open(tt.path, bolt.Options{NoSync: true})
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) = nil, want an error", tt.path)
			}
			if !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q) = %q, want an error naming the file and containing %q", tt.path, err, tt.want)
			}
		})
	}
}

func TestClosedStoreFails(t *testing.T) {
	s, err := bolt.Open(tempPath(t), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open() = %v, want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	now := time.Now()
	for name, err := range map[string]error{
		"Ping":    s.Ping(t.Context()),
		"Enqueue": s.Enqueue(t.Context(), reset.Job{ID: resettest.NewJobID(time.Now()), Kind: reset.JobReset}),
		"Allow": func() error {
			_, _, err := s.Allow(t.Context(), "k", 1, time.Minute, now)
			return err
		}(),
		"ClaimToken": func() error {
			_, err := s.ClaimToken(t.Context(), "id", now, now)
			return err
		}(),
	} {
		if err == nil || !strings.HasPrefix(err.Error(), "bolt: ") {
			t.Errorf("%s after Close = %v, want a bolt: error", name, err)
		}
	}
}

func TestCancelledContextWritesNothing(t *testing.T) {
	s := mustOpen(t, tempPath(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Enqueue(ctx, reset.Job{ID: resettest.NewJobID(time.Now()), Kind: reset.JobReset}); !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue(cancelled) = %v, want %v", err, context.Canceled)
	}
	if js, err := s.Jobs(t.Context()); err != nil || len(js) != 0 {
		t.Errorf("Jobs() after a cancelled Enqueue = %+v, %v, want none", js, err)
	}
}

func TestBadArguments(t *testing.T) {
	s := mustOpen(t, tempPath(t))
	if _, _, err := s.Allow(t.Context(), "k", 1, 0, time.Now()); err == nil {
		t.Errorf("Allow(window 0) = nil error, want one")
	}
	if _, err := s.Secret(t.Context(), "k", 32); err != nil {
		t.Fatalf("Secret(%q, 32) = %v, want nil", "k", err)
	}
	for _, size := range []int{16, 0} {
		if _, err := s.Secret(t.Context(), "k", size); err == nil {
			t.Errorf("Secret(%q, %d) of a 32-byte secret = nil error, want one", "k", size)
		}
	}
}

// Calls share transactions; one that fails must not fail the others in its transaction.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	s := mustOpen(t, tempPath(t))
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-gate
			if i%2 == 0 {
				errs[i] = s.AckJob(t.Context(), reset.Job{ID: fmt.Sprintf("missing-%d", i)})
			} else {
				errs[i] = s.Enqueue(t.Context(), reset.Job{ID: resettest.NewJobID(time.Now()), Kind: reset.JobReset, Email: fmt.Sprintf("u%d@example.com", i)})
			}
		})
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if i%2 == 0 && !errors.Is(err, reset.ErrJobNotFound) {
			t.Errorf("AckJob #%d of a missing job = %v, want %v", i, err, reset.ErrJobNotFound)
		}
		if i%2 == 1 && err != nil {
			t.Errorf("Enqueue #%d = %v, want nil", i, err)
		}
	}
	if js, err := s.Jobs(t.Context()); err != nil || len(js) != n/2 {
		t.Errorf("Jobs() = %d jobs, %v, want %d, nil", len(js), err, n/2)
	}
}

// Close while requests are still arriving: the calls before it commit, the later ones fail,
// and nothing hangs.
func TestCloseUnderLoad(t *testing.T) {
	path := tempPath(t)
	s, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open(%q) = %v, want nil", path, err)
	}
	var ok atomic.Int64
	var wg sync.WaitGroup
	started := make(chan struct{})
	var once sync.Once
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				err := s.Enqueue(context.Background(), reset.Job{ID: resettest.NewJobID(time.Now()), Kind: reset.JobReset, Email: fmt.Sprintf("w%d-%d@example.com", w, i)})
				if err != nil {
					if !strings.HasPrefix(err.Error(), "bolt: enqueue job: ") {
						t.Errorf("Enqueue after Close = %v, want a bolt: enqueue job: error", err)
					}
					return
				}
				ok.Add(1)
				once.Do(func() { close(started) })
			}
		})
	}
	<-started
	if err := s.Close(); err != nil {
		t.Errorf("Close() = %v, want nil", err)
	}
	wg.Wait()
	s = mustOpen(t, path)
	js, err := s.Jobs(t.Context())
	if err != nil || int64(len(js)) != ok.Load() {
		t.Errorf("after Close, Jobs() = %d jobs, %v; want the %d that Enqueue accepted", len(js), err, ok.Load())
	}
}
