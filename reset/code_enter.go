package reset

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// AuditCodeTried names the audit event of a typed code (issue 14): outcome ok (it opened the
// reset), expired, used or limited (too many wrong codes voided the address's reset). Wrong
// codes that matched nothing are guesses: like unknown links, only the log and metrics see
// them, so a flood cannot push real events out of the capped trail.
const AuditCodeTried = "code.tried"

// EnterCode checks a code typed with the address it was mailed to and, when both are right,
// exchanges it for a fresh raw token of the same pending reset (same account, fingerprint and
// expiry, under a new id): the mailed link and the code die, and the caller continues with
// the returned token exactly as with an opened link (see [Service.CheckToken]). The code is
// thereby single use.
//
// It returns ErrMalformedEmail when email is not an address (which says nothing about
// accounts), ErrCodeInvalid for every other refusal (wrong, expired, used, voided, unknown
// address, too many wrong codes for the address), *RateLimitError when the client has failed
// too many link or code checks, and ErrUnavailable when a dependency failed.
//
// The request path never looks an account up: the code's HMAC with the typed address finds
// the token, so a wrong code costs the same store calls whether the address has an account or
// not (SECURITY.md RQ-COD-01). After [CodeAttempts] wrong codes for an address, its codes are
// refused for a link's lifetime and its pending reset is voided by the worker.
func (s *Service) EnterCode(ctx context.Context, email, code, clientIP string) (string, error) {
	parsed, err := ParseEmail(email)
	if err != nil {
		return "", ErrMalformedEmail
	}
	addr := NormalizeEmail(parsed)
	tun := s.tune()
	now := s.now()
	if !tun.TokenPerIP.Unlimited() {
		ok, retry, err := s.store.Peek(ctx, guessIPKey+limitKey(clientIP), tun.TokenPerIP.N, now)
		if err != nil {
			s.log.ErrorContext(ctx, "rate limit store failed", "event", "code.check", "ip", clientIP, "err", err)
			return "", ErrUnavailable
		}
		if !ok {
			return "", s.limitedGuess(ctx, clientIP, "ip", retry)
		}
	}
	if s.o.NoCode {
		return "", s.wrongCode(ctx, tun, parsed, addr, clientIP, "", "codes_off", true)
	}
	open, _, err := s.store.Peek(ctx, codeFailKey+addr, CodeAttempts, now)
	if err != nil {
		s.log.ErrorContext(ctx, "rate limit store failed", "event", "code.check", "ip", clientIP, "err", err)
		return "", ErrUnavailable
	}
	key, err := s.codeKey(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "code key unavailable", "event", "code.check", "ip", clientIP, "err", err)
		return "", ErrUnavailable
	}
	if len(code) > MaxCodeInput {
		code = code[:MaxCodeInput]
	}
	norm, _ := NormalizeCode(code)
	// Looked up even when the address is locked, so that a lock costs what a wrong code does.
	t, err := s.store.TokenByCode(ctx, codeID(key, addr, norm))
	switch {
	case errors.Is(err, ErrTokenNotFound):
		return "", s.wrongCode(ctx, tun, parsed, addr, clientIP, "", "wrong", !open)
	case err != nil:
		// Fail closed (SECURITY.md RQ-TOK-09).
		s.log.ErrorContext(ctx, "token store failed", "event", "code.check", "ip", clientIP, "err", err)
		return "", ErrUnavailable
	}
	why := ""
	switch {
	case !open:
		why = "limited"
	case t.Spent():
		why = "used"
	case t.Expired(now):
		why = "expired"
	case now.Before(t.ClaimedUntil):
		why = "in_use" // a completion through the link is writing the password right now
	}
	if why != "" {
		// A real reset, so worth a line in the trail.
		s.audit(ctx, AuditEvent{Event: AuditCodeTried, Outcome: why, UserID: t.UserID, Email: t.Email, IP: clientIP})
		return "", s.wrongCode(ctx, tun, parsed, addr, clientIP, t.UserID, why, !open)
	}
	raw, id := NewToken()
	fresh := Token{ID: id, UserID: t.UserID, Email: t.Email, Fingerprint: t.Fingerprint, IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt}
	// SaveToken voids the account's other tokens: the mailed link and its code die here.
	if err := s.store.SaveToken(ctx, fresh); err != nil {
		s.log.ErrorContext(ctx, "token store failed", "event", "code.check", "ip", clientIP, "user_id", t.UserID, "err", err)
		return "", ErrUnavailable
	}
	s.audit(ctx, AuditEvent{Event: AuditCodeTried, Outcome: "ok", UserID: t.UserID, Email: t.Email, IP: clientIP})
	s.log.InfoContext(ctx, "reset code accepted", "event", "code.check", "ip", clientIP, "user_id", t.UserID, "outcome", "ok")
	return raw, nil
}

// wrongCode counts a refused code against the address (unless it is locked already) and,
// through [Service.failedCheck], against the client and the global budget of failed checks,
// and returns the error the user sees. The store calls are the same whether the address has
// an account or not.
func (s *Service) wrongCode(ctx context.Context, tun *Tunables, lookup, addr, clientIP, userID, why string, locked bool) error {
	now := s.now()
	if !locked {
		key := codeFailKey + addr
		if ok, _, err := s.store.Allow(ctx, key, CodeAttempts, tun.TokenTTL, now); err != nil {
			s.log.ErrorContext(ctx, "rate limit store failed", "event", "code.check", "ip", clientIP, "err", err)
		} else if ok {
			if more, _, err := s.store.Peek(ctx, key, CodeAttempts, now); err == nil && !more {
				s.voidCodes(ctx, lookup, clientIP, now)
			}
		}
	}
	err := s.failedCheck(ctx, tun, clientIP, userID, "code_"+why)
	if errors.Is(err, ErrTokenInvalid) {
		return ErrCodeInvalid
	}
	return err
}

// voidCodes queues the voiding of the address's pending reset: the last allowed wrong code
// was just typed. The worker looks the account up, never the request path.
func (s *Service) voidCodes(ctx context.Context, email, clientIP string, now time.Time) {
	lookup := NormalizeEmail(email)
	if s.o.CaseSensitiveEmail {
		lookup = email
	}
	j := Job{ID: NewJobID(now), Kind: JobVoidCode, Email: lookup, ClientIP: clientIP, CreatedAt: now, NotBefore: now}
	if err := s.store.Enqueue(ctx, j); err != nil {
		s.observe(EventQueueFailed)
		s.log.ErrorContext(ctx, "voiding after too many wrong codes could not be queued", "event", "code.check", "ip", clientIP, "err", err)
		return
	}
	s.depth.Add(1)
	s.log.WarnContext(ctx, "too many wrong codes for one address: its pending reset is voided", "event", "code.check", "ip", clientIP, "outcome", "limited")
	s.Wake()
}

// handleVoidCode voids the pending reset of the account with address j.Email, if any.
func (s *Service) handleVoidCode(ctx context.Context, j Job) error {
	u, err := s.users.FindUser(ctx, j.Email)
	switch {
	case errors.Is(err, ErrUserNotFound), errors.Is(err, ErrAmbiguousUser):
		return nil
	case err != nil:
		return fmt.Errorf("look up account: %w", err)
	}
	n, err := s.store.DeleteUserTokens(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("void tokens: %w", err)
	}
	s.log.InfoContext(ctx, "pending reset voided after too many wrong codes", "event", "code.void", "job", j.ID, "ip", j.ClientIP, "user_id", u.ID, "voided", n)
	s.audit(ctx, AuditEvent{Time: j.CreatedAt, Event: AuditCodeTried, Outcome: "limited", UserID: u.ID, Email: u.Email, IP: j.ClientIP})
	return nil
}
