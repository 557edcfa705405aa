package resettest

import (
	"fmt"
	"testing"
	"time"

	"resetgate/reset"
)

func auditEvent(i int, at time.Time) reset.AuditEvent {
	return reset.AuditEvent{Time: at, Event: reset.AuditRequested, Outcome: "queued",
		UserID: fmt.Sprint(i), Email: fmt.Sprintf("user%d@example.com", i), IP: "192.0.2.1"}
}

func mustAppendAudit(t *testing.T, s reset.Store, e reset.AuditEvent, keep int) {
	t.Helper()
	if err := s.AppendAudit(t.Context(), e, keep); err != nil {
		t.Fatalf("AppendAudit(%+v, %d) = %v, want nil", e, keep, err)
	}
}

func mustAuditSince(t *testing.T, s reset.Store, since time.Time) []reset.AuditEvent {
	t.Helper()
	got, err := s.AuditSince(t.Context(), since)
	if err != nil {
		t.Fatalf("AuditSince(%v) = %v, want nil", since, err)
	}
	return got
}

// userIDs lists the events' user ids, which the cases number in time order.
func userIDs(es []reset.AuditEvent) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.UserID
	}
	return ids
}

func testAuditSince(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	// Appended out of time order, as replicas with their own clocks may.
	for _, i := range []int{2, 0, 1, 3} {
		mustAppendAudit(t, s, auditEvent(i, now.Add(time.Duration(i)*time.Minute)), 0)
	}
	if got := userIDs(mustAuditSince(t, s, now)); fmt.Sprint(got) != "[0 1 2 3]" {
		t.Errorf("AuditSince(start) = users %v, want [0 1 2 3] (oldest first)", got)
	}
	got := mustAuditSince(t, s, now.Add(2*time.Minute))
	if fmt.Sprint(userIDs(got)) != "[2 3]" {
		t.Errorf("AuditSince(start+2m) = users %v, want [2 3] (the bound is inclusive)", userIDs(got))
	}
	want := auditEvent(2, now.Add(2*time.Minute))
	if len(got) > 0 && (!got[0].Time.Equal(want.Time) || got[0].Event != want.Event || got[0].Outcome != want.Outcome ||
		got[0].Email != want.Email || got[0].IP != want.IP) {
		t.Errorf("AuditSince read back %+v, want %+v", got[0], want)
	}
	if got := mustAuditSince(t, s, now.Add(time.Hour)); len(got) != 0 {
		t.Errorf("AuditSince(after every event) = %v, want none", got)
	}
}

func testAuditKeep(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	for i := range 10 {
		mustAppendAudit(t, s, auditEvent(i, now.Add(time.Duration(i)*time.Second)), 4)
	}
	if got := userIDs(mustAuditSince(t, s, now)); fmt.Sprint(got) != "[6 7 8 9]" {
		t.Errorf("after 10 appends capped at 4, AuditSince = users %v, want the newest four [6 7 8 9]", got)
	}
}

func testAuditSweep(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	for i := range 5 {
		mustAppendAudit(t, s, auditEvent(i, now.Add(time.Duration(i)*time.Hour)), 0)
	}
	n, err := s.DeleteAuditBefore(t.Context(), now.Add(3*time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("DeleteAuditBefore(start+3h) = %d, %v, want 3, nil", n, err)
	}
	if got := userIDs(mustAuditSince(t, s, now)); fmt.Sprint(got) != "[3 4]" {
		t.Errorf("after the sweep AuditSince = users %v, want [3 4]", got)
	}
	// The cap still counts right after a sweep.
	mustAppendAudit(t, s, auditEvent(5, now.Add(5*time.Hour)), 2)
	if got := userIDs(mustAuditSince(t, s, now)); fmt.Sprint(got) != "[4 5]" {
		t.Errorf("after a sweep and a capped append AuditSince = users %v, want [4 5]", got)
	}
}

func testAuditRestart(t *testing.T, f Factory) {
	if f.Reopen == nil {
		t.Skip("the backend keeps nothing across a restart (Factory.Reopen is nil)")
	}
	s := f.open(t)
	now := start()
	mustAppendAudit(t, s, auditEvent(1, now), 0)
	s = f.reopen(t, s)
	if got := userIDs(mustAuditSince(t, s, now)); fmt.Sprint(got) != "[1]" {
		t.Errorf("after a restart AuditSince = users %v, want [1]", got)
	}
}
