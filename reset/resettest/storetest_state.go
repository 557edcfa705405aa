package resettest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"resetgate/reset"
)

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
	dead.Dead, dead.DeadAt, dead.Attempts, dead.LastError = true, now, 3, "550"
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
	if st := mustStats(t, s, now); st != (reset.QueueStats{Due: 1, Leased: 1, Dead: 1}) {
		t.Errorf("after restart Stats() = %+v, want one due, one leased and one dead", st)
	}
	// The lease survives too: only the waiting job is due, and the leased one after its lease.
	wantNextJob(t, s, now, now.Add(time.Minute), js[2])
	wantNextJob(t, s, leased.LeasedUntil, leased.LeasedUntil.Add(time.Minute), js[0])
	// The stale lease is still fenced off.
	if err := s.AckJob(t.Context(), reset.Job{ID: leased.ID, LeasedBy: "before-" + leased.LeasedBy}); !errors.Is(err, reset.ErrLeaseLost) {
		t.Errorf("after restart AckJob(%q) by a stranger = %v, want %v", leased.ID, err, reset.ErrLeaseLost)
	}
	if n, err := s.DeleteDead(t.Context(), now.Add(time.Second)); err != nil || n != 1 {
		t.Errorf("after restart DeleteDead() = %d, %v, want 1, nil", n, err)
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
