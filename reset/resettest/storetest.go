package resettest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"resetgate/reset"
)

// Factory tells [TestStore] how to get stores of one backend.
type Factory struct {
	// Open returns a new, empty store. It is called once per case, from parallel subtests,
	// and must isolate each store (its own file, its own key prefix). The suite closes the
	// store itself and checks the error, so Open must not register a Close of its own.
	Open func(t *testing.T) reset.Store

	// Reopen, when set, opens again the data behind a store that Open or Reopen returned and
	// the suite has closed since — the same file, the same key prefix — as resetgate would
	// after a restart. It enables the durability cases; leave it nil for a backend that keeps
	// nothing ([MemStore]).
	Reopen func(t *testing.T, closed reset.Store) reset.Store

	// WallClockExpiry says that the backend also deletes expired tokens by itself, by the
	// real clock (Redis key TTLs). It adds a case that saves a token expiring a second from
	// now and waits, up to ExpiryWait, for it to disappear.
	WallClockExpiry bool
	// ExpiryWait bounds that wait; zero means 30 seconds.
	ExpiryWait time.Duration
}

// TestStore checks that the stores made by f keep every promise of [reset.Store], one subtest
// per case, and fails t where they do not. Every backend runs it:
//
//	func TestStore(t *testing.T) {
//		resettest.TestStore(t, resettest.Factory{
//			Open:   func(t *testing.T) reset.Store { return mustOpen(t, filepath.Join(t.TempDir(), "state.db")) },
//			Reopen: func(t *testing.T, old reset.Store) reset.Store { return mustOpen(t, old.(*bolt.Store).Path()) },
//		})
//	}
//
// The suite never sleeps and never reads the clock to decide an outcome: it passes every
// `now` explicitly. So that a backend whose entries also expire by the wall clock (Redis) can
// pass, the times it passes are never earlier than the wall clock when the case began, and
// every token it saves expires at least a minute later than that (except in the one case that
// WallClockExpiry adds). Times are whole
// milliseconds; a backend must keep them to at least that precision.
func TestStore(t *testing.T, f Factory) {
	if f.Open == nil {
		t.Fatal("resettest.TestStore: Factory.Open is nil")
	}
	cases := []struct {
		name string
		test func(*testing.T, Factory)
	}{
		{"saved token reads back", testSavedToken},
		{"unknown token is not found", testUnknownToken},
		{"new token voids the user's older ones", testNewTokenVoidsOlder},
		{"saving the same token again keeps it", testResaveToken},
		{"concurrent claims: exactly one wins", testConcurrentClaims},
		{"claim of an unknown token is not found", testClaimUnknown},
		{"claim of an expired token is not found", testClaimExpired},
		{"claim while claimed is refused", testClaimWhileClaimed},
		{"claim after the claim lease ran out succeeds", testClaimAfterLease},
		{"each claim names a fresh owner", testClaimOwner},
		{"released token can be claimed again", testReleaseToken},
		{"release by another owner is refused", testReleaseFenced},
		{"releasing an unknown token is no error", testReleaseUnknown},
		{"delete user tokens counts them", testDeleteUserTokens},
		{"user ids that prefix each other stay apart", testUserIDPrefixes},
		{"tokens are listed oldest first", testTokensOrder},
		{"count tokens follows saves and deletes", testCountTokens},
		{"delete expired removes only expired tokens", testDeleteExpired},
		{"delete expired keeps live rate-limit windows", testDeleteExpiredLimits},
		{"token by code reads back", testTokenByCode},
		{"a token's code dies with it", testCodeDiesWithToken},

		{"allow admits n per window then refuses", testAllowN},
		{"refused events do not move the window's end", testAllowRefusedKeepsEnd},
		{"refused events are not counted", testAllowRefusedNotCounted},
		{"new window admits n again", testAllowNewWindow},
		{"a window lasts its whole length from its first event", testAllowWindowFromFirstEvent},
		{"rate-limit keys are independent", testAllowKeys},
		{"concurrent allows admit exactly n", testAllowConcurrent},
		{"peek answers like allow and counts nothing", testPeek},

		{"empty queue has no job", testEmptyQueue},
		{"enqueue keeps every field", testEnqueueFields},
		{"enqueue without an id is refused", testEnqueueNoID},
		{"enqueueing an id twice stores one job", testEnqueueTwice},
		{"concurrent enqueues of one id store one job", testEnqueueSameIDConcurrent},
		{"concurrent enqueues keep every job", testEnqueueConcurrent},
		{"next job delivers the oldest first", testNextJobOrder},
		{"next job waits for not-before", testNextJobNotBefore},
		{"leased job goes to exactly one worker", testNextJobConcurrent},
		{"expired lease delivers the job again", testLeaseExpiry},
		{"each lease names a fresh owner", testLeaseOwner},
		{"ack deletes the job", testAckJob},
		{"ack after the lease moved on is refused", testAckFenced},
		{"retry replaces the job and clears its lease", testRetryJob},
		{"retry after the lease moved on is refused", testRetryFenced},
		{"retried job keeps its place in line", testRetryKeepsPlace},
		{"dead job is listed but never delivered", testDeadJob},
		{"drop deletes a job in any state", testDropJob},
		{"unknown job is not found", testUnknownJob},
		{"next job skips many dead and delayed jobs", testNextJobSkipsParked},
		{"stats count each state", testStats},
		{"delete dead keeps the recent ones and the live", testDeleteDead},

		{"secret is created once", testSecret},
		{"concurrent first use of a secret agrees", testSecretConcurrent},
		{"ping answers", testPing},

		{"audit events read back by time, oldest first", testAuditSince},
		{"audit trail keeps the newest events within its cap", testAuditKeep},
		{"old audit events are swept", testAuditSweep},
		{"audit trail survives a restart", testAuditRestart},

		{"bound session reads back", testBindSession},
		{"rebinding replaces user and expiry", testRebindSession},
		{"expired binding is not found", testSessionExpired},
		{"revoke ends only the user's live sessions", testRevokeSessions},
		{"revoked key stays revoked when bound again", testBindRevoked},
		{"revoked since follows the cursor", testRevokedSince},
		{"sweep deletes expired bindings and revocations", testSweepSessions},
		{"concurrent binds and a revoke lose nothing", testSessionsConcurrent},
		{"sessions survive a restart", testSessionsRestart},

		{"state survives a restart", testRestart},
		{"expired token vanishes by the wall clock", testWallClockExpiry},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, f)
		})
	}
}

// store is a store under test; the suite closes it exactly once.
type store struct {
	reset.Store
	closed bool
}

func (f Factory) open(t *testing.T) *store {
	t.Helper()
	s := &store{Store: f.Open(t)}
	t.Cleanup(func() { s.close(t) })
	return s
}

// reopen closes s and returns the store Reopen makes of its data.
func (f Factory) reopen(t *testing.T, s *store) *store {
	t.Helper()
	s.close(t)
	r := &store{Store: f.Reopen(t, s.Store)}
	t.Cleanup(func() { r.close(t) })
	return r
}

func (s *store) close(t *testing.T) {
	t.Helper()
	if s.closed {
		return
	}
	s.closed = true
	if err := s.Close(); err != nil {
		t.Errorf("Close() = %v, want nil", err)
	}
}

// start returns the case's first time: the wall clock, to the millisecond (see TestStore).
func start() time.Time { return time.Now().Truncate(time.Millisecond) }

// Concurrently runs f(i) for i in [0, n) in n goroutines released at once, to make races
// likely, and returns when all are done. Backend tests use it for their own race cases.
func Concurrently(n int, f func(i int)) {
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-gate
			f(i)
		})
	}
	close(gate)
	wg.Wait()
}

func newToken(userID string, issued time.Time, ttl time.Duration) reset.Token {
	_, id := reset.NewToken()
	return reset.Token{
		ID:          id,
		UserID:      userID,
		Email:       userID + "@example.com",
		Fingerprint: reset.Fingerprint("hash-of-"+userID, userID+"@example.com"),
		IssuedAt:    issued,
		ExpiresAt:   issued.Add(ttl),
	}
}

func sameToken(a, b reset.Token) bool {
	return a.ID == b.ID && a.UserID == b.UserID && a.Email == b.Email && a.Fingerprint == b.Fingerprint &&
		a.IssuedAt.Equal(b.IssuedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.ClaimedUntil.Equal(b.ClaimedUntil) &&
		a.ClaimedBy == b.ClaimedBy
}

// sameJob compares every field of two jobs, times by the instant they name: a field a store
// forgets to keep (Job.Language once was) fails here.
func sameJob(a, b reset.Job) bool {
	norm := func(j reset.Job) reset.Job {
		for _, t := range []*time.Time{&j.CreatedAt, &j.NotBefore, &j.DeadAt, &j.LeasedUntil} {
			if t.IsZero() {
				*t = time.Time{}
			} else {
				*t = t.UTC().Round(0)
			}
		}
		return j
	}
	return norm(a) == norm(b)
}

func mustSaveToken(t *testing.T, s reset.Store, tok reset.Token) {
	t.Helper()
	if err := s.SaveToken(t.Context(), tok); err != nil {
		t.Fatalf("SaveToken(%q) = %v, want nil", tok.ID, err)
	}
}

func mustToken(t *testing.T, s reset.Store, id string) reset.Token {
	t.Helper()
	tok, err := s.Token(t.Context(), id)
	if err != nil {
		t.Fatalf("Token(%q) = %v, want the token", id, err)
	}
	return tok
}

func wantTokenGone(t *testing.T, s reset.Store, id string) {
	t.Helper()
	if tok, err := s.Token(t.Context(), id); !errors.Is(err, reset.ErrTokenNotFound) {
		t.Errorf("Token(%q) = %+v, %v, want %v", id, tok, err, reset.ErrTokenNotFound)
	}
}

func mustClaim(t *testing.T, s reset.Store, id string, now, until time.Time) reset.Token {
	t.Helper()
	tok, err := s.ClaimToken(t.Context(), id, now, until)
	if err != nil {
		t.Fatalf("ClaimToken(%q, %v, %v) = %v, want nil", id, now, until, err)
	}
	if !tok.ClaimedUntil.Equal(until) {
		t.Errorf("ClaimToken(%q).ClaimedUntil = %v, want %v", id, tok.ClaimedUntil, until)
	}
	if tok.ClaimedBy == "" {
		t.Errorf("ClaimToken(%q).ClaimedBy is empty, want the claim's owner", id)
	}
	return tok
}

func mustTokens(t *testing.T, s reset.Store) []reset.Token {
	t.Helper()
	ts, err := s.Tokens(t.Context())
	if err != nil {
		t.Fatalf("Tokens() = %v, want nil", err)
	}
	return ts
}

func tokenIDs(ts []reset.Token) []string {
	ids := make([]string, len(ts))
	for i, tok := range ts {
		ids[i] = tok.ID
	}
	return ids
}

func mustAllow(t *testing.T, s reset.Store, key string, n int, win time.Duration, now time.Time, want bool) time.Duration {
	t.Helper()
	ok, retry, err := s.Allow(t.Context(), key, n, win, now)
	if err != nil {
		t.Fatalf("Allow(%q, %d, %v, %v) = %v, want nil", key, n, win, now, err)
	}
	if ok != want {
		t.Fatalf("Allow(%q, %d, %v, %v) = %t, want %t", key, n, win, now, ok, want)
	}
	if !ok && (retry <= 0 || retry > win) {
		t.Errorf("Allow(%q, %d, %v, %v) retryAfter = %v, want in (0, %v]", key, n, win, now, retry, win)
	}
	return retry
}

// jobSeq makes the ids of one process strictly increasing: reset.NewJobID alone orders ids
// made in the same nanosecond at random.
var jobSeq atomic.Int64

// NewJobID returns reset.NewJobID for a time just after now, later than every id it returned
// before, so that jobs enqueued in turn sort in that order. Benchmarks and backend tests use
// it too.
func NewJobID(now time.Time) string {
	return reset.NewJobID(now.Add(time.Duration(jobSeq.Add(1))))
}

func newJob(email string, now time.Time) reset.Job {
	return reset.Job{ID: NewJobID(now), Kind: reset.JobReset, Email: email, ClientIP: "192.0.2.1", CreatedAt: now}
}

func mustEnqueue(t *testing.T, s reset.Store, j reset.Job) {
	t.Helper()
	if err := s.Enqueue(t.Context(), j); err != nil {
		t.Fatalf("Enqueue(%q) = %v, want nil", j.Email, err)
	}
}

func mustJobs(t *testing.T, s reset.Store) []reset.Job {
	t.Helper()
	js, err := s.Jobs(t.Context())
	if err != nil {
		t.Fatalf("Jobs() = %v, want nil", err)
	}
	return js
}

// mustEnqueueAll enqueues a job per address, in order, and returns them as stored.
func mustEnqueueAll(t *testing.T, s reset.Store, now time.Time, emails ...string) []reset.Job {
	t.Helper()
	for _, e := range emails {
		mustEnqueue(t, s, newJob(e, now))
	}
	js := mustJobs(t, s)
	if len(js) != len(emails) {
		t.Fatalf("Jobs() after %d enqueues = %d jobs, want %d", len(emails), len(js), len(emails))
	}
	return js
}

func mustNextJob(t *testing.T, s reset.Store, now, until time.Time) reset.Job {
	t.Helper()
	j, err := s.NextJob(t.Context(), now, until)
	if err != nil {
		t.Fatalf("NextJob(%v, %v) = %v, want a job", now, until, err)
	}
	if !j.LeasedUntil.Equal(until) {
		t.Errorf("NextJob(%v, %v).LeasedUntil = %v, want %v", now, until, j.LeasedUntil, until)
	}
	if j.LeasedBy == "" {
		t.Errorf("NextJob(%v, %v).LeasedBy is empty, want the lease's owner", now, until)
	}
	return j
}

// wantNextJob leases the next job and checks that it is want, newly leased; it returns the
// leased job.
func wantNextJob(t *testing.T, s reset.Store, now, until time.Time, want reset.Job) reset.Job {
	t.Helper()
	j := mustNextJob(t, s, now, until)
	want.LeasedUntil, want.LeasedBy = until, j.LeasedBy
	if !sameJob(j, want) {
		t.Errorf("NextJob(%v, %v) = %+v, want %+v", now, until, j, want)
	}
	return j
}

func wantNoJob(t *testing.T, s reset.Store, now time.Time) {
	t.Helper()
	if j, err := s.NextJob(t.Context(), now, now.Add(time.Minute)); !errors.Is(err, reset.ErrNoJob) {
		t.Errorf("NextJob(%v) = %+v, %v, want %v", now, j, err, reset.ErrNoJob)
	}
}

func mustRetry(t *testing.T, s reset.Store, j reset.Job) {
	t.Helper()
	if err := s.RetryJob(t.Context(), j); err != nil {
		t.Fatalf("RetryJob(%q) = %v, want nil", j.ID, err)
	}
}

func mustStats(t *testing.T, s reset.Store, now time.Time) reset.QueueStats {
	t.Helper()
	q, err := s.Stats(t.Context(), now)
	if err != nil {
		t.Fatalf("Stats(%v) = %v, want nil", now, err)
	}
	return q
}

func mustSecret(t *testing.T, s reset.Store, name string, size int) []byte {
	t.Helper()
	b, err := s.Secret(t.Context(), name, size)
	if err != nil {
		t.Fatalf("Secret(%q, %d) = %v, want nil", name, size, err)
	}
	if len(b) != size {
		t.Fatalf("Secret(%q, %d) has %d bytes, want %d", name, size, len(b), size)
	}
	return b
}
