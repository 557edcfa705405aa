package reset

import (
	"context"
	"errors"
	"time"
)

// Pending is a valid link, as [Service.CheckToken] found it.
type Pending struct {
	Token Token
	User  User
}

// Keys of the link-guessing limits. Only failed checks are counted (SECURITY.md RQ-TOK-10).
const (
	guessIPKey     = "tok-ip:"  // + the client, per [limitKey]
	guessGlobalKey = "tok-fail" // every failed check, from anywhere
)

// CheckToken reports whether raw is a usable link, without consuming it: opening a link (or a
// mail scanner prefetching it) burns nothing (SECURITY.md RQ-LNK-04). It returns
// ErrTokenInvalid for every unusable link, *RateLimitError when the client has failed too
// often, and ErrUnavailable when a dependency failed.
//
// Only failed checks count toward the guessing limits, and a valid link is never charged: a
// client over its own limit is refused before the lookup, but nobody else's guessing can
// refuse a real link (issue 16: 21 addresses guessing garbage kept every user's link at 429).
func (s *Service) CheckToken(ctx context.Context, raw, clientIP string) (Pending, error) {
	return s.checkToken(ctx, raw, clientIP, "")
}

// checkToken is CheckToken for a submission whose spentMark is mark ("" for none): when the
// link was used moments ago by the same submission it returns errSpentJustNow.
func (s *Service) checkToken(ctx context.Context, raw, clientIP, mark string) (Pending, error) {
	tun := s.tune()
	if !tun.TokenPerIP.Unlimited() {
		ok, retry, err := s.store.Peek(ctx, guessIPKey+limitKey(clientIP), tun.TokenPerIP.N, s.now())
		if err != nil {
			s.log.ErrorContext(ctx, "rate limit store failed", "event", "token.check", "ip", clientIP, "err", err)
			return Pending{}, ErrUnavailable
		}
		if !ok {
			return Pending{}, s.limitedGuess(ctx, clientIP, "ip", retry)
		}
	}
	p, why, err := s.lookupToken(ctx, raw, clientIP, mark)
	if why == "account_changed" && mark != "" && p.Token.ClaimedBy != "" && s.now().Before(p.Token.ClaimedUntil) {
		// A completion of this link holds it right now and its write has landed, but not yet
		// its tombstone: this may be the same submission, double-clicked. Wait for that one to
		// finish, then look again, so the answer is "done" rather than "invalid".
		wctx, cancel := context.WithTimeout(ctx, claimWait)
		werr := s.waitClaim(wctx, p.Token.ID)
		cancel()
		if werr == nil {
			p, why, err = s.lookupToken(ctx, raw, clientIP, mark)
		}
	}
	if why == "" {
		if err == nil && mark == "" { // opened, not submitted: the completion audits itself
			s.audit(ctx, AuditEvent{Event: AuditLinkOpened, Outcome: "ok", UserID: p.User.ID, Email: p.User.Email, IP: clientIP})
		}
		return p, err
	}
	if why == "spent" {
		// Not a guess: the same submission, made moments ago (a double-clicked submit).
		return p, errSpentJustNow
	}
	if p.Token.UserID != "" {
		// A real link that no longer works (expired, superseded): worth a line in the trail.
		// Unknown and malformed tokens are guesses, which only the log and metrics count, so
		// that a flood of them cannot push real events out of the capped trail.
		s.audit(ctx, AuditEvent{Event: AuditLinkOpened, Outcome: why, UserID: p.Token.UserID, Email: p.Token.Email, IP: clientIP})
	}
	return Pending{}, s.failedCheck(ctx, tun, clientIP, p.Token.UserID, why)
}

// lookupToken finds the pending reset of raw. A failed check returns why (for the log and
// the limits); a dependency failure returns ErrUnavailable with why empty.
func (s *Service) lookupToken(ctx context.Context, raw, clientIP, mark string) (p Pending, why string, err error) {
	if !ValidTokenShape(raw) {
		return Pending{}, "malformed", nil
	}
	t, err := s.store.Token(ctx, TokenID(raw))
	switch {
	case errors.Is(err, ErrTokenNotFound):
		return Pending{}, "unknown", nil
	case err != nil:
		// Fail closed (SECURITY.md RQ-TOK-09).
		s.log.ErrorContext(ctx, "token store failed", "event", "token.check", "ip", clientIP, "err", err)
		return Pending{}, "", ErrUnavailable
	}
	p.Token = t
	if t.Expired(s.now()) {
		s.observe(EventTokenExpired)
		return p, "expired", nil
	}
	u, err := s.users.UserByID(ctx, t.UserID)
	switch {
	case errors.Is(err, ErrUserNotFound):
		return p, "account_gone", nil
	case err != nil:
		s.log.ErrorContext(ctx, "app database failed", "event", "token.check", "ip", clientIP, "user_id", t.UserID, "err", err)
		return Pending{}, "", ErrUnavailable
	}
	// The account's hash or address changed by another path since the link was sent: the link
	// died with them (SECURITY.md RQ-TOK-06).
	if fp := Fingerprint(u.PasswordHash, u.Email); fp != t.Fingerprint {
		if mark != "" && t.Fingerprint == tombstone(fp, mark) {
			p.User = u
			return p, "spent", nil
		}
		return p, "account_changed", nil
	}
	p.User = u
	return p, "", nil
}

// failedCheck counts a failed link check against the client and the global failure budget
// and returns the error the user sees: ErrTokenInvalid, or *RateLimitError once the budget is
// spent (floods of guesses stay bounded, while valid links keep working).
func (s *Service) failedCheck(ctx context.Context, tun *Tunables, clientIP, userID, why string) error {
	now := s.now()
	for _, l := range []struct {
		scope, key string
		rate       Rate
	}{{"ip", guessIPKey + limitKey(clientIP), tun.TokenPerIP}, {"global", guessGlobalKey, tun.TokenGlobal}} {
		if l.rate.Unlimited() {
			continue
		}
		ok, retry, err := s.store.Allow(ctx, l.key, l.rate.N, l.rate.Per, now)
		if err != nil {
			s.log.ErrorContext(ctx, "rate limit store failed", "event", "token.check", "ip", clientIP, "err", err)
		} else if !ok {
			return s.limitedGuess(ctx, clientIP, l.scope, retry)
		}
	}
	return s.invalid(ctx, clientIP, userID, why)
}

func (s *Service) limitedGuess(ctx context.Context, clientIP, scope string, retry time.Duration) error {
	s.observe(EventLimitedToken)
	s.log.WarnContext(ctx, "link attempts limited", "event", "token.check", "ip", clientIP, "outcome", "limited", "scope", scope)
	return &RateLimitError{RetryAfter: retry}
}

func (s *Service) invalid(ctx context.Context, clientIP, userID, why string) error {
	s.observe(EventTokenInvalid)
	s.log.InfoContext(ctx, "reset link refused", "event", "token.check", "ip", clientIP, "user_id", userID, "outcome", why)
	return ErrTokenInvalid
}
