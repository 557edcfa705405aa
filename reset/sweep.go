package reset

import (
	"context"
	"time"
)

// Sweep deletes expired tokens, stale rate-limit windows, dead jobs past their retention,
// expired session bindings and audit events past theirs.
func (s *Service) Sweep(ctx context.Context) {
	now := s.now()
	n, err := s.store.DeleteExpired(ctx, now)
	if err != nil {
		s.log.ErrorContext(ctx, "sweeping expired tokens failed", "event", "sweep", "err", err)
	} else if n > 0 {
		s.log.DebugContext(ctx, "expired tokens swept", "event", "sweep", "count", n)
	}
	n, err = s.store.DeleteDead(ctx, now.Add(-s.o.DeadRetention))
	if err != nil {
		s.log.ErrorContext(ctx, "sweeping dead jobs failed", "event", "sweep", "err", err)
	} else if n > 0 {
		s.log.InfoContext(ctx, "dead mail jobs past their retention deleted", "event", "sweep", "count", n)
	}
	s.sweepSessions(ctx, now)
	if s.o.AuditKeep < 0 {
		return
	}
	n, err = s.store.DeleteAuditBefore(ctx, now.Add(-s.o.AuditRetention))
	if err != nil {
		s.log.ErrorContext(ctx, "sweeping old audit events failed", "event", "sweep", "err", err)
	} else if n > 0 {
		s.log.DebugContext(ctx, "audit events past their retention deleted", "event", "sweep", "count", n)
	}
}

// RunSweeper calls Sweep every interval until ctx is done.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Sweep(ctx)
		}
	}
}
