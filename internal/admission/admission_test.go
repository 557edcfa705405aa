package admission

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAtMostNInside(t *testing.T) {
	g := New(3, time.Minute)
	var inside, most atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_, done, err := g.Enter(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			defer done()
			n := inside.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
		})
	}
	wg.Wait()
	if m := most.Load(); m != 3 {
		t.Errorf("at most %d inside at once, want 3", m)
	}
	if st := g.Stats(); st != (Stats{Places: 3}) {
		t.Errorf("Stats() after = %+v, want 3 places and nothing else", st)
	}
}

// Waiters get in in the order they came, and a place given back goes to the first of them
// even when a newcomer asks at that moment.
func TestFirstComeFirstServed(t *testing.T) {
	g := New(1, time.Minute)
	_, done, err := g.Enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 5)
	var dones [5]func()
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			_, d, err := g.Enter(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			dones[i] = d
			order <- i
		})
		waitFor(t, func() bool { return g.Stats().Waiting == i+1 })
	}
	done()
	for want := range 5 {
		got := <-order
		if got != want {
			t.Fatalf("waiter %d got in as number %d", got, want)
		}
		if _, _, err := g.Enter(canceled()); err == nil {
			t.Fatal("a newcomer got in ahead of the waiters")
		}
		dones[got]()
	}
	wg.Wait()
}

func TestTurnedAwayAfterTheLongestWait(t *testing.T) {
	g := New(1, 20*time.Millisecond)
	_, done, _ := g.Enter(context.Background())
	defer done()
	ctx, d, err := g.Enter(context.Background())
	if !errors.Is(err, ErrBusy) || d != nil || ctx != context.Background() {
		t.Fatalf("Enter with every place taken = %v, %v; want ErrBusy and no done func", err, d != nil)
	}
	if st := g.Stats(); st != (Stats{Inside: 1, Places: 1, TurnedAway: 1}) {
		t.Errorf("Stats() = %+v, want 1 inside and 1 turned away", st)
	}
}

func TestCanceledWhileWaiting(t *testing.T) {
	g := New(1, time.Minute)
	_, done, _ := g.Enter(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, _, err := g.Enter(ctx)
		errc <- err
	}()
	waitFor(t, func() bool { return g.Stats().Waiting == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Enter after its context ended = %v, want context.Canceled", err)
	}
	done()
	if st := g.Stats(); st != (Stats{Places: 1}) {
		t.Errorf("Stats() = %+v, want nothing inside, waiting or turned away: a canceled wait takes no place", st)
	}
}

// Leave gives the place back early, once: the request's own done func after it gives back
// nothing more, and Leave on a context without a place is harmless.
func TestLeaveEarly(t *testing.T) {
	g := New(2, time.Minute)
	ctx, done, _ := g.Enter(context.Background())
	_, other, _ := g.Enter(context.Background())
	child, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	Leave(child)
	if in := g.Stats().Inside; in != 1 {
		t.Fatalf("after Leave, %d inside, want 1", in)
	}
	Leave(ctx)
	done()
	if in := g.Stats().Inside; in != 1 {
		t.Fatalf("after Leave, a second Leave and done, %d inside, want 1 (the other request)", in)
	}
	Leave(context.Background())
	other()
	if in := g.Stats().Inside; in != 0 {
		t.Errorf("%d inside at the end, want 0", in)
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// With no longest wait a caller waits for as long as its context lasts.
func TestNoLongestWait(t *testing.T) {
	g := New(1, 0)
	_, done, _ := g.Enter(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := g.Enter(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Enter = %v, want the context's deadline", err)
	}
	if away := g.Stats().TurnedAway; away != 0 {
		t.Errorf("%d turned away, want 0: without a longest wait nobody is", away)
	}
	done()
}
