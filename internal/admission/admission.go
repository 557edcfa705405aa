// Package admission bounds how many requests are served at once and queues the rest, first
// come, first served.
//
// resetgate puts its own pages behind a [Gate] (issue 17). The Go scheduler has no
// priorities: 200 reset links opened at once ran 200 handlers side by side, and the proxied
// traffic's goroutines queued behind them (a runtime trace showed 253 goroutines runnable at
// once and waits of 59 ms, when the app's pages take 1 ms). Behind the gate such a burst is
// served a few at a time, and the app's requests find the run queue short. A request that
// goes on to wait for something that paces it anyway, a hash slot, gives its place back early
// with [Leave], so that the pages that need no hash never queue behind the hashes.
package admission

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// ErrBusy is Enter's error when no place came free within the gate's longest wait.
var ErrBusy = errors.New("admission: every place stayed taken for the longest wait")

// Gate lets at most a fixed number of requests in at once. Its methods are safe for
// concurrent use.
type Gate struct {
	places     chan struct{}
	maxWait    time.Duration
	waiting    atomic.Int64
	turnedAway atomic.Uint64
}

// New returns a gate with n places (at least 1) whose callers wait at most maxWait for one;
// with maxWait 0 they wait for as long as their context lasts.
func New(n int, maxWait time.Duration) *Gate {
	return &Gate{places: make(chan struct{}, max(1, n)), maxWait: maxWait}
}

type ticketKey struct{}

// ticket is one request's place, given back once: by Leave or by the request's end.
type ticket struct {
	g    *Gate
	left atomic.Bool
}

func (t *ticket) leave() {
	if t.left.CompareAndSwap(false, true) {
		<-t.g.places
	}
}

// Enter waits for a place, in the order of arrival, and returns the context to serve the
// request with (Leave finds the place through it) and the func that gives the place back,
// which the caller must call when the request ends. It fails with ErrBusy when the longest
// wait passes first, and with ctx's error when ctx ends first.
func (g *Gate) Enter(ctx context.Context) (context.Context, func(), error) {
	select {
	case g.places <- struct{}{}:
	default:
		if err := g.wait(ctx); err != nil {
			return ctx, nil, err
		}
	}
	t := &ticket{g: g}
	return context.WithValue(ctx, ticketKey{}, t), t.leave, nil
}

// wait queues for a place. A channel's blocked senders are woken first in, first out, and a
// place given back while some wait goes to the first of them, never to a newcomer.
func (g *Gate) wait(ctx context.Context) error {
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	var expired <-chan time.Time
	if g.maxWait > 0 {
		timer := time.NewTimer(g.maxWait)
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case g.places <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-expired:
		g.turnedAway.Add(1)
		return ErrBusy
	}
}

// Leave gives back, before the request ends, the place of the request whose context ctx is
// or derives from. Later calls, and the done func Enter returned, do nothing more; without a
// place in ctx, Leave does nothing.
func Leave(ctx context.Context) {
	if t, ok := ctx.Value(ticketKey{}).(*ticket); ok {
		t.leave()
	}
}

// Stats is a gate's state at one moment.
type Stats struct {
	Inside     int    // places taken
	Waiting    int    // requests waiting for one
	Places     int    // places in all
	TurnedAway uint64 // requests turned away (ErrBusy) so far
}

// Stats reports the gate's state now.
func (g *Gate) Stats() Stats {
	return Stats{Inside: len(g.places), Waiting: int(g.waiting.Load()), Places: cap(g.places), TurnedAway: g.turnedAway.Load()}
}
