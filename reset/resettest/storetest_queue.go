package resettest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"resetgate/reset"
)

func testEmptyQueue(t *testing.T, f Factory) {
	s := f.open(t)
	wantNoJob(t, s, start())
	if js := mustJobs(t, s); len(js) != 0 {
		t.Errorf("Jobs() of an empty store = %d jobs, want 0", len(js))
	}
}

func testEnqueueFields(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	want := []reset.Job{
		{ID: NewJobID(now), Kind: reset.JobReset, Email: "a@example.com", ClientIP: "192.0.2.1", CreatedAt: now, Language: "pt-BR"},
		{ID: NewJobID(now), Kind: reset.JobNotice, UserID: "42", ClientIP: "2001:db8::1", CreatedAt: now.Add(time.Second),
			OldFingerprint: "fp-old", NewFingerprint: "fp-new", Language: "ar",
			Attempts: 2, NotBefore: now.Add(time.Minute), LastError: "421 try later"},
		{ID: NewJobID(now), Kind: reset.JobReset, Email: "c@example.com", CreatedAt: now.Add(2 * time.Second)},
		{ID: NewJobID(now), Kind: reset.JobReset, Username: "dora", ClientIP: "192.0.2.4", CreatedAt: now.Add(3 * time.Second)},
	}
	for _, j := range want {
		mustEnqueue(t, s, j)
	}
	got := mustJobs(t, s)
	if len(got) != len(want) {
		t.Fatalf("Jobs() = %d jobs, want %d", len(got), len(want))
	}
	for i := range got {
		if !sameJob(got[i], want[i]) {
			t.Errorf("Jobs()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func testEnqueueNoID(t *testing.T, f Factory) {
	s := f.open(t)
	j := newJob("a@example.com", start())
	j.ID = ""
	if err := s.Enqueue(t.Context(), j); err == nil {
		t.Errorf("Enqueue(job without id) = nil, want an error")
	}
	if got := mustJobs(t, s); len(got) != 0 {
		t.Errorf("Jobs() after a refused Enqueue = %+v, want none", got)
	}
}

func testEnqueueTwice(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	j := newJob("a@example.com", now)
	mustEnqueue(t, s, j)
	// A retried call (its first reply was lost) changes nothing, even with other fields.
	again := j
	again.Email = "changed@example.com"
	mustEnqueue(t, s, again)
	if got := mustJobs(t, s); len(got) != 1 || !sameJob(got[0], j) {
		t.Fatalf("Jobs() after enqueueing %q twice = %+v, want [%+v]", j.ID, got, j)
	}
	// Nor does it revive or reset a job that is being worked on.
	leased := wantNextJob(t, s, now, now.Add(time.Minute), j)
	mustEnqueue(t, s, j)
	if got := mustJobs(t, s); len(got) != 1 || !sameJob(got[0], leased) {
		t.Errorf("Jobs() after enqueueing a leased job's id = %+v, want [%+v]", got, leased)
	}
	wantNoJob(t, s, now)
	if err := s.AckJob(t.Context(), leased); err != nil {
		t.Errorf("AckJob(%q) = %v, want nil", j.ID, err)
	}
}

func testEnqueueSameIDConcurrent(t *testing.T, f Factory) {
	s := f.open(t)
	j := newJob("a@example.com", start())
	const n = 20
	errs := make([]error, n)
	Concurrently(n, func(i int) { errs[i] = s.Enqueue(t.Context(), j) })
	for i, err := range errs {
		if err != nil {
			t.Errorf("Enqueue #%d = %v, want nil", i, err)
		}
	}
	if got := mustJobs(t, s); len(got) != 1 || !sameJob(got[0], j) {
		t.Errorf("Jobs() after %d concurrent enqueues of %q = %+v, want [%+v]", n, j.ID, got, j)
	}
}

func testEnqueueConcurrent(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	const n = 50
	errs := make([]error, n)
	Concurrently(n, func(i int) {
		errs[i] = s.Enqueue(t.Context(), newJob(fmt.Sprintf("u%d@example.com", i), now))
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("Enqueue #%d = %v, want nil", i, err)
		}
	}
	js := mustJobs(t, s)
	ids, emails := make(map[string]bool), make(map[string]bool)
	for _, j := range js {
		ids[j.ID] = true
		emails[j.Email] = true
	}
	if len(js) != n || len(ids) != n || len(emails) != n {
		t.Errorf("after %d concurrent enqueues: %d jobs, %d distinct ids, %d distinct addresses; want %d of each",
			n, len(js), len(ids), len(emails), n)
	}
	for i := 1; i < len(js); i++ {
		if js[i].ID <= js[i-1].ID {
			t.Errorf("Jobs() lists %q before %q, want id order", js[i-1].ID, js[i].ID)
		}
	}
}

func testNextJobOrder(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	js := mustEnqueueAll(t, s, now, "a@example.com", "b@example.com", "c@example.com")
	until := now.Add(time.Minute)
	for _, want := range js {
		wantNextJob(t, s, now, until, want)
	}
	wantNoJob(t, s, now)
	// The leases are stored, not only returned.
	for _, j := range mustJobs(t, s) {
		if !j.LeasedUntil.Equal(until) {
			t.Errorf("Jobs(): job %q LeasedUntil = %v, want %v", j.ID, j.LeasedUntil, until)
		}
	}
}

func testNextJobNotBefore(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	later := newJob("later@example.com", now)
	later.NotBefore = now.Add(time.Minute)
	mustEnqueue(t, s, later)
	mustEnqueue(t, s, newJob("now@example.com", now))
	js := mustJobs(t, s)
	wantNextJob(t, s, now, now.Add(time.Hour), js[1])
	wantNoJob(t, s, later.NotBefore.Add(-time.Millisecond))
	wantNextJob(t, s, later.NotBefore, later.NotBefore.Add(time.Minute), js[0])
}

func testNextJobConcurrent(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	mustEnqueueAll(t, s, now, "a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com")
	const workers = 20
	got := make([]reset.Job, workers)
	errs := make([]error, workers)
	Concurrently(workers, func(i int) {
		got[i], errs[i] = s.NextJob(t.Context(), now, now.Add(time.Minute))
	})
	delivered := make(map[string]int)
	for i, err := range errs {
		switch {
		case err == nil:
			delivered[got[i].ID]++
		case !errors.Is(err, reset.ErrNoJob):
			t.Errorf("NextJob #%d = %v, want nil or %v", i, err, reset.ErrNoJob)
		}
	}
	if len(delivered) != 5 {
		t.Errorf("%d concurrent workers got %d distinct jobs, want all 5", workers, len(delivered))
	}
	for id, n := range delivered {
		if n != 1 {
			t.Errorf("job %q was delivered to %d workers, want 1", id, n)
		}
	}
}

func testLeaseExpiry(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	js := mustEnqueueAll(t, s, now, "a@example.com")
	until := now.Add(time.Minute)
	wantNextJob(t, s, now, until, js[0])
	wantNoJob(t, s, until.Add(-time.Millisecond))
	// The worker died: at `until` the job is due again, attempts unchanged.
	wantNextJob(t, s, until, until.Add(time.Minute), js[0])
}

func testAckJob(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	js := mustEnqueueAll(t, s, now, "a@example.com", "b@example.com")
	j := mustNextJob(t, s, now, now.Add(time.Minute))
	if err := s.AckJob(t.Context(), j); err != nil {
		t.Fatalf("AckJob(%q) = %v, want nil", j.ID, err)
	}
	if err := s.AckJob(t.Context(), j); !errors.Is(err, reset.ErrJobNotFound) {
		t.Errorf("second AckJob(%q) = %v, want %v", j.ID, err, reset.ErrJobNotFound)
	}
	if got := mustJobs(t, s); len(got) != 1 || got[0].ID != js[1].ID {
		t.Errorf("Jobs() after acking %q = %+v, want only %q", j.ID, got, js[1].ID)
	}
}

func testRetryJob(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	mustEnqueueAll(t, s, now, "a@example.com")
	j := mustNextJob(t, s, now, now.Add(time.Hour))
	j.Attempts++
	j.NotBefore = now.Add(5 * time.Minute)
	j.LastError = "dial tcp: connection refused"
	if err := s.RetryJob(t.Context(), j); err != nil {
		t.Fatalf("RetryJob(%q) = %v, want nil", j.ID, err)
	}
	want := j
	want.LeasedUntil, want.LeasedBy = time.Time{}, ""
	if got := mustJobs(t, s); len(got) != 1 || !sameJob(got[0], want) {
		t.Fatalf("Jobs() after RetryJob = %+v, want [%+v]", got, want)
	}
	// The lease was cleared, but the backoff holds until NotBefore.
	wantNoJob(t, s, j.NotBefore.Add(-time.Millisecond))
	wantNextJob(t, s, j.NotBefore, j.NotBefore.Add(time.Minute), want)
}

func testRetryKeepsPlace(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	js := mustEnqueueAll(t, s, now, "a@example.com", "b@example.com")
	a := mustNextJob(t, s, now, now.Add(time.Minute))
	a.Attempts++
	a.NotBefore = now.Add(time.Minute)
	if err := s.RetryJob(t.Context(), a); err != nil {
		t.Fatalf("RetryJob(%q) = %v, want nil", a.ID, err)
	}
	// Both are due now; the older one goes first although it was retried.
	later := now.Add(2 * time.Minute)
	a.LeasedUntil, a.LeasedBy = time.Time{}, ""
	wantNextJob(t, s, later, later.Add(time.Minute), a)
	wantNextJob(t, s, later, later.Add(time.Minute), js[1])
}

func testDeadJob(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	mustEnqueueAll(t, s, now, "a@example.com")
	j := mustNextJob(t, s, now, now.Add(time.Minute))
	j.Attempts = 10
	j.Dead, j.DeadAt = true, now.Add(time.Second)
	j.LastError = "550 mailbox unavailable"
	if err := s.RetryJob(t.Context(), j); err != nil {
		t.Fatalf("RetryJob(%q) = %v, want nil", j.ID, err)
	}
	wantNoJob(t, s, now.Add(24*time.Hour))
	want := j
	want.LeasedUntil, want.LeasedBy = time.Time{}, ""
	if got := mustJobs(t, s); len(got) != 1 || !sameJob(got[0], want) {
		t.Errorf("Jobs() = %+v, want the dead job [%+v]", got, want)
	}
	// An operator's `queue retry` revives it: no lease to fence on.
	want.Dead, want.DeadAt, want.Attempts = false, time.Time{}, 0
	if err := s.RetryJob(t.Context(), want); err != nil {
		t.Fatalf("RetryJob(%q) = %v, want nil", j.ID, err)
	}
	wantNextJob(t, s, now, now.Add(time.Minute), want)
}

func testDropJob(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	js := mustEnqueueAll(t, s, now, "leased@example.com", "dead@example.com", "waiting@example.com")
	mustNextJob(t, s, now, now.Add(time.Minute))
	dead := js[1]
	dead.Dead, dead.DeadAt = true, now
	if err := s.RetryJob(t.Context(), dead); err != nil {
		t.Fatalf("RetryJob(%q) = %v, want nil", dead.ID, err)
	}
	for _, j := range js {
		if err := s.DropJob(t.Context(), j.ID); err != nil {
			t.Errorf("DropJob(%q) = %v, want nil", j.ID, err)
		}
	}
	if got := mustJobs(t, s); len(got) != 0 {
		t.Errorf("Jobs() after dropping all = %+v, want none", got)
	}
	wantNoJob(t, s, now.Add(time.Hour))
}

func testUnknownJob(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	mustEnqueueAll(t, s, now, "a@example.com")
	const id = "no-such-job"
	if err := s.AckJob(t.Context(), reset.Job{ID: id}); !errors.Is(err, reset.ErrJobNotFound) {
		t.Errorf("AckJob(%q) = %v, want %v", id, err, reset.ErrJobNotFound)
	}
	if err := s.DropJob(t.Context(), id); !errors.Is(err, reset.ErrJobNotFound) {
		t.Errorf("DropJob(%q) = %v, want %v", id, err, reset.ErrJobNotFound)
	}
	j := newJob("ghost@example.com", now)
	j.ID = id
	if err := s.RetryJob(t.Context(), j); !errors.Is(err, reset.ErrJobNotFound) {
		t.Errorf("RetryJob(%q) = %v, want %v", id, err, reset.ErrJobNotFound)
	}
	if got := mustJobs(t, s); len(got) != 1 {
		t.Errorf("Jobs() = %d jobs, want 1 (RetryJob of an unknown id must not create one)", len(got))
	}
}
