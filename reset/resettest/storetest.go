package resettest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
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
		{"released token can be claimed again", testReleaseToken},
		{"releasing an unknown token is no error", testReleaseUnknown},
		{"delete user tokens counts them", testDeleteUserTokens},
		{"user ids that prefix each other stay apart", testUserIDPrefixes},
		{"tokens are listed oldest first", testTokensOrder},
		{"delete expired removes only expired tokens", testDeleteExpired},
		{"delete expired keeps live rate-limit windows", testDeleteExpiredLimits},

		{"allow admits n per window then refuses", testAllowN},
		{"refused events do not move the window's end", testAllowRefusedKeepsEnd},
		{"new window admits n again", testAllowNewWindow},
		{"rate-limit keys are independent", testAllowKeys},
		{"concurrent allows admit exactly n", testAllowConcurrent},

		{"empty queue has no job", testEmptyQueue},
		{"enqueue assigns increasing ids", testEnqueueIDs},
		{"enqueue keeps a given id", testEnqueueGivenID},
		{"concurrent enqueues get distinct ids", testEnqueueConcurrent},
		{"next job delivers the oldest first", testNextJobOrder},
		{"next job waits for not-before", testNextJobNotBefore},
		{"leased job goes to exactly one worker", testNextJobConcurrent},
		{"expired lease delivers the job again", testLeaseExpiry},
		{"ack deletes the job", testAckJob},
		{"retry replaces the job and clears its lease", testRetryJob},
		{"retried job keeps its place in line", testRetryKeepsPlace},
		{"dead job is listed but never delivered", testDeadJob},
		{"drop deletes a job in any state", testDropJob},
		{"unknown job is not found", testUnknownJob},

		{"secret is created once", testSecret},
		{"concurrent first use of a secret agrees", testSecretConcurrent},
		{"ping answers", testPing},

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
		a.IssuedAt.Equal(b.IssuedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.ClaimedUntil.Equal(b.ClaimedUntil)
}

func sameJob(a, b reset.Job) bool {
	return a.ID == b.ID && a.Kind == b.Kind && a.Email == b.Email && a.UserID == b.UserID &&
		a.ClientIP == b.ClientIP && a.CreatedAt.Equal(b.CreatedAt) && a.Attempts == b.Attempts &&
		a.NotBefore.Equal(b.NotBefore) && a.LastError == b.LastError && a.Dead == b.Dead &&
		a.LeasedUntil.Equal(b.LeasedUntil)
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

func newJob(email string, now time.Time) reset.Job {
	return reset.Job{Kind: reset.JobReset, Email: email, ClientIP: "192.0.2.1", CreatedAt: now}
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
	return j
}

func wantNextJob(t *testing.T, s reset.Store, now, until time.Time, want reset.Job) {
	t.Helper()
	j := mustNextJob(t, s, now, until)
	want.LeasedUntil = until
	if !sameJob(j, want) {
		t.Errorf("NextJob(%v, %v) = %+v, want %+v", now, until, j, want)
	}
}

func wantNoJob(t *testing.T, s reset.Store, now time.Time) {
	t.Helper()
	if j, err := s.NextJob(t.Context(), now, now.Add(time.Minute)); !errors.Is(err, reset.ErrNoJob) {
		t.Errorf("NextJob(%v) = %+v, %v, want %v", now, j, err, reset.ErrNoJob)
	}
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

func testSavedToken(t *testing.T, f Factory) {
	s := f.open(t)
	tok := newToken("u1", start(), time.Hour)
	mustSaveToken(t, s, tok)
	if got := mustToken(t, s, tok.ID); !sameToken(got, tok) {
		t.Errorf("Token(%q) = %+v, want %+v", tok.ID, got, tok)
	}
}

func testUnknownToken(t *testing.T, f Factory) {
	s := f.open(t)
	mustSaveToken(t, s, newToken("u1", start(), time.Hour))
	_, id := reset.NewToken()
	wantTokenGone(t, s, id)
}

func testNewTokenVoidsOlder(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	older := newToken("u1", now, time.Hour)
	other := newToken("u2", now.Add(time.Second), time.Hour)
	newer := newToken("u1", now.Add(2*time.Second), time.Hour)
	for _, tok := range []reset.Token{older, other, newer} {
		mustSaveToken(t, s, tok)
	}
	wantTokenGone(t, s, older.ID)
	mustToken(t, s, newer.ID)
	mustToken(t, s, other.ID)
	if got, want := tokenIDs(mustTokens(t, s)), []string{other.ID, newer.ID}; !slices.Equal(got, want) {
		t.Errorf("Tokens() = %q, want %q", got, want)
	}
}

func testResaveToken(t *testing.T, f Factory) {
	s := f.open(t)
	tok := newToken("u1", start(), time.Hour)
	mustSaveToken(t, s, tok)
	tok.Email = "changed@example.com"
	mustSaveToken(t, s, tok)
	if got := mustToken(t, s, tok.ID); !sameToken(got, tok) {
		t.Errorf("Token(%q) after saving it twice = %+v, want %+v", tok.ID, got, tok)
	}
	if got := mustTokens(t, s); len(got) != 1 {
		t.Errorf("Tokens() = %d tokens, want 1", len(got))
	}
}

func testConcurrentClaims(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	tok := newToken("u1", now, time.Hour)
	mustSaveToken(t, s, tok)
	until := now.Add(time.Minute)
	const n = 20
	errs := make([]error, n)
	Concurrently(n, func(i int) {
		_, errs[i] = s.ClaimToken(t.Context(), tok.ID, now, until)
	})
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, reset.ErrTokenClaimed):
			t.Errorf("ClaimToken #%d = %v, want nil or %v", i, err, reset.ErrTokenClaimed)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent ClaimToken calls: %d succeeded, want exactly 1", n, wins)
	}
	if got := mustToken(t, s, tok.ID); !got.ClaimedUntil.Equal(until) {
		t.Errorf("Token(%q).ClaimedUntil = %v, want %v", tok.ID, got.ClaimedUntil, until)
	}
}

func testClaimUnknown(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	_, id := reset.NewToken()
	if _, err := s.ClaimToken(t.Context(), id, now, now.Add(time.Minute)); !errors.Is(err, reset.ErrTokenNotFound) {
		t.Errorf("ClaimToken(%q) = %v, want %v", id, err, reset.ErrTokenNotFound)
	}
}

func testClaimExpired(t *testing.T, f Factory) {
	s := f.open(t)
	tok := newToken("u1", start(), time.Hour)
	mustSaveToken(t, s, tok)
	// The expiry instant itself is already too late, as reset.Token.Expired says.
	for _, now := range []time.Time{tok.ExpiresAt, tok.ExpiresAt.Add(time.Hour)} {
		if _, err := s.ClaimToken(t.Context(), tok.ID, now, now.Add(time.Minute)); !errors.Is(err, reset.ErrTokenNotFound) {
			t.Errorf("ClaimToken(%q, %v) of a token expiring at %v = %v, want %v", tok.ID, now, tok.ExpiresAt, err, reset.ErrTokenNotFound)
		}
	}
	if got := mustToken(t, s, tok.ID); !got.ClaimedUntil.IsZero() {
		t.Errorf("Token(%q).ClaimedUntil after refused claims = %v, want zero", tok.ID, got.ClaimedUntil)
	}
	// A millisecond before expiry it is still good.
	now := tok.ExpiresAt.Add(-time.Millisecond)
	mustClaim(t, s, tok.ID, now, now.Add(time.Minute))
}

func testClaimWhileClaimed(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	tok := newToken("u1", now, time.Hour)
	mustSaveToken(t, s, tok)
	until := now.Add(time.Minute)
	mustClaim(t, s, tok.ID, now, until)
	later := until.Add(-time.Millisecond)
	if _, err := s.ClaimToken(t.Context(), tok.ID, later, later.Add(time.Minute)); !errors.Is(err, reset.ErrTokenClaimed) {
		t.Errorf("second ClaimToken(%q, %v) while claimed until %v = %v, want %v", tok.ID, later, until, err, reset.ErrTokenClaimed)
	}
	if got := mustToken(t, s, tok.ID); !got.ClaimedUntil.Equal(until) {
		t.Errorf("Token(%q).ClaimedUntil after a refused claim = %v, want %v (unchanged)", tok.ID, got.ClaimedUntil, until)
	}
}

func testClaimAfterLease(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	tok := newToken("u1", now, time.Hour)
	mustSaveToken(t, s, tok)
	until := now.Add(time.Minute)
	mustClaim(t, s, tok.ID, now, until)
	// The claimant died without releasing; at `until` the claim is over.
	mustClaim(t, s, tok.ID, until, until.Add(time.Minute))
}

func testReleaseToken(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	tok := newToken("u1", now, time.Hour)
	mustSaveToken(t, s, tok)
	c := mustClaim(t, s, tok.ID, now, now.Add(time.Minute))
	if err := s.ReleaseToken(t.Context(), tok.ID, c.ClaimedBy); err != nil {
		t.Fatalf("ReleaseToken(%q) = %v, want nil", tok.ID, err)
	}
	if got := mustToken(t, s, tok.ID); !sameToken(got, tok) {
		t.Errorf("Token(%q) after release = %+v, want %+v", tok.ID, got, tok)
	}
	mustClaim(t, s, tok.ID, now.Add(time.Second), now.Add(time.Minute))
}

func testReleaseUnknown(t *testing.T, f Factory) {
	s := f.open(t)
	_, id := reset.NewToken()
	if err := s.ReleaseToken(t.Context(), id, ""); err != nil {
		t.Errorf("ReleaseToken(%q) of a missing token = %v, want nil", id, err)
	}
	wantTokenGone(t, s, id)
}

func testDeleteUserTokens(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	mine := newToken("u1", now, time.Hour)
	theirs := newToken("u2", now, time.Hour)
	mustSaveToken(t, s, mine)
	mustSaveToken(t, s, theirs)
	for _, c := range []struct {
		user string
		want int
	}{{"u1", 1}, {"u1", 0}, {"nobody", 0}} {
		if n, err := s.DeleteUserTokens(t.Context(), c.user); err != nil || n != c.want {
			t.Errorf("DeleteUserTokens(%q) = %d, %v, want %d, nil", c.user, n, err, c.want)
		}
	}
	wantTokenGone(t, s, mine.ID)
	mustToken(t, s, theirs.ID)
}

func testUserIDPrefixes(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	one := newToken("1", now, time.Hour)
	twelve := newToken("12", now, time.Hour)
	mustSaveToken(t, s, twelve)
	mustSaveToken(t, s, one)
	mustToken(t, s, twelve.ID) // a new token for "1" voids nothing of "12"
	if n, err := s.DeleteUserTokens(t.Context(), "1"); err != nil || n != 1 {
		t.Errorf("DeleteUserTokens(%q) = %d, %v, want 1, nil", "1", n, err)
	}
	mustToken(t, s, twelve.ID)
	if n, err := s.DeleteUserTokens(t.Context(), "12"); err != nil || n != 1 {
		t.Errorf("DeleteUserTokens(%q) = %d, %v, want 1, nil", "12", n, err)
	}
}

func testTokensOrder(t *testing.T, f Factory) {
	s := f.open(t)
	if got := mustTokens(t, s); len(got) != 0 {
		t.Errorf("Tokens() of an empty store = %d tokens, want 0", len(got))
	}
	now := start()
	var want []string
	saved := make([]reset.Token, 5)
	for i := range saved {
		saved[i] = newToken(fmt.Sprintf("u%d", i), now.Add(time.Duration(i)*time.Second), time.Hour)
		want = append(want, saved[i].ID)
	}
	// Saved out of order, so that insertion order cannot pass for issue order.
	for _, i := range []int{3, 0, 4, 1, 2} {
		mustSaveToken(t, s, saved[i])
	}
	got := mustTokens(t, s)
	if !slices.Equal(tokenIDs(got), want) {
		t.Fatalf("Tokens() = %q, want %q (oldest first)", tokenIDs(got), want)
	}
	for i := range got {
		if !sameToken(got[i], saved[i]) {
			t.Errorf("Tokens()[%d] = %+v, want %+v", i, got[i], saved[i])
		}
	}
}

func testDeleteExpired(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	a := newToken("a", now, time.Minute)
	b := newToken("b", now, 2*time.Minute)
	c := newToken("c", now, 3*time.Minute)
	for _, tok := range []reset.Token{a, b, c} {
		mustSaveToken(t, s, tok)
	}
	mustClaim(t, s, b.ID, now, now.Add(time.Minute)) // a claim does not keep a token alive
	for _, step := range []struct {
		at   time.Time
		want int
	}{
		{now, 0},
		{b.ExpiresAt, 2}, // expiring exactly at now counts
		{b.ExpiresAt, 0},
	} {
		if n, err := s.DeleteExpired(t.Context(), step.at); err != nil || n != step.want {
			t.Errorf("DeleteExpired(%v) = %d, %v, want %d, nil", step.at, n, err, step.want)
		}
	}
	wantTokenGone(t, s, a.ID)
	wantTokenGone(t, s, b.ID)
	mustToken(t, s, c.ID)
	// The per-user index went with them.
	if n, err := s.DeleteUserTokens(t.Context(), "a"); err != nil || n != 0 {
		t.Errorf("DeleteUserTokens(%q) after its token expired = %d, %v, want 0, nil", "a", n, err)
	}
	if got, want := tokenIDs(mustTokens(t, s)), []string{c.ID}; !slices.Equal(got, want) {
		t.Errorf("Tokens() = %q, want %q", got, want)
	}
}

func testDeleteExpiredLimits(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	const win = time.Minute
	mustAllow(t, s, "k", 1, win, now, true)
	retry := mustAllow(t, s, "k", 1, win, now, false)
	mid := now.Add(retry / 2).Truncate(time.Millisecond)
	if _, err := s.DeleteExpired(t.Context(), mid); err != nil {
		t.Fatalf("DeleteExpired(%v) = %v, want nil", mid, err)
	}
	mustAllow(t, s, "k", 1, win, mid, false) // the sweep left the live window alone
	end := now.Add(retry)
	if _, err := s.DeleteExpired(t.Context(), end); err != nil {
		t.Fatalf("DeleteExpired(%v) = %v, want nil", end, err)
	}
	mustAllow(t, s, "k", 1, win, end, true)
	mustAllow(t, s, "k", 1, win, end, false)
}

func testAllowN(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	const n, win = 3, time.Hour
	for range n {
		mustAllow(t, s, "ip:192.0.2.1", n, win, now, true)
	}
	mustAllow(t, s, "ip:192.0.2.1", n, win, now, false)
	mustAllow(t, s, "ip:192.0.2.1", n, win, now.Add(time.Second), false)
}

func testAllowRefusedKeepsEnd(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	const win = time.Minute
	mustAllow(t, s, "k", 1, win, now, true)
	first := mustAllow(t, s, "k", 1, win, now, false)
	end := now.Add(first)
	later := now.Add(first / 2).Truncate(time.Millisecond)
	second := mustAllow(t, s, "k", 1, win, later, false)
	if got := later.Add(second); !got.Equal(end) {
		t.Errorf("Allow at %v says the window ends at %v, but at %v it said %v", later, got, now, end)
	}
}

func testAllowNewWindow(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	const n, win = 2, time.Minute
	for range n {
		mustAllow(t, s, "k", n, win, now, true)
	}
	retry := mustAllow(t, s, "k", n, win, now, false)
	if end := now.Add(retry); end.After(now.Add(win)) {
		t.Fatalf("window begun at %v ends at %v, later than one window (%v)", now, end, win)
	}
	// Whenever the backend aligns its windows, the one it named is over at now+retry.
	next := now.Add(retry)
	for range n {
		mustAllow(t, s, "k", n, win, next, true)
	}
	mustAllow(t, s, "k", n, win, next, false)
}

func testAllowKeys(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	mustAllow(t, s, "email:a@example.com", 1, time.Hour, now, true)
	mustAllow(t, s, "email:a@example.com", 1, time.Hour, now, false)
	mustAllow(t, s, "email:b@example.com", 1, time.Hour, now, true)
	mustAllow(t, s, "ip:a@example.com", 1, time.Hour, now, true)
}

func testAllowConcurrent(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	const callers, n = 50, 10
	oks := make([]bool, callers)
	errs := make([]error, callers)
	Concurrently(callers, func(i int) {
		oks[i], _, errs[i] = s.Allow(t.Context(), "k", n, time.Hour, now)
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
	if allowed != n {
		t.Errorf("%d concurrent Allow(n=%d) calls: %d allowed, want %d", callers, n, allowed, n)
	}
}

func testEmptyQueue(t *testing.T, f Factory) {
	s := f.open(t)
	wantNoJob(t, s, start())
	if js := mustJobs(t, s); len(js) != 0 {
		t.Errorf("Jobs() of an empty store = %d jobs, want 0", len(js))
	}
}

func testEnqueueIDs(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	want := []reset.Job{
		{Kind: reset.JobReset, Email: "a@example.com", ClientIP: "192.0.2.1", CreatedAt: now},
		{Kind: reset.JobNotice, UserID: "42", ClientIP: "2001:db8::1", CreatedAt: now.Add(time.Second),
			Attempts: 2, NotBefore: now.Add(time.Minute), LastError: "421 try later"},
		{Kind: reset.JobReset, Email: "c@example.com", CreatedAt: now.Add(2 * time.Second)},
	}
	for _, j := range want {
		mustEnqueue(t, s, j)
	}
	got := mustJobs(t, s)
	if len(got) != len(want) {
		t.Fatalf("Jobs() = %d jobs, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].ID == "" {
			t.Errorf("Jobs()[%d].ID is empty, want an id assigned by Enqueue", i)
		}
		if i > 0 && got[i].ID <= got[i-1].ID {
			t.Errorf("Jobs() ids %q then %q, want them increasing in enqueue order", got[i-1].ID, got[i].ID)
		}
		want[i].ID = got[i].ID
		if !sameJob(got[i], want[i]) {
			t.Errorf("Jobs()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func testEnqueueGivenID(t *testing.T, f Factory) {
	s := f.open(t)
	j := newJob("a@example.com", start())
	j.ID = "given-id"
	mustEnqueue(t, s, j)
	if got := mustJobs(t, s); len(got) != 1 || !sameJob(got[0], j) {
		t.Fatalf("Jobs() = %+v, want [%+v]", got, j)
	}
	if err := s.AckJob(t.Context(), j); err != nil {
		t.Errorf("AckJob(%q) = %v, want nil", j.ID, err)
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
	want.LeasedUntil = time.Time{}
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
	a.LeasedUntil = time.Time{}
	wantNextJob(t, s, later, later.Add(time.Minute), a)
	wantNextJob(t, s, later, later.Add(time.Minute), js[1])
}

func testDeadJob(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	mustEnqueueAll(t, s, now, "a@example.com")
	j := mustNextJob(t, s, now, now.Add(time.Minute))
	j.Attempts = 10
	j.Dead = true
	j.LastError = "550 mailbox unavailable"
	if err := s.RetryJob(t.Context(), j); err != nil {
		t.Fatalf("RetryJob(%q) = %v, want nil", j.ID, err)
	}
	wantNoJob(t, s, now.Add(24*time.Hour))
	want := j
	want.LeasedUntil = time.Time{}
	if got := mustJobs(t, s); len(got) != 1 || !sameJob(got[0], want) {
		t.Errorf("Jobs() = %+v, want the dead job [%+v]", got, want)
	}
	// An operator's `queue retry` revives it.
	want.Dead = false
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
	dead.Dead = true
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

func testSecret(t *testing.T, f Factory) {
	s := f.open(t)
	a := mustSecret(t, s, "cookie-hash", 32)
	if bytes.Equal(a, make([]byte, 32)) {
		t.Errorf("Secret(%q) is all zero bytes, want random bytes", "cookie-hash")
	}
	if again := mustSecret(t, s, "cookie-hash", 32); !bytes.Equal(again, a) {
		t.Errorf("Secret(%q) the second time = %x, want %x", "cookie-hash", again, a)
	}
	if other := mustSecret(t, s, "cookie-block", 32); bytes.Equal(other, a) {
		t.Errorf("Secret(%q) = Secret(%q), want distinct secrets", "cookie-block", "cookie-hash")
	}
	// The caller owns what it gets, whether the secret was created or found.
	want := bytes.Clone(a)
	again := mustSecret(t, s, "cookie-hash", 32)
	a[0] ^= 0xff
	again[1] ^= 0xff
	if got := mustSecret(t, s, "cookie-hash", 32); !bytes.Equal(got, want) {
		t.Errorf("Secret(%q) after the caller changed returned bytes = %x, want %x (unchanged)", "cookie-hash", got, want)
	}
}

func testSecretConcurrent(t *testing.T, f Factory) {
	s := f.open(t)
	const n = 10
	got := make([][]byte, n)
	errs := make([]error, n)
	Concurrently(n, func(i int) {
		got[i], errs[i] = s.Secret(t.Context(), "shared", 64)
	})
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Secret #%d = %v, want nil", i, errs[i])
		}
		if !bytes.Equal(got[i], got[0]) {
			t.Errorf("Secret #%d = %x, Secret #0 = %x, want every caller to get the same secret", i, got[i], got[0])
		}
	}
}

func testPing(t *testing.T, f Factory) {
	s := f.open(t)
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping() = %v, want nil", err)
	}
}

func testRestart(t *testing.T, f Factory) {
	if f.Reopen == nil {
		t.Skip("the backend keeps nothing across a restart (Factory.Reopen is nil)")
	}
	s := f.open(t)
	now := start()
	claimed := newToken("u1", now, time.Hour)
	plain := newToken("u2", now.Add(time.Second), time.Hour)
	mustSaveToken(t, s, claimed)
	mustSaveToken(t, s, plain)
	claimed = mustClaim(t, s, claimed.ID, now, now.Add(time.Minute))
	js := mustEnqueueAll(t, s, now, "leased@example.com", "dead@example.com", "waiting@example.com")
	leased := mustNextJob(t, s, now, now.Add(time.Minute))
	dead := js[1]
	dead.Dead, dead.Attempts, dead.LastError = true, 3, "550"
	if err := s.RetryJob(t.Context(), dead); err != nil {
		t.Fatalf("RetryJob(%q) = %v, want nil", dead.ID, err)
	}
	secret := mustSecret(t, s, "cookie", 32)
	mustAllow(t, s, "k", 1, time.Hour, now, true)

	s = f.reopen(t, s)

	for _, want := range []reset.Token{claimed, plain} {
		if got := mustToken(t, s, want.ID); !sameToken(got, want) {
			t.Errorf("after restart Token(%q) = %+v, want %+v", want.ID, got, want)
		}
	}
	if _, err := s.ClaimToken(t.Context(), claimed.ID, now, now.Add(time.Minute)); !errors.Is(err, reset.ErrTokenClaimed) {
		t.Errorf("after restart ClaimToken(%q) of a claimed token = %v, want %v", claimed.ID, err, reset.ErrTokenClaimed)
	}
	if n, err := s.DeleteUserTokens(t.Context(), "u2"); err != nil || n != 1 {
		t.Errorf("after restart DeleteUserTokens(%q) = %d, %v, want 1, nil", "u2", n, err)
	}
	wantJobs := []reset.Job{leased, dead, js[2]}
	got := mustJobs(t, s)
	if len(got) != len(wantJobs) {
		t.Fatalf("after restart Jobs() = %+v, want %+v", got, wantJobs)
	}
	for i := range got {
		if !sameJob(got[i], wantJobs[i]) {
			t.Errorf("after restart Jobs()[%d] = %+v, want %+v", i, got[i], wantJobs[i])
		}
	}
	// The lease survives too: only the waiting job is due, and the leased one after its lease.
	wantNextJob(t, s, now, now.Add(time.Minute), js[2])
	wantNextJob(t, s, leased.LeasedUntil, leased.LeasedUntil.Add(time.Minute), js[0])
	// Ids keep increasing across restarts, so that the order of the queue holds.
	mustEnqueue(t, s, newJob("new@example.com", now))
	if all := mustJobs(t, s); len(all) != 4 || all[3].Email != "new@example.com" || all[3].ID <= js[2].ID {
		t.Errorf("after restart Jobs() = %+v, want the new job last with an id above %q", all, js[2].ID)
	}
	if got := mustSecret(t, s, "cookie", 32); !bytes.Equal(got, secret) {
		t.Errorf("after restart Secret(%q) = %x, want %x", "cookie", got, secret)
	}
	mustAllow(t, s, "k", 1, time.Hour, now, false)
}

func testWallClockExpiry(t *testing.T, f Factory) {
	if !f.WallClockExpiry {
		t.Skip("the backend deletes expired tokens only in DeleteExpired (Factory.WallClockExpiry is false)")
	}
	wait := f.ExpiryWait
	if wait == 0 {
		wait = 30 * time.Second
	}
	s := f.open(t)
	tok := newToken("u1", start(), time.Second)
	mustSaveToken(t, s, tok)
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := s.Token(ctx, tok.ID)
		if errors.Is(err, reset.ErrTokenNotFound) {
			break
		}
		if err != nil {
			t.Fatalf("Token(%q) = %v, want the token or %v", tok.ID, err, reset.ErrTokenNotFound)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("token expiring at %v still stored %v later; want the backend to drop it", tok.ExpiresAt, wait)
		}
	}
	if n, err := s.DeleteUserTokens(t.Context(), tok.UserID); err != nil || n != 0 {
		t.Errorf("DeleteUserTokens(%q) after its token expired = %d, %v, want 0, nil", tok.UserID, n, err)
	}
}
