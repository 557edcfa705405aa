package redis_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"resetgate/internal/testenv"
	"resetgate/reset"
	"resetgate/reset/redis"
	"resetgate/reset/resettest"
)

// replicas opens n stores sharing one key prefix, as n resetgate processes would, each with
// its own connections, configured in the ways an operator may write it.
func replicas(t *testing.T, n int) []*redis.Store {
	t.Helper()
	addr := testenv.Redis(t)
	prefix := newPrefix(t, addr)
	ss := make([]*redis.Store, n)
	for i := range ss {
		o := redis.Options{Addrs: []string{addr}, KeyPrefix: prefix}
		if i%2 == 1 {
			o = redis.Options{URL: "redis://" + addr, KeyPrefix: prefix}
		}
		s, err := redis.Open(t.Context(), o)
		if err != nil {
			t.Fatalf("Open(%+v) = %v, want nil", o, err)
		}
		t.Cleanup(func() { s.Close() })
		ss[i] = s
	}
	return ss
}

func TestReplicasShareTokens(t *testing.T) {
	rs := replicas(t, 3)
	at := now()
	tok := newToken("u1", at, time.Hour)
	mustSaveToken(t, rs[0], tok)
	if got, err := rs[1].Token(t.Context(), tok.ID); err != nil || got.UserID != "u1" {
		t.Fatalf("Token(%q) on another replica = %+v, %v, want the token", tok.ID, got, err)
	}

	// A newer link requested through another replica voids this one everywhere.
	newer := newToken("u1", at.Add(time.Second), time.Hour)
	mustSaveToken(t, rs[2], newer)
	if _, err := rs[0].Token(t.Context(), tok.ID); !errors.Is(err, reset.ErrTokenNotFound) {
		t.Errorf("Token(%q) after a newer link on another replica = %v, want %v", tok.ID, err, reset.ErrTokenNotFound)
	}

	const n = 20
	until := at.Add(time.Minute)
	errs := make([]error, n)
	claims := make([]reset.Token, n)
	resettest.Concurrently(n, func(i int) {
		claims[i], errs[i] = rs[i%len(rs)].ClaimToken(t.Context(), newer.ID, at, until)
	})
	wins, owner := 0, ""
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
			owner = claims[i].ClaimedBy
		case !errors.Is(err, reset.ErrTokenClaimed):
			t.Errorf("ClaimToken #%d on replica %d = %v, want nil or %v", i, i%len(rs), err, reset.ErrTokenClaimed)
		}
	}
	if wins != 1 {
		t.Errorf("%d claims spread over %d replicas: %d succeeded, want exactly 1", n, len(rs), wins)
	}

	// The winner's replica fails to write the password and releases; another completes.
	if err := rs[0].ReleaseToken(t.Context(), newer.ID, "not-"+owner); !errors.Is(err, reset.ErrLeaseLost) {
		t.Errorf("ReleaseToken(%q) by a stranger on another replica = %v, want %v", newer.ID, err, reset.ErrLeaseLost)
	}
	if err := rs[1].ReleaseToken(t.Context(), newer.ID, owner); err != nil {
		t.Fatalf("ReleaseToken(%q) = %v, want nil", newer.ID, err)
	}
	if _, err := rs[2].ClaimToken(t.Context(), newer.ID, at, until); err != nil {
		t.Errorf("ClaimToken(%q) after release on another replica = %v, want nil", newer.ID, err)
	}
	if n, err := rs[0].DeleteUserTokens(t.Context(), "u1"); err != nil || n != 1 {
		t.Errorf("DeleteUserTokens(%q) = %d, %v, want 1, nil", "u1", n, err)
	}
}

func TestReplicasShareLimits(t *testing.T) {
	rs := replicas(t, 3)
	at := now()
	const callers, limit = 30, 5
	oks := make([]bool, callers)
	errs := make([]error, callers)
	resettest.Concurrently(callers, func(i int) {
		oks[i], _, errs[i] = rs[i%len(rs)].Allow(t.Context(), "req-email:a@example.com", limit, time.Hour, at)
	})
	allowed := 0
	for i := range callers {
		if errs[i] != nil {
			t.Errorf("Allow #%d = %v, want nil", i, errs[i])
		}
		if oks[i] {
			allowed++
		}
	}
	if allowed != limit {
		t.Errorf("%d Allow(n=%d) calls over %d replicas: %d allowed, want %d", callers, limit, len(rs), allowed, limit)
	}
	// Every replica agrees on when the window ends.
	var ends []time.Time
	for _, r := range rs {
		ok, retry, err := r.Allow(t.Context(), "req-email:a@example.com", limit, time.Hour, at.Add(time.Second))
		if err != nil || ok {
			t.Fatalf("Allow after the limit = %t, %v, want false, nil", ok, err)
		}
		ends = append(ends, at.Add(time.Second).Add(retry))
	}
	for _, end := range ends[1:] {
		if !end.Equal(ends[0]) {
			t.Errorf("replicas see the window end at %v, want all at %v", ends, ends[0])
		}
	}
}

func TestReplicasShareQueue(t *testing.T) {
	rs := replicas(t, 3)
	at := now()
	// Enqueued in turn on different replicas, the ids still sort in enqueue order.
	var emails []string
	for i := range 6 {
		e := fmt.Sprintf("u%d@example.com", i)
		emails = append(emails, e)
		if err := rs[i%len(rs)].Enqueue(t.Context(), reset.Job{ID: resettest.NewJobID(time.Now()), Kind: reset.JobReset, Email: e, CreatedAt: at}); err != nil {
			t.Fatalf("Enqueue(%q) = %v, want nil", e, err)
		}
	}
	js, err := rs[2].Jobs(t.Context())
	if err != nil || len(js) != len(emails) {
		t.Fatalf("Jobs() = %d jobs, %v, want %d", len(js), err, len(emails))
	}
	for i, j := range js {
		if j.Email != emails[i] || (i > 0 && j.ID <= js[i-1].ID) {
			t.Errorf("Jobs()[%d] = %q (id %q), want %q with an id above the previous one", i, j.Email, j.ID, emails[i])
		}
	}

	// Workers on every replica drain the queue; each job goes to exactly one.
	const workers = 12
	got := make([]reset.Job, workers)
	errs := make([]error, workers)
	resettest.Concurrently(workers, func(i int) {
		got[i], errs[i] = rs[i%len(rs)].NextJob(t.Context(), at, at.Add(time.Minute))
	})
	delivered := make(map[string]int)
	for i, err := range errs {
		switch {
		case err == nil:
			delivered[got[i].Email]++
		case !errors.Is(err, reset.ErrNoJob):
			t.Errorf("NextJob #%d = %v, want nil or %v", i, err, reset.ErrNoJob)
		}
	}
	for _, e := range emails {
		if delivered[e] != 1 {
			t.Errorf("job for %s was delivered %d times over %d replicas, want once", e, delivered[e], len(rs))
		}
	}
}

// TestReplicaDiesMidJob: a replica leases a job and dies without acking it; once the lease
// runs out another replica gets the job, so no mail is lost.
func TestReplicaDiesMidJob(t *testing.T) {
	rs := replicas(t, 2)
	at := now()
	if err := rs[0].Enqueue(t.Context(), reset.Job{ID: resettest.NewJobID(time.Now()), Kind: reset.JobNotice, UserID: "42", CreatedAt: at}); err != nil {
		t.Fatalf("Enqueue() = %v, want nil", err)
	}
	until := at.Add(time.Minute)
	leased, err := rs[1].NextJob(t.Context(), at, until)
	if err != nil {
		t.Fatalf("NextJob() = %v, want the job", err)
	}
	if err := rs[1].Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	if j, err := rs[0].NextJob(t.Context(), until.Add(-time.Millisecond), until.Add(time.Minute)); !errors.Is(err, reset.ErrNoJob) {
		t.Errorf("NextJob() during the dead replica's lease = %+v, %v, want %v", j, err, reset.ErrNoJob)
	}
	again, err := rs[0].NextJob(t.Context(), until, until.Add(time.Minute))
	if err != nil || again.ID != leased.ID || again.Attempts != leased.Attempts {
		t.Fatalf("NextJob() after the lease ran out = %+v, %v, want job %q again, attempts unchanged", again, err, leased.ID)
	}
	if err := rs[0].AckJob(t.Context(), leased); !errors.Is(err, reset.ErrLeaseLost) {
		t.Errorf("AckJob(%q) by the dead replica's lease = %v, want %v", leased.ID, err, reset.ErrLeaseLost)
	}
	if err := rs[0].AckJob(t.Context(), again); err != nil {
		t.Errorf("AckJob(%q) = %v, want nil", again.ID, err)
	}
}

func TestReplicasShareSecrets(t *testing.T) {
	rs := replicas(t, 3)
	const n = 12
	got := make([][]byte, n)
	errs := make([]error, n)
	resettest.Concurrently(n, func(i int) {
		got[i], errs[i] = rs[i%len(rs)].Secret(t.Context(), "cookie-hash", 32)
	})
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Secret #%d = %v, want nil", i, errs[i])
		}
		if !bytes.Equal(got[i], got[0]) {
			t.Errorf("Secret #%d on replica %d = %x, want %x as on replica 0", i, i%len(rs), got[i], got[0])
		}
	}
}
