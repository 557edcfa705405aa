package resettest

import (
	"fmt"
	"testing"
	"time"

	"resetgate/reset"
)

// The cases below check the bounds of issue 20, item 6: dead and delayed jobs neither slow
// the queue down nor stay forever, and the queue can be counted without listing it.

// parked is how many dead and how many delayed jobs testNextJobSkipsParked stores.
const parked = 150

func testNextJobSkipsParked(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	for i := range parked {
		dead := newJob(fmt.Sprintf("dead%d@example.com", i), now)
		dead.Dead, dead.DeadAt, dead.Attempts = true, now, 10
		mustEnqueue(t, s, dead)
		delayed := newJob(fmt.Sprintf("delayed%d@example.com", i), now)
		delayed.NotBefore = now.Add(time.Hour + time.Duration(i)*time.Second)
		mustEnqueue(t, s, delayed)
	}
	due := newJob("due@example.com", now)
	mustEnqueue(t, s, due)
	wantNextJob(t, s, now, now.Add(2*time.Hour), due) // held past the delayed ones
	wantNoJob(t, s, now.Add(time.Hour-time.Millisecond))
	if got, want := mustStats(t, s, now), (reset.QueueStats{Delayed: parked, Leased: 1, Dead: parked}); got != want {
		t.Errorf("Stats(%v) = %+v, want %+v", now, got, want)
	}
	// The first delayed job falls due at its NotBefore, the dead ones never.
	first := mustJobs(t, s)[1]
	if first.Email != "delayed0@example.com" {
		t.Fatalf("Jobs()[1] = %+v, want delayed0@example.com", first)
	}
	at := now.Add(time.Hour)
	wantNextJob(t, s, at, at.Add(time.Minute), first)
	wantNoJob(t, s, at)
}

func testStats(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	if got := mustStats(t, s, now); got != (reset.QueueStats{}) {
		t.Errorf("Stats() of an empty store = %+v, want zeros", got)
	}
	js := mustEnqueueAll(t, s, now, "leased@example.com", "backoff@example.com", "dead@example.com", "due1@example.com", "due2@example.com")
	leased := mustNextJob(t, s, now, now.Add(time.Minute))
	backoff := wantNextJob(t, s, now, now.Add(time.Minute), js[1])
	backoff.NotBefore, backoff.Attempts = now.Add(2*time.Minute), 1
	mustRetry(t, s, backoff)
	dead := wantNextJob(t, s, now, now.Add(time.Minute), js[2])
	dead.Dead, dead.DeadAt = true, now
	mustRetry(t, s, dead)
	for _, c := range []struct {
		at   time.Time
		want reset.QueueStats
	}{
		{now, reset.QueueStats{Due: 2, Delayed: 1, Leased: 1, Dead: 1}},
		{leased.LeasedUntil, reset.QueueStats{Due: 3, Delayed: 1, Dead: 1}},             // the lease lapsed
		{backoff.NotBefore, reset.QueueStats{Due: 4, Dead: 1}},                          // the backoff ended
		{now.Add(-time.Hour), reset.QueueStats{Due: 2, Delayed: 1, Leased: 1, Dead: 1}}, // nothing moved
	} {
		got := mustStats(t, s, c.at)
		if got != c.want {
			t.Errorf("Stats(%v) = %+v, want %+v", c.at, got, c.want)
		}
		if got.Live() != 4 {
			t.Errorf("Stats(%v).Live() = %d, want 4", c.at, got.Live())
		}
	}
}

func testDeleteDead(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	js := mustEnqueueAll(t, s, now, "old@example.com", "recent@example.com", "live@example.com", "waiting@example.com")
	for i, j := range js[:2] {
		j.Dead, j.DeadAt, j.LastError = true, now.Add(time.Duration(i)*time.Hour), "550"
		mustRetry(t, s, j)
	}
	mustNextJob(t, s, now, now.Add(time.Minute)) // the live job, leased
	wantDeleted := func(before time.Time, want int) {
		t.Helper()
		if n, err := s.DeleteDead(t.Context(), before); err != nil || n != want {
			t.Errorf("DeleteDead(%v) = %d, %v, want %d, nil", before, n, err, want)
		}
	}
	wantDeleted(now, 0) // given up on exactly then: not before
	wantDeleted(now.Add(time.Hour), 1)
	wantDeleted(now.Add(time.Hour), 0)
	got := mustJobs(t, s)
	if len(got) != 3 || got[0].ID != js[1].ID || got[1].ID != js[2].ID || got[2].ID != js[3].ID {
		t.Fatalf("Jobs() after DeleteDead = %+v, want %q, %q and %q", got, js[1].ID, js[2].ID, js[3].ID)
	}
	if st := mustStats(t, s, now); st != (reset.QueueStats{Due: 1, Leased: 1, Dead: 1}) {
		t.Errorf("Stats() after DeleteDead = %+v, want one due, one leased, one dead", st)
	}
	wantDeleted(now.Add(24*time.Hour), 1)
	if st := mustStats(t, s, now); st.Dead != 0 || st.Live() != 2 {
		t.Errorf("Stats() after deleting every dead job = %+v, want no dead and 2 live", st)
	}
}
