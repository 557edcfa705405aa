package reset

import (
	"context"
	"time"
)

// AuditEvent is one entry of the audit trail that `resetgate audit` prints: who did what to
// which account, and how it ended. It never holds a link, a code or a password.
type AuditEvent struct {
	Time    time.Time `json:"time"`
	Event   string    `json:"event"`   // see the Audit* names
	Outcome string    `json:"outcome"` // what came of it, e.g. "queued", "sent", "no_account"
	UserID  string    `json:"user_id,omitempty"`
	Email   string    `json:"email,omitempty"` // the stored address, or the one asked for
	// Username is the username a request named instead of an address.
	Username string `json:"username,omitempty"`
	IP       string `json:"ip,omitempty"`    // the client's address; "operator" for the CLI
	Actor    string `json:"actor,omitempty"` // who acted when not the user: "admin-api", "operator"
}

// Audit event names.
const (
	AuditRequested       = "reset.requested"  // someone asked for a link
	AuditMailed          = "reset.mailed"     // the worker handled the request: sent, no_account, …
	AuditLinkOpened      = "link.opened"      // a link was opened: ok, expired, used
	AuditPasswordChanged = "password.changed" // a new password was written
	AuditPasswordRefused = "password.refused" // a new password was refused (policy)
	AuditWasntMe         = "reset.wasnt_me"   // the owner confirmed "this wasn't me" in the changed notice
)

// AuditTrail keeps the newest audit events, for operators ([Store]).
type AuditTrail interface {
	// AppendAudit stores e, then drops the oldest events beyond keep (keep ≤ 0: no cap), so
	// that no flood grows the trail without bound.
	AppendAudit(ctx context.Context, e AuditEvent, keep int) error
	// AuditSince returns the stored events whose Time is at or after since, oldest first.
	AuditSince(ctx context.Context, since time.Time) ([]AuditEvent, error)
	// DeleteAuditBefore deletes the events older than before and returns how many there were.
	DeleteAuditBefore(ctx context.Context, before time.Time) (int, error)
}

// DefaultAuditKeep is how many audit events are kept by default, and DefaultAuditRetention
// for how long.
const (
	DefaultAuditKeep      = 20000
	DefaultAuditRetention = 90 * 24 * time.Hour
)

// audit appends e to the trail, stamped now. It is bookkeeping: a failure is logged, never
// returned, and it gets its own short deadline so that a cancelled request still leaves its
// trace.
func (s *Service) audit(ctx context.Context, e AuditEvent) {
	if s.o.AuditKeep < 0 {
		return
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := s.store.AppendAudit(ctx, e, s.o.AuditKeep); err != nil {
		s.log.ErrorContext(ctx, "audit trail write failed", "event", "audit", "audit_event", e.Event, "err", err)
	}
}

// Audit appends an event from outside the flow (the admin API, operator commands) to the
// trail.
func (s *Service) Audit(ctx context.Context, e AuditEvent) { s.audit(ctx, e) }

// AuditSince returns the trail's events since the given time, oldest first.
func (s *Service) AuditSince(ctx context.Context, since time.Time) ([]AuditEvent, error) {
	return s.store.AuditSince(ctx, since)
}
