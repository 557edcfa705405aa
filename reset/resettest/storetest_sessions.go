package resettest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"resetgate/reset"
)

// The session cases (issue 11). Keys are what the tracking middleware stores: hex HMACs.

func sessKey(s string) string { return fmt.Sprintf("%064x", s) }

func mustBind(t *testing.T, s reset.Store, key, user string, expires time.Time) {
	t.Helper()
	if err := s.BindSession(t.Context(), key, user, expires); err != nil {
		t.Fatalf("BindSession(%q, %q) = %v, want nil", key, user, err)
	}
}

// wantSessionUser checks the accounts key is bound to; none: want ErrSessionNotFound.
func wantSessionUser(t *testing.T, s reset.Store, key string, now time.Time, want ...string) {
	t.Helper()
	got, err := s.SessionUsers(t.Context(), key, now)
	if len(want) == 0 {
		if !errors.Is(err, reset.ErrSessionNotFound) {
			t.Errorf("SessionUsers(%q) = %q, %v, want ErrSessionNotFound", key, got, err)
		}
		return
	}
	slices.Sort(got)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("SessionUsers(%q) = %q, %v, want %q, nil", key, got, err, want)
	}
}

func mustRevoke(t *testing.T, s reset.Store, user string, now, until time.Time, want int) {
	t.Helper()
	n, err := s.RevokeSessions(t.Context(), user, now, until)
	if err != nil || n != want {
		t.Fatalf("RevokeSessions(%q) = %d, %v, want %d, nil", user, n, err, want)
	}
}

func mustRevokedSince(t *testing.T, s reset.Store, after uint64) ([]string, uint64) {
	t.Helper()
	rs, next, err := s.RevokedSince(t.Context(), after)
	if err != nil {
		t.Fatalf("RevokedSince(%d) = %v, want nil", after, err)
	}
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.Key
	}
	return keys, next
}

func testBindSession(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	mustBind(t, s, sessKey("a"), "u1", now.Add(time.Hour))
	wantSessionUser(t, s, sessKey("a"), now, "u1")
	wantSessionUser(t, s, sessKey("b"), now)
}

func testRebindSession(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	mustBind(t, s, sessKey("a"), "u1", now.Add(time.Hour))
	mustBind(t, s, sessKey("a"), "u2", now.Add(2*time.Hour))
	wantSessionUser(t, s, sessKey("a"), now, "u1", "u2")
	wantSessionUser(t, s, sessKey("a"), now.Add(90*time.Minute), "u2")
	// Binding the same pair again moves its expiry.
	mustBind(t, s, sessKey("a"), "u1", now.Add(3*time.Hour))
	wantSessionUser(t, s, sessKey("a"), now.Add(150*time.Minute), "u1")
	// Either account's reset ends the key, for both.
	mustRevoke(t, s, "u2", now, now.Add(time.Hour), 1)
	wantSessionUser(t, s, sessKey("a"), now)
	mustRevoke(t, s, "u1", now, now.Add(time.Hour), 0)
}

func testSessionExpired(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	mustBind(t, s, sessKey("a"), "u1", now.Add(time.Hour))
	wantSessionUser(t, s, sessKey("a"), now.Add(time.Hour))
	// Nor is an expired binding revoked: it ended by itself.
	mustRevoke(t, s, "u1", now.Add(time.Hour), now.Add(2*time.Hour), 0)
}

func testRevokeSessions(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	mustBind(t, s, sessKey("a1"), "u1", now.Add(time.Hour))
	mustBind(t, s, sessKey("a2"), "u1", now.Add(time.Hour))
	mustBind(t, s, sessKey("b"), "u10", now.Add(time.Hour)) // prefixes u1
	mustBind(t, s, sessKey("c"), "u", now.Add(time.Hour))
	mustRevoke(t, s, "u1", now, now.Add(time.Hour), 2)
	wantSessionUser(t, s, sessKey("a1"), now)
	wantSessionUser(t, s, sessKey("a2"), now)
	wantSessionUser(t, s, sessKey("b"), now, "u10")
	wantSessionUser(t, s, sessKey("c"), now, "u")
	keys, _ := mustRevokedSince(t, s, 0)
	slices.Sort(keys)
	if want := []string{sessKey("a1"), sessKey("a2")}; !slices.Equal(keys, want) {
		t.Errorf("RevokedSince(0) keys = %q, want %q", keys, want)
	}
	// A second reset finds nothing left to end.
	mustRevoke(t, s, "u1", now, now.Add(time.Hour), 0)
}

func testBindRevoked(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	mustBind(t, s, sessKey("a"), "u1", now.Add(time.Hour))
	mustRevoke(t, s, "u1", now, now.Add(time.Hour), 1)
	_, cur := mustRevokedSince(t, s, 0)
	mustBind(t, s, sessKey("a"), "u1", now.Add(time.Hour))
	mustBind(t, s, sessKey("a"), "u2", now.Add(time.Hour))
	wantSessionUser(t, s, sessKey("a"), now)
	if keys, next := mustRevokedSince(t, s, cur); len(keys) != 0 || next != cur {
		t.Errorf("RevokedSince(%d) after binding a revoked key = %q, %d, want nothing new", cur, keys, next)
	}
}

func testRevokedSince(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	if keys, next := mustRevokedSince(t, s, 0); len(keys) != 0 || next != 0 {
		t.Errorf("RevokedSince(0) of an empty store = %q, %d, want nothing, 0", keys, next)
	}
	mustBind(t, s, sessKey("a"), "u1", now.Add(time.Hour))
	mustRevoke(t, s, "u1", now, now.Add(3*time.Hour), 1)
	keys, c1 := mustRevokedSince(t, s, 0)
	if !slices.Equal(keys, []string{sessKey("a")}) || c1 == 0 {
		t.Fatalf("RevokedSince(0) = %q, %d, want [a], a cursor above 0", keys, c1)
	}
	rs, _, err := s.RevokedSince(t.Context(), 0)
	if err != nil || len(rs) != 1 || !rs[0].Until.Equal(now.Add(3*time.Hour)) {
		t.Errorf("RevokedSince(0) = %+v, %v, want Until %v", rs, err, now.Add(3*time.Hour))
	}
	if keys, next := mustRevokedSince(t, s, c1); len(keys) != 0 || next != c1 {
		t.Errorf("RevokedSince(%d) with nothing new = %q, %d, want nothing, %d", c1, keys, next, c1)
	}
	mustBind(t, s, sessKey("b"), "u2", now.Add(time.Hour))
	mustBind(t, s, sessKey("c"), "u3", now.Add(time.Hour))
	mustRevoke(t, s, "u2", now, now.Add(time.Hour), 1)
	mustRevoke(t, s, "u3", now, now.Add(time.Hour), 1)
	keys, c2 := mustRevokedSince(t, s, c1)
	if !slices.Equal(keys, []string{sessKey("b"), sessKey("c")}) || c2 <= c1 {
		t.Errorf("RevokedSince(%d) = %q, %d, want [b c] oldest first and a later cursor", c1, keys, c2)
	}
}

func testSweepSessions(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	mustBind(t, s, sessKey("old"), "u1", now.Add(time.Minute))
	mustBind(t, s, sessKey("live"), "u1", now.Add(time.Hour))
	mustBind(t, s, sessKey("gone"), "u2", now.Add(time.Hour))
	mustRevoke(t, s, "u2", now, now.Add(time.Minute), 1)
	mustBind(t, s, sessKey("kept"), "u3", now.Add(time.Hour))
	mustRevoke(t, s, "u3", now, now.Add(time.Hour), 1)
	mustBind(t, s, sessKey("both"), "u4", now.Add(time.Minute))
	mustBind(t, s, sessKey("both"), "u5", now.Add(time.Hour))
	n, err := s.SweepSessions(t.Context(), now.Add(time.Minute))
	if err != nil || n != 3 {
		t.Errorf("SweepSessions() = %d, %v, want 3 (two bindings, one revocation), nil", n, err)
	}
	wantSessionUser(t, s, sessKey("both"), now, "u5")
	mustRevoke(t, s, "u4", now, now.Add(time.Hour), 0)
	wantSessionUser(t, s, sessKey("live"), now, "u1")
	keys, _ := mustRevokedSince(t, s, 0)
	if !slices.Equal(keys, []string{sessKey("kept")}) {
		t.Errorf("RevokedSince(0) after the sweep = %q, want [kept]", keys)
	}
	// The swept binding is gone for good: a reset of u1 ends only the live one.
	mustRevoke(t, s, "u1", now, now.Add(time.Hour), 1)
}

func testSessionsConcurrent(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	const n = 20
	errs := make([]error, n)
	Concurrently(n, func(i int) {
		errs[i] = s.BindSession(t.Context(), sessKey(fmt.Sprint("k", i)), "u1", now.Add(time.Hour))
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("BindSession #%d = %v, want nil", i, err)
		}
	}
	mustRevoke(t, s, "u1", now, now.Add(time.Hour), n)
	if keys, _ := mustRevokedSince(t, s, 0); len(keys) != n {
		t.Errorf("RevokedSince(0) lists %d keys, want %d", len(keys), n)
	}
}

func testSessionsRestart(t *testing.T, f Factory) {
	if f.Reopen == nil {
		t.Skip("the backend keeps nothing across a restart")
	}
	s := f.open(t)
	now := start()
	mustBind(t, s, sessKey("a"), "u1", now.Add(time.Hour))
	mustBind(t, s, sessKey("b"), "u2", now.Add(time.Hour))
	mustRevoke(t, s, "u2", now, now.Add(time.Hour), 1)
	_, cur := mustRevokedSince(t, s, 0)
	s = f.reopen(t, s)
	wantSessionUser(t, s, sessKey("a"), now, "u1")
	keys, next := mustRevokedSince(t, s, 0)
	if !slices.Equal(keys, []string{sessKey("b")}) || next != cur {
		t.Errorf("RevokedSince(0) after a restart = %q, %d, want [b], %d", keys, next, cur)
	}
	// Sequence numbers keep growing across the restart.
	mustRevoke(t, s, "u1", now, now.Add(time.Hour), 1)
	if keys, next := mustRevokedSince(t, s, cur); !slices.Equal(keys, []string{sessKey("a")}) || next <= cur {
		t.Errorf("RevokedSince(%d) after a restart = %q, %d, want [a] and a later cursor", cur, keys, next)
	}
}
