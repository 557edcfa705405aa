package reset

import (
	"context"
	"errors"
	"time"
)

// DefaultSessionMaxAge is how long a binding of the app's session cookie is kept without
// being renewed, and how long a revoked one stays refused, when [Options.SessionMaxAge] is 0.
const DefaultSessionMaxAge = 720 * time.Hour

// ErrSessionNotFound: the store has no live binding for that key (SessionStore.SessionUser).
var ErrSessionNotFound = errors.New("session not bound")

// RevokedSession is one revoked session cookie: the keyed hash of its value (never the
// value), refused until Until.
type RevokedSession struct {
	Key   string
	Until time.Time
}

// SessionStore binds the legacy app's session cookies to the accounts that signed in with
// them, so that a completed reset can end every session of the account (issue 11). It holds
// only keyed hashes of cookie values, which the caller computes; the store never sees a
// cookie. Every [Store] implements it; reset/resettest's [TestStore] checks the contract.
type SessionStore interface {
	// BindSession binds key to userID until expires, in addition to any other account key
	// is bound to; binding the same pair again sets its expiry. A key may name several
	// accounts: a cookie that a signed-in browser got back from a sign-in form naming someone
	// else belongs to both, so that neither reset leaves it open. A key that is revoked stays
	// revoked: binding it changes nothing, so a late binding cannot revive a session a reset
	// ended.
	BindSession(ctx context.Context, key, userID string, expires time.Time) error
	// SessionUsers returns the accounts key is bound to at now, in no particular order, or
	// ErrSessionNotFound if it has no binding live at now (none, all expired, or revoked).
	SessionUsers(ctx context.Context, key string, now time.Time) ([]string, error)
	// RevokeSessions ends every key with a live binding to userID, whatever other accounts
	// it is bound to: each loses all its bindings and becomes a revoked entry, refused until
	// `until` and listed by RevokedSince. It returns how many keys there were.
	RevokeSessions(ctx context.Context, userID string, now, until time.Time) (int, error)
	// RevokedSince returns the revoked entries added after the cursor `after` (0: all that
	// are stored), oldest first, and the cursor to pass next time; with nothing new, the
	// cursor comes back unchanged. Cursors are the store's own sequence numbers, shared by
	// every process using the store, so no clock skew between replicas can hide an entry.
	RevokedSince(ctx context.Context, after uint64) ([]RevokedSession, uint64, error)
	// SweepSessions deletes the bindings (key and account pairs) that expired at or before
	// now and the revoked entries whose Until passed, and returns how many it deleted.
	SweepSessions(ctx context.Context, now time.Time) (int, error)
}

// endSessions revokes every session cookie bound to the account, refused for the session
// max age. It returns 0, nil when session tracking is off. Failures are for the caller to log
// and count: a reset that completed stays completed.
func (s *Service) endSessions(ctx context.Context, userID string) (int, error) {
	if s.o.Sessions == nil {
		return 0, nil
	}
	now := s.now()
	n, err := s.o.Sessions.RevokeSessions(ctx, userID, now, now.Add(s.o.SessionMaxAge))
	if err != nil {
		return 0, err
	}
	for range n {
		s.observe(EventSessionsEnded)
	}
	return n, nil
}

// TracksSessions reports whether a completed reset ends the account's tracked sessions.
func (s *Service) TracksSessions() bool { return s.o.Sessions != nil }

// afterReset ends the account's sessions once its password was changed. It runs detached
// from the request and never fails the reset: the new password is in place whatever happens.
func (s *Service) afterReset(ctx context.Context, userID, clientIP string) {
	if s.o.Sessions == nil {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	n, err := s.endSessions(rctx, userID)
	if err != nil {
		s.observe(EventSessionsEndFailed)
		s.log.ErrorContext(ctx, "the account's sessions could not be ended", "event", "reset.complete", "ip", clientIP, "user_id", userID, "err", err)
		return
	}
	s.log.InfoContext(ctx, "the account's tracked sessions were ended", "event", "reset.complete", "ip", clientIP, "user_id", userID, "sessions", n)
}

// SweepSessions deletes expired bindings and revoked entries past their time; [Service.Sweep]
// calls it when tracking is on.
func (s *Service) sweepSessions(ctx context.Context, now time.Time) {
	if s.o.Sessions == nil {
		return
	}
	n, err := s.o.Sessions.SweepSessions(ctx, now)
	if err != nil {
		s.log.ErrorContext(ctx, "sweeping session bindings failed", "event", "sweep", "err", err)
	} else if n > 0 {
		s.log.DebugContext(ctx, "expired session bindings swept", "event", "sweep", "count", n)
	}
}
