package resettest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"resetgate/reset"
)

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
	got := make([]reset.Token, n)
	Concurrently(n, func(i int) {
		got[i], errs[i] = s.ClaimToken(t.Context(), tok.ID, now, until)
	})
	wins, winner := 0, ""
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
			winner = got[i].ClaimedBy
		case !errors.Is(err, reset.ErrTokenClaimed):
			t.Errorf("ClaimToken #%d = %v, want nil or %v", i, err, reset.ErrTokenClaimed)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent ClaimToken calls: %d succeeded, want exactly 1", n, wins)
	}
	if got := mustToken(t, s, tok.ID); !got.ClaimedUntil.Equal(until) || got.ClaimedBy != winner {
		t.Errorf("Token(%q) claimed until %v by %q, want %v by the winner %q", tok.ID, got.ClaimedUntil, got.ClaimedBy, until, winner)
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
	if err := s.ReleaseToken(t.Context(), id, "someone"); err != nil {
		t.Errorf("ReleaseToken(%q) of a missing token = %v, want nil", id, err)
	}
	wantTokenGone(t, s, id)
	tok := newToken("u1", start(), time.Hour)
	mustSaveToken(t, s, tok)
	if err := s.ReleaseToken(t.Context(), tok.ID, "someone"); err != nil {
		t.Errorf("ReleaseToken(%q) of an unclaimed token = %v, want nil", tok.ID, err)
	}
	if got := mustToken(t, s, tok.ID); !sameToken(got, tok) {
		t.Errorf("Token(%q) after releasing it unclaimed = %+v, want %+v", tok.ID, got, tok)
	}
}

func testClaimOwner(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	tok := newToken("u1", now, time.Hour)
	mustSaveToken(t, s, tok)
	until := now.Add(time.Minute)
	first := mustClaim(t, s, tok.ID, now, until)
	if got := mustToken(t, s, tok.ID); !sameToken(got, first) {
		t.Errorf("Token(%q) after a claim = %+v, want the claimed token %+v", tok.ID, got, first)
	}
	second := mustClaim(t, s, tok.ID, until, until.Add(time.Minute))
	if second.ClaimedBy == first.ClaimedBy {
		t.Errorf("two claims of %q both named owner %q, want a fresh owner per claim", tok.ID, first.ClaimedBy)
	}
}

func testReleaseFenced(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	tok := newToken("u1", now, time.Hour)
	mustSaveToken(t, s, tok)
	until := now.Add(time.Minute)
	old := mustClaim(t, s, tok.ID, now, until)
	if err := s.ReleaseToken(t.Context(), tok.ID, "forged-"+old.ClaimedBy); !errors.Is(err, reset.ErrLeaseLost) {
		t.Errorf("ReleaseToken(%q) by a stranger = %v, want %v", tok.ID, err, reset.ErrLeaseLost)
	}
	// The first claimant stalled past its claim; a second completion took over.
	current := mustClaim(t, s, tok.ID, until, until.Add(time.Minute))
	if err := s.ReleaseToken(t.Context(), tok.ID, old.ClaimedBy); !errors.Is(err, reset.ErrLeaseLost) {
		t.Errorf("ReleaseToken(%q) by the lapsed claimant = %v, want %v", tok.ID, err, reset.ErrLeaseLost)
	}
	if got := mustToken(t, s, tok.ID); !sameToken(got, current) {
		t.Errorf("Token(%q) after refused releases = %+v, want the current claim %+v", tok.ID, got, current)
	}
	later := until.Add(time.Second)
	if _, err := s.ClaimToken(t.Context(), tok.ID, later, later.Add(time.Minute)); !errors.Is(err, reset.ErrTokenClaimed) {
		t.Errorf("ClaimToken(%q) after a refused release = %v, want %v (still claimed)", tok.ID, err, reset.ErrTokenClaimed)
	}
}

func testCountTokens(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	wantCount := func(when string, want int) {
		t.Helper()
		if n, err := s.CountTokens(t.Context()); err != nil || n != want {
			t.Errorf("CountTokens() %s = %d, %v, want %d, nil", when, n, err, want)
		}
	}
	wantCount("of an empty store", 0)
	a := newToken("a", now, time.Hour)
	b := newToken("b", now, 2*time.Hour)
	mustSaveToken(t, s, a)
	mustSaveToken(t, s, b)
	wantCount("after two saves", 2)
	mustSaveToken(t, s, newToken("a", now.Add(time.Second), 2*time.Hour))
	wantCount("after a newer link voided an older one", 2)
	mustClaim(t, s, b.ID, now, now.Add(time.Minute))
	wantCount("with a claimed token", 2)
	if _, err := s.DeleteUserTokens(t.Context(), "b"); err != nil {
		t.Fatalf("DeleteUserTokens(%q) = %v, want nil", "b", err)
	}
	wantCount("after deleting a user's tokens", 1)
	if _, err := s.DeleteExpired(t.Context(), now.Add(3*time.Hour)); err != nil {
		t.Fatalf("DeleteExpired() = %v, want nil", err)
	}
	wantCount("after deleting the expired", 0)
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
