package reset_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"resetgate/reset"
)

// trail lists the audit events as "event outcome user ip" lines.
func trail(t *testing.T, f *fixture) []string {
	t.Helper()
	events, err := f.svc.AuditSince(context.Background(), time.Time{})
	if err != nil {
		t.Fatalf("AuditSince = %v", err)
	}
	lines := make([]string, len(events))
	for i, e := range events {
		lines[i] = strings.TrimSpace(fmt.Sprintf("%s %s %s %s %s", e.Event, e.Outcome, e.UserID, e.IP, e.Actor))
	}
	return lines
}

func TestAuditTrailFollowsTheFlow(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.request(t, "nobody@example.com")
	raw := f.link(t)
	if _, err := f.svc.CheckToken(ctx, raw, "192.0.2.7"); err != nil {
		t.Fatalf("CheckToken = %v", err)
	}
	if _, err := f.svc.CheckToken(ctx, strings.Repeat("A", len(raw)), "192.0.2.66"); err == nil {
		t.Fatal("CheckToken of a guessed token succeeded")
	}
	if _, err := f.svc.CompleteReset(ctx, raw, "password", "password", "192.0.2.7"); err == nil {
		t.Fatal("a refused password was accepted")
	}
	if _, err := f.svc.CompleteReset(ctx, raw, "a brand new secret", "a brand new secret", "192.0.2.7"); err != nil {
		t.Fatalf("CompleteReset = %v", err)
	}
	if _, _, err := f.svc.IssueLink(ctx, "bob@example.com", true); err != nil {
		t.Fatalf("IssueLink = %v", err)
	}
	got := trail(t, f)
	want := []string{
		"reset.requested no_account  192.0.2.1",
		"reset.requested sent 1 192.0.2.1",
		"link.opened ok 1 192.0.2.7",
		"password.refused policy 1 192.0.2.7",
		"password.changed changed 1 192.0.2.7",
		"reset.requested sent 2  operator",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit trail =\n%s\nwant\n%s\n(a guessed token leaves no event)", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAuditTrailIsCappedAndSwept(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.AuditKeep = 3; o.AuditRetention = time.Hour })
	for i := range 5 {
		f.request(t, fmt.Sprintf("nobody%d@example.com", i))
	}
	if got := trail(t, f); len(got) != 3 {
		t.Errorf("trail capped at 3 holds %d events: %v", len(got), got)
	}
	f.clock.Advance(2 * time.Hour)
	f.svc.Sweep(context.Background())
	if got := trail(t, f); len(got) != 0 {
		t.Errorf("after the retention the trail holds %v, want nothing", got)
	}
}

func TestAuditTrailOff(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.AuditKeep = -1 })
	f.link(t)
	if got := trail(t, f); len(got) != 0 {
		t.Errorf("with the trail off it holds %v", got)
	}
}

func TestUsernames(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.Usernames = true })
	f.users.SetUsername("2", "Bob.Builder")
	if sent := f.request(t, "  bob.BUILDER "); len(sent) != 1 || sent[0].To != "bob@example.com" {
		t.Fatalf("a request naming the username sent %+v, want one mail to the stored address", sent)
	}
	if sent := f.request(t, "nobody"); len(sent) != 0 {
		t.Errorf("an unknown username sent %+v", sent)
	}
	if sent := f.request(t, "alice@example.com"); len(sent) != 1 || sent[0].To != alice.Email {
		t.Errorf("an address still works beside usernames: sent %+v", sent)
	}
	for _, bad := range []string{"", "   ", "a@@b", "tab\tinside", strings.Repeat("x", reset.MaxUsernameLen+1)} {
		if err := f.svc.RequestReset(context.Background(), bad, "192.0.2.1"); !errors.Is(err, reset.ErrMalformedEmail) {
			t.Errorf("RequestReset(%q) = %v, want ErrMalformedEmail", bad, err)
		}
	}
	if u, err := f.svc.FindAccount(context.Background(), "BOB.builder"); err != nil || u.ID != "2" {
		t.Errorf("FindAccount(username) = %+v, %v", u, err)
	}
	if got := trail(t, f); len(got) < 2 || got[1] != "reset.requested no_account  192.0.2.1" {
		t.Errorf("audit trail = %v", got)
	}

	off := newFixture(t, nil)
	off.users.SetUsername("2", "bob")
	if err := off.svc.RequestReset(context.Background(), "bob", "192.0.2.1"); !errors.Is(err, reset.ErrMalformedEmail) {
		t.Errorf("with usernames off, RequestReset(username) = %v, want ErrMalformedEmail", err)
	}
}
