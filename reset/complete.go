package reset

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

const (
	// writeTimeout bounds the write of a claimed reset: the new hash, the notice and the
	// token cleanup. It runs detached from the request, so that a client that hangs up right
	// after the claim cannot leave the reset half done or suppress the notice (issue 20).
	writeTimeout = 30 * time.Second
	// claimWait bounds how long a second submission of the same link waits for the first.
	claimWait = 30 * time.Second
	// claimPoll is how often that waiting submission looks again.
	claimPoll = 50 * time.Millisecond
)

// errDoneElsewhere: a concurrent submission of the same link changed the password.
var errDoneElsewhere = errors.New("reset completed by a concurrent submission")

// errSpentJustNow: the link was used moments ago to set the account's current password.
var errSpentJustNow = errors.New("link used moments ago")

// CompleteReset sets a new password through the link raw. It checks the link and the policy,
// claims the token atomically (of concurrent submissions exactly one writes), hashes the
// password in the app's format, queues the "password changed" notice durably, writes the hash
// with compare-and-swap (plus the after-reset statements) and deletes all the account's
// tokens.
//
// A second submission of the same link while the first is writing (a double click) waits for
// it and then answers as it did: done, or the first gave up and this one writes.
//
// The returned Pending is set whenever the link was valid (also with a *PolicyError, so the
// form can be shown again). Errors: ErrTokenInvalid, *PolicyError (nothing consumed: the user
// can correct and resubmit), *RateLimitError, ErrNotResettable (the account's hash format
// cannot be written), ErrUnavailable (nothing written; the token is released for a retry).
func (s *Service) CompleteReset(ctx context.Context, raw, password, again, clientIP string) (Pending, error) {
	mark := spentMark(raw, password)
	p, err := s.checkToken(ctx, raw, clientIP, mark)
	if errors.Is(err, errSpentJustNow) {
		return p, nil
	}
	if err != nil {
		return Pending{}, err
	}
	u := p.User
	// A store that hashes passwords itself (an LDAP directory with the Password Modify
	// operation, reset/directory.go) needs no hasher of ours; without one it asks for none.
	plain, isPlain := s.users.(PlainPasswordSetter)
	hasher, herr := s.hashers.For(u.ID, u.PasswordHash)
	maxBytes := 0
	switch {
	case herr == nil:
		maxBytes = hasher.MaxPasswordBytes()
	case !isPlain:
		s.observe(EventNotResettable)
		s.log.WarnContext(ctx, "no hash scheme can be written for this account; set [users] hash explicitly", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "outcome", "not_resettable", "err", herr)
		return p, ErrNotResettable
	}
	problems, err := s.checkPassword(ctx, password, again, u, maxBytes)
	if err != nil {
		return p, ErrUnavailable
	}
	if len(problems) > 0 {
		s.observe(EventPasswordRefused)
		s.log.InfoContext(ctx, "new password refused", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "outcome", "policy", "problems", len(problems))
		s.audit(ctx, AuditEvent{Event: AuditPasswordRefused, Outcome: "policy", UserID: u.ID, Email: u.Email, IP: clientIP})
		return p, &PolicyError{Problems: problems}
	}
	owner, err := s.claim(ctx, p, clientIP, mark)
	if errors.Is(err, errDoneElsewhere) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	var newHash string
	if !isPlain {
		if newHash, err = s.hash(ctx, hasher, password); err != nil {
			s.release(ctx, p.Token.ID, owner)
			s.log.ErrorContext(ctx, "hashing failed", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "err", err)
			return p, ErrUnavailable
		}
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	now := s.now()
	// The notice is queued before the write, tagged with the fingerprint before: the worker
	// sends it once the account no longer has the old password, and drops it if the write
	// never happened. Neither a hang-up nor a crash between write and queue can suppress it
	// (issue 20). (A store that hashes itself writes a hash not known here: NewFingerprint
	// stays empty then.)
	notice := Job{ID: NewJobID(now), Kind: JobNotice, UserID: u.ID, ClientIP: clientIP, Language: LanguageFrom(ctx), CreatedAt: now, NotBefore: now,
		OldFingerprint: p.Token.Fingerprint}
	if newHash != "" {
		notice.NewFingerprint = Fingerprint(newHash, u.Email)
	}
	queued := []string{notice.ID}
	if err := s.store.Enqueue(wctx, notice); err != nil {
		s.release(ctx, p.Token.ID, owner)
		s.observe(EventQueueFailed)
		s.log.ErrorContext(ctx, "password-changed notice could not be queued; nothing written", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "err", err)
		return p, ErrUnavailable
	}
	s.depth.Add(1)
	if s.wantsHook(HookPasswordChanged) {
		// The webhook is queued like the notice and sent under the same condition.
		hook := notice
		hook.ID, hook.Kind = NewJobID(now), JobHookPasswordChanged
		if err := s.store.Enqueue(wctx, hook); err != nil {
			s.dropNotice(ctx, notice.ID)
			s.release(ctx, p.Token.ID, owner)
			s.observe(EventQueueFailed)
			s.log.ErrorContext(ctx, "password_changed webhook could not be queued; nothing written", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "err", err)
			return p, ErrUnavailable
		}
		s.depth.Add(1)
		queued = append(queued, hook.ID)
	}
	if isPlain {
		err = plain.SetPasswordPlain(wctx, u, password, func() (string, error) {
			if herr != nil {
				return "", herr
			}
			return s.hash(wctx, hasher, password)
		})
	} else {
		err = s.users.SetPassword(wctx, u, newHash)
	}
	if err != nil {
		if err := s.settle(wctx, p, owner, queued, newHash, clientIP, err); err != nil {
			return p, err
		}
	}
	scheme := "the user store's own"
	if hasher != nil {
		scheme = hasher.Scheme()
	}
	s.observe(EventTokenUsed)
	s.observe(EventPasswordChanged)
	s.log.InfoContext(ctx, "password changed", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "outcome", "changed", "scheme", scheme)
	s.audit(ctx, AuditEvent{Event: AuditPasswordChanged, Outcome: "changed", UserID: u.ID, Email: u.Email, IP: clientIP})
	s.spend(wctx, p.Token, mark)
	s.afterReset(wctx, u.ID, clientIP)
	s.Wake()
	return p, nil
}

// usedMark prefixes the fingerprint of a spent link's tombstone. No account's fingerprint
// has it, so a tombstone never passes as a live link.
const usedMark = "used:"

// spentMark identifies one submission (link and password) without storing anything that
// helps guess the password: an HMAC keyed with the raw link, which the store never holds.
func spentMark(raw, password string) string {
	m := hmac.New(sha256.New, []byte(raw))
	m.Write([]byte(password))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// tombstone is the fingerprint a spent link's record keeps, given the account's new one.
func tombstone(newFingerprint, mark string) string { return usedMark + newFingerprint + "." + mark }

// spend replaces the account's tokens by a short-lived tombstone of the link just used, so
// that the same submission arriving just after this one finished (a double click) answers
// "done" as this one did, instead of "link invalid" (issue 20). Any other use of the link,
// another password included, stays refused.
func (s *Service) spend(ctx context.Context, t Token, mark string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	// The account as it is now: its new fingerprint, whoever computed the hash.
	cur, err := s.users.UserByID(rctx, t.UserID)
	if err != nil {
		s.deleteTokens(ctx, t.UserID)
		return
	}
	tomb := Token{ID: t.ID, UserID: t.UserID, Email: t.Email, Fingerprint: tombstone(Fingerprint(cur.PasswordHash, cur.Email), mark),
		IssuedAt: t.IssuedAt, ExpiresAt: s.now().Add(claimWait)}
	// SaveToken deletes the account's other tokens, this one's live record included.
	if err := s.store.SaveToken(rctx, tomb); err != nil {
		s.deleteTokens(ctx, t.UserID)
	}
}

// claim takes the token for this completion and returns the claim's owner. When another
// completion holds it, claim waits for that one to end: errDoneElsewhere if it changed the
// password, else (it gave up and released the token) it claims again.
func (s *Service) claim(ctx context.Context, p Pending, clientIP, mark string) (string, error) {
	wctx, cancel := context.WithTimeout(ctx, claimWait)
	defer cancel()
	for {
		now := s.now()
		t, err := s.store.ClaimToken(wctx, p.Token.ID, now, now.Add(DefaultClaimLease))
		switch {
		case err == nil && t.Fingerprint == p.Token.Fingerprint:
			return t.ClaimedBy, nil
		case err == nil:
			// The record is now the tombstone of a concurrent submission that finished.
			s.release(ctx, t.ID, t.ClaimedBy)
			return "", s.afterConcurrent(wctx, p, t, clientIP, mark)
		case errors.Is(err, ErrTokenNotFound):
			return "", s.afterConcurrent(wctx, p, Token{}, clientIP, mark)
		case !errors.Is(err, ErrTokenClaimed):
			s.log.ErrorContext(ctx, "token store failed", "event", "reset.complete", "ip", clientIP, "user_id", p.User.ID, "err", err)
			return "", ErrUnavailable
		}
		s.observe(EventCompletionWaits)
		s.log.InfoContext(ctx, "link is being used by a concurrent submission; waiting for it", "event", "reset.complete", "ip", clientIP, "user_id", p.User.ID, "outcome", "in_progress")
		if err := s.waitClaim(wctx, p.Token.ID); err != nil {
			s.log.WarnContext(ctx, "gave up waiting for a concurrent submission", "event", "reset.complete", "ip", clientIP, "user_id", p.User.ID, "err", err)
			return "", ErrUnavailable
		}
	}
}

// waitClaim returns once the token's claim is gone (released, lapsed, or the token deleted).
func (s *Service) waitClaim(ctx context.Context, id string) error {
	tick := time.NewTicker(claimPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		t, err := s.store.Token(ctx, id)
		switch {
		case errors.Is(err, ErrTokenNotFound):
			return nil
		case err != nil:
			return err
		case t.ClaimedBy == "" || !s.now().Before(t.ClaimedUntil) || strings.HasPrefix(t.Fingerprint, usedMark):
			return nil
		}
	}
}

// afterConcurrent decides, once the live token is gone, whether the same submission made
// concurrently changed the password (so this one is done too) or the link died for another
// reason. tomb is the link's tombstone, if one was found.
func (s *Service) afterConcurrent(ctx context.Context, p Pending, tomb Token, clientIP, mark string) error {
	cur, err := s.users.UserByID(ctx, p.User.ID)
	if err != nil {
		return s.invalid(ctx, clientIP, p.User.ID, "already_used")
	}
	if tomb.ID == "" {
		if tomb, err = s.store.Token(ctx, p.Token.ID); err != nil {
			return s.invalid(ctx, clientIP, p.User.ID, "already_used")
		}
	}
	if tomb.Fingerprint == tombstone(Fingerprint(cur.PasswordHash, cur.Email), mark) {
		s.log.InfoContext(ctx, "password changed by a concurrent submission of the same link", "event", "reset.complete", "ip", clientIP, "user_id", p.User.ID, "outcome", "changed_concurrently")
		return errDoneElsewhere
	}
	return s.invalid(ctx, clientIP, p.User.ID, "already_used")
}

// settle decides what a failed write did. A definite refusal (the hash changed meanwhile, or
// the directory's policy said no) is final; any other error may have come after the commit
// (a lost COMMIT reply), so the account is read again: the new hash in place (for a store
// that hashes itself, any change from the old one) means success (nil); the old one means
// nothing happened, and the token is released for a retry.
func (s *Service) settle(ctx context.Context, p Pending, owner string, queued []string, newHash, clientIP string, werr error) error {
	u := p.User
	var policy *PolicyError
	switch {
	case errors.Is(werr, ErrPasswordChanged):
		s.dropNotice(ctx, queued...)
		s.deleteTokens(ctx, u.ID)
		return s.invalid(ctx, clientIP, u.ID, "account_changed")
	case errors.As(werr, &policy):
		s.dropNotice(ctx, queued...)
		s.release(ctx, p.Token.ID, owner)
		s.observe(EventPasswordRefused)
		s.log.InfoContext(ctx, "new password refused by the user store's policy", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "outcome", "policy", "problems", len(policy.Problems))
		s.audit(ctx, AuditEvent{Event: AuditPasswordRefused, Outcome: "store_policy", UserID: u.ID, Email: u.Email, IP: clientIP})
		return policy
	}
	cur, err := s.users.UserByID(ctx, u.ID)
	changed := err == nil && Fingerprint(cur.PasswordHash, cur.Email) != p.Token.Fingerprint
	switch {
	case err == nil && (cur.PasswordHash == newHash || newHash == "" && changed):
		s.log.WarnContext(ctx, "the write reported an error, but the new password is in place", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "err", werr)
		return nil
	case err == nil && Fingerprint(cur.PasswordHash, cur.Email) == p.Token.Fingerprint:
		s.dropNotice(ctx, queued...)
		s.release(ctx, p.Token.ID, owner)
		s.observe(EventStoreWriteFailed)
		s.log.ErrorContext(ctx, "writing the new password failed; nothing changed", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "outcome", "app_write_failed", "err", werr)
		return ErrUnavailable
	case err == nil:
		s.deleteTokens(ctx, u.ID)
		return s.invalid(ctx, clientIP, u.ID, "account_changed")
	}
	// Unknown: keep the claim (it lapses) and the notice (the worker sends it only if the
	// password did change).
	s.observe(EventStoreWriteFailed)
	s.log.ErrorContext(ctx, "writing the new password failed and the account could not be read back; the notice follows if it was written", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "outcome", "app_write_unknown", "err", werr, "read_err", err)
	return ErrUnavailable
}

func (s *Service) release(ctx context.Context, id, owner string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := s.store.ReleaseToken(rctx, id, owner); err != nil {
		s.log.ErrorContext(ctx, "token could not be released", "event", "reset.complete", "err", err)
	}
}

// dropNotice drops the notice (and its webhook) of a write that did not happen.
func (s *Service) dropNotice(ctx context.Context, ids ...string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	for _, id := range ids {
		if err := s.store.DropJob(rctx, id); err != nil && !errors.Is(err, ErrJobNotFound) {
			// The worker drops it too, once it sees the old password still in place.
			s.log.WarnContext(ctx, "unneeded notice could not be dropped", "event", "reset.complete", "job", id, "err", err)
		}
	}
}

func (s *Service) deleteTokens(ctx context.Context, userID string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if _, err := s.store.DeleteUserTokens(rctx, userID); err != nil {
		// The claim still blocks reuse until it lapses, and the fingerprint no longer
		// matches the new hash, so the link is dead either way.
		s.log.ErrorContext(ctx, "tokens could not be deleted", "event", "reset.complete", "user_id", userID, "err", err)
	}
}
