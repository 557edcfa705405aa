package reset_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"resetgate/reset"
	"resetgate/reset/resettest"
)

// failingRevoke is a store whose RevokeSessions fails.
type failingRevoke struct{ *resettest.MemStore }

func (failingRevoke) RevokeSessions(context.Context, string, time.Time, time.Time) (int, error) {
	return 0, errors.New("store down")
}

func complete(t *testing.T, f *fixture) {
	t.Helper()
	raw := f.link(t)
	if _, err := f.svc.CompleteReset(context.Background(), raw, "a brand new secret", "a brand new secret", "192.0.2.1"); err != nil {
		t.Fatalf("CompleteReset = %v, want nil", err)
	}
	f.drain()
}

func TestCompleteResetEndsTheAccountsSessions(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.Sessions = o.Store })
	ctx := context.Background()
	now := f.clock.Now()
	for key, user := range map[string]string{"alice-1": "1", "alice-2": "1", "bob": "2"} {
		if err := f.store.BindSession(ctx, key, user, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	complete(t, f)
	rs, _, err := f.store.RevokedSince(ctx, 0)
	if err != nil || len(rs) != 2 {
		t.Fatalf("revoked after alice's reset = %+v, %v, want her two sessions", rs, err)
	}
	if got := rs[0].Until.Sub(now); got < reset.DefaultSessionMaxAge-time.Minute {
		t.Errorf("revoked for %v, want the session max age %v", got, reset.DefaultSessionMaxAge)
	}
	if users, err := f.store.SessionUsers(ctx, "bob", now); err != nil || users[0] != "2" {
		t.Errorf("bob's session after alice's reset = %q, %v, want it bound still", users, err)
	}
	if got := f.count(reset.EventSessionsEnded); got != 2 {
		t.Errorf("sessions_ended events = %d, want 2", got)
	}
	sent := f.mailer.Sent()
	if n := sent[len(sent)-1]; !strings.Contains(n.Text, "Every other sign-in") || !strings.Contains(n.HTML, "Every other sign-in") {
		t.Errorf("changed notice does not say the other sign-ins were ended:\n%s", n.Text)
	}
	if !f.svc.TracksSessions() {
		t.Errorf("TracksSessions() = false, want true")
	}
}

func TestCompleteResetWithoutTrackingSaysNothingOfSessions(t *testing.T) {
	f := newFixture(t, nil)
	complete(t, f)
	sent := f.mailer.Sent()
	if n := sent[len(sent)-1]; strings.Contains(n.Text, "sign-in") {
		t.Errorf("changed notice without tracking mentions sign-ins:\n%s", n.Text)
	}
	if f.svc.TracksSessions() {
		t.Errorf("TracksSessions() = true, want false")
	}
}

func TestSessionStoreFailureKeepsTheReset(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.Sessions = failingRevoke{o.Store.(*resettest.MemStore)} })
	complete(t, f)
	if got := f.users.Hash("1"); got != "test$a brand new secret" {
		t.Errorf("stored hash = %q, want the new password in place", got)
	}
	if got := f.count(reset.EventSessionsEndFailed); got != 1 {
		t.Errorf("sessions_end_failed events = %d, want 1", got)
	}
}
