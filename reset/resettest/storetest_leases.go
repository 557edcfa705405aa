package resettest

import (
	"errors"
	"testing"
	"time"

	"resetgate/reset"
)

// The cases below check fencing (issue 20, item 9): a worker whose lease lapsed, because it
// stalled or its clock jumped, must not acknowledge or reschedule a job that another worker
// now holds.

func testLeaseOwner(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	js := mustEnqueueAll(t, s, now, "a@example.com")
	until := now.Add(time.Minute)
	first := wantNextJob(t, s, now, until, js[0])
	if got := mustJobs(t, s); len(got) != 1 || !sameJob(got[0], first) {
		t.Errorf("Jobs() after NextJob = %+v, want the leased job [%+v]", got, first)
	}
	second := wantNextJob(t, s, until, until.Add(time.Minute), js[0])
	if second.LeasedBy == first.LeasedBy {
		t.Errorf("two leases of %q both named owner %q, want a fresh owner per lease", js[0].ID, first.LeasedBy)
	}
}

// mustReLease leases the only job, lets the lease lapse and leases it again; it returns the
// stale lease and the current one.
func mustReLease(t *testing.T, s reset.Store, now time.Time) (stale, current reset.Job) {
	t.Helper()
	js := mustEnqueueAll(t, s, now, "a@example.com")
	until := now.Add(time.Minute)
	stale = wantNextJob(t, s, now, until, js[0])
	current = wantNextJob(t, s, until, until.Add(time.Minute), js[0])
	return stale, current
}

func wantJobUnchanged(t *testing.T, s reset.Store, after string, want reset.Job) {
	t.Helper()
	if got := mustJobs(t, s); len(got) != 1 || !sameJob(got[0], want) {
		t.Errorf("Jobs() after %s = %+v, want the current lease untouched [%+v]", after, got, want)
	}
}

func testAckFenced(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	stale, current := mustReLease(t, s, now)
	if err := s.AckJob(t.Context(), stale); !errors.Is(err, reset.ErrLeaseLost) {
		t.Errorf("AckJob(%q) by the lapsed lease = %v, want %v", stale.ID, err, reset.ErrLeaseLost)
	}
	wantJobUnchanged(t, s, "a stale AckJob", current)
	forged := current
	forged.LeasedBy = "forged-" + current.LeasedBy
	if err := s.AckJob(t.Context(), forged); !errors.Is(err, reset.ErrLeaseLost) {
		t.Errorf("AckJob(%q) by an unknown owner = %v, want %v", forged.ID, err, reset.ErrLeaseLost)
	}
	forged.LeasedBy = ""
	if err := s.AckJob(t.Context(), forged); !errors.Is(err, reset.ErrLeaseLost) {
		t.Errorf("AckJob(%q) without an owner of a leased job = %v, want %v", forged.ID, err, reset.ErrLeaseLost)
	}
	wantJobUnchanged(t, s, "forged AckJobs", current)
	if err := s.AckJob(t.Context(), current); err != nil {
		t.Errorf("AckJob(%q) by the current lease = %v, want nil", current.ID, err)
	}
}

func testRetryFenced(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	stale, current := mustReLease(t, s, now)
	for _, dead := range []bool{false, true} {
		j := stale
		j.Attempts++
		j.NotBefore = now.Add(time.Hour)
		j.LastError = "stale worker's error"
		j.Dead = dead
		if err := s.RetryJob(t.Context(), j); !errors.Is(err, reset.ErrLeaseLost) {
			t.Errorf("RetryJob(%q, dead=%t) by the lapsed lease = %v, want %v", j.ID, dead, err, reset.ErrLeaseLost)
		}
	}
	wantJobUnchanged(t, s, "stale RetryJobs", current)
	wantNoJob(t, s, current.LeasedUntil.Add(-time.Millisecond))
	// The current holder still can.
	j := current
	j.Attempts++
	j.NotBefore = current.LeasedUntil.Add(time.Minute)
	mustRetry(t, s, j)
	j.LeasedUntil, j.LeasedBy = time.Time{}, ""
	wantJobUnchanged(t, s, "the current lease's RetryJob", j)
}
