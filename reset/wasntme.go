package reset

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The "this wasn't me" link (issue 11, SECURITY.md RQ-RST-08). Every "password changed"
// notice carries one. Opening it changes nothing (mail scanners prefetch links); confirming
// it ends every session bound to the account, voids its pending links, mails a fresh reset
// link to the stored address and writes an audit event.
//
// The link is a sealed value, not a stored token: AES-256-GCM under a key kept in the store
// (Store.Secret, so that every replica opens it), over the expiry, the id of the notice that
// carried it and the account id. Nothing can be forged or read from it, and the account id
// never sits in a URL in clear. Single use is a mark through the store's Limiter: one event
// allowed per notice, in a window that outlives the link, so a second confirmation anywhere
// finds it spent.

const (
	// DefaultWasntMeTTL is how long a "this wasn't me" link works: a week, because such a
	// notice may be read days later.
	DefaultWasntMeTTL = 7 * 24 * time.Hour
	// MaxWasntMeTTL caps it.
	MaxWasntMeTTL = 30 * 24 * time.Hour
	// wasntMeSecret names the sealing key in the store.
	wasntMeSecret = "wasnt-me-link"
	// wasntMeMaxLen bounds what reaches the decoder: the sealed value of a long account id.
	wasntMeMaxLen = 600
	// wasntMeMarkGrace keeps the single-use mark a day past the link's expiry, so that no
	// clock skew between replicas reopens a spent link.
	wasntMeMarkGrace = 24 * time.Hour
)

// wasntMeAAD binds the sealed value to its purpose and format: no other sealed value of
// resetgate's, now or later, opens as one of these.
var wasntMeAAD = []byte("resetgate wasnt-me v1")

var (
	// ErrWasntMeInvalid: the "this wasn't me" link is malformed, forged or expired. One error
	// for all, like ErrTokenInvalid.
	ErrWasntMeInvalid = errors.New("this-wasn't-me link is invalid or expired")
	// ErrWasntMeUsed: the link was confirmed already; everything it does is done.
	ErrWasntMeUsed = errors.New("this-wasn't-me link already confirmed")
)

// wasntMe is what a sealed link says.
type wasntMe struct {
	expires time.Time
	notice  string // the id of the notice job that carried the link: the single-use mark
	userID  string
}

// markKey is the Limiter key of the link's single-use mark.
func (w wasntMe) markKey() string { return "wasnt-me:" + w.notice }

// wasntMeAEAD returns the sealing cipher, reading its key from the store once: store
// secrets never change, so later calls (every page view) cost no store read.
func (s *Service) wasntMeAEAD(ctx context.Context) (cipher.AEAD, error) {
	if a := s.wasntMeKey.Load(); a != nil {
		return *a, nil
	}
	key, err := s.store.Secret(ctx, wasntMeSecret, 32)
	if err != nil {
		return nil, fmt.Errorf("this-wasn't-me key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("this-wasn't-me key: %w", err)
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("this-wasn't-me key: %w", err)
	}
	s.wasntMeKey.Store(&a)
	return a, nil
}

// wasntMeLink returns the "this wasn't me" URL for the notice job noticeID about account
// userID, valid for Options.WasntMeTTL from now. It is built from the public URL only.
func (s *Service) wasntMeLink(ctx context.Context, noticeID, userID string) (string, error) {
	aead, err := s.wasntMeAEAD(ctx)
	if err != nil {
		return "", err
	}
	if len(noticeID) > 255 {
		return "", fmt.Errorf("this-wasn't-me link: notice id %q is too long", noticeID)
	}
	plain := binary.BigEndian.AppendUint64(nil, uint64(s.now().Add(s.o.WasntMeTTL).Unix()))
	plain = append(plain, byte(len(noticeID)))
	plain = append(plain, noticeID...)
	plain = append(plain, userID...)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce) // a fresh random nonce per link: never reused under the key
	sealed := aead.Seal(nonce, nonce, plain, wasntMeAAD)
	return s.WasntMeURL(base64.RawURLEncoding.EncodeToString(sealed)), nil
}

// WasntMeURL is the confirmation page's address for a sealed link value raw.
func (s *Service) WasntMeURL(raw string) string {
	return s.o.PublicURL + s.o.Prefix + "/wasnt-me/" + raw
}

// WasntMeTTL is how long "this wasn't me" links work.
func (s *Service) WasntMeTTL() time.Duration { return s.o.WasntMeTTL }

// openWasntMe checks the sealed value raw and returns what it says; ErrWasntMeInvalid for
// anything malformed, forged or expired.
func (s *Service) openWasntMe(ctx context.Context, raw string) (wasntMe, error) {
	if len(raw) == 0 || len(raw) > wasntMeMaxLen {
		return wasntMe{}, ErrWasntMeInvalid
	}
	sealed, err := base64.RawURLEncoding.Strict().DecodeString(raw)
	if err != nil {
		return wasntMe{}, ErrWasntMeInvalid
	}
	aead, err := s.wasntMeAEAD(ctx)
	if err != nil {
		return wasntMe{}, err
	}
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return wasntMe{}, ErrWasntMeInvalid
	}
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], wasntMeAAD)
	if err != nil || len(plain) < 9 || len(plain) < 9+int(plain[8]) {
		return wasntMe{}, ErrWasntMeInvalid
	}
	idLen := int(plain[8])
	w := wasntMe{expires: time.Unix(int64(binary.BigEndian.Uint64(plain)), 0),
		notice: string(plain[9 : 9+idLen]), userID: string(plain[9+idLen:])}
	if w.notice == "" || w.userID == "" || !s.now().Before(w.expires) {
		return wasntMe{}, ErrWasntMeInvalid
	}
	return w, nil
}

// CheckWasntMe says whether the "this wasn't me" link raw can be confirmed, changing
// nothing: nil, ErrWasntMeUsed (already confirmed), ErrWasntMeInvalid or ErrUnavailable.
func (s *Service) CheckWasntMe(ctx context.Context, raw string) error {
	w, err := s.openWasntMe(ctx, raw)
	if errors.Is(err, ErrWasntMeInvalid) {
		return err
	}
	if err != nil {
		s.log.ErrorContext(ctx, "this-wasn't-me link could not be checked", "event", "reset.wasnt_me", "err", err)
		return ErrUnavailable
	}
	ok, _, err := s.store.Peek(ctx, w.markKey(), 1, s.now())
	switch {
	case err != nil:
		s.log.ErrorContext(ctx, "this-wasn't-me link could not be checked", "event", "reset.wasnt_me", "user_id", w.userID, "err", err)
		return ErrUnavailable
	case !ok:
		return ErrWasntMeUsed
	}
	return nil
}

// ConfirmWasntMe carries out the "this wasn't me" link raw: it ends every session bound to
// the account (those opened with the new password too), voids the account's pending reset
// links, queues a fresh reset link to the stored address, queues the wasnt_me webhook and
// writes the audit event (event=reset.wasnt_me).
//
// The work comes before the single-use mark and is idempotent (the fresh-link job's id is
// derived from the notice), so that a store failure halfway leaves the link usable for a
// retry, and two concurrent confirmations mail one link. Errors: ErrWasntMeInvalid,
// ErrWasntMeUsed (a second confirmation: all of it is done), ErrUnavailable (try again).
func (s *Service) ConfirmWasntMe(ctx context.Context, raw, clientIP string) error {
	w, err := s.openWasntMe(ctx, raw)
	if errors.Is(err, ErrWasntMeInvalid) {
		s.log.InfoContext(ctx, "this-wasn't-me link refused", "event", "reset.wasnt_me", "ip", clientIP, "outcome", "invalid")
		return err
	}
	if err != nil {
		s.log.ErrorContext(ctx, "this-wasn't-me link could not be checked", "event", "reset.wasnt_me", "ip", clientIP, "err", err)
		return ErrUnavailable
	}
	unavailable := func(what string, err error) error {
		s.log.ErrorContext(ctx, "this-wasn't-me confirmation failed; the link stays usable", "event", "reset.wasnt_me", "ip", clientIP, "user_id", w.userID, "step", what, "err", err)
		return ErrUnavailable
	}
	now := s.now()
	if ok, _, err := s.store.Peek(ctx, w.markKey(), 1, now); err != nil {
		return unavailable("check", err)
	} else if !ok {
		s.log.InfoContext(ctx, "this-wasn't-me link confirmed again; nothing more to do", "event", "reset.wasnt_me", "ip", clientIP, "user_id", w.userID, "outcome", "already_done")
		return ErrWasntMeUsed
	}
	ended, err := s.endSessions(ctx, w.userID)
	if err != nil {
		return unavailable("end sessions", err)
	}
	voided, err := s.store.DeleteUserTokens(ctx, w.userID)
	if err != nil {
		return unavailable("void links", err)
	}
	fresh := Job{ID: w.notice + ".fresh", Kind: JobWasntMe, UserID: w.userID, ClientIP: clientIP, Language: LanguageFrom(ctx), CreatedAt: now, NotBefore: now}
	if err := s.store.Enqueue(ctx, fresh); err != nil {
		return unavailable("queue the fresh link", err)
	}
	s.depth.Add(1)
	if s.wantsHook(HookWasntMe) {
		hook := Job{ID: w.notice + ".hook", Kind: hookJobKind[HookWasntMe], UserID: w.userID, ClientIP: clientIP, CreatedAt: now, NotBefore: now}
		if err := s.store.Enqueue(ctx, hook); err != nil {
			return unavailable("queue the webhook", err)
		}
		s.depth.Add(1)
	}
	ok, _, err := s.store.Allow(ctx, w.markKey(), 1, w.expires.Sub(now)+wasntMeMarkGrace, now)
	if err != nil {
		return unavailable("mark used", err)
	}
	if !ok {
		// A concurrent confirmation of the same link won: it queued the same jobs.
		s.log.InfoContext(ctx, "this-wasn't-me link confirmed concurrently; nothing more to do", "event", "reset.wasnt_me", "ip", clientIP, "user_id", w.userID, "outcome", "already_done")
		return ErrWasntMeUsed
	}
	s.observe(EventWasntMe)
	s.log.WarnContext(ctx, "this-wasn't-me confirmed: sessions ended, pending links voided, a fresh reset link queued", "event", "reset.wasnt_me", "ip", clientIP, "user_id", w.userID, "outcome", "confirmed", "sessions_ended", ended, "links_voided", voided, "notice", w.notice)
	s.audit(ctx, AuditEvent{Event: AuditWasntMe, Outcome: "confirmed", UserID: w.userID, IP: clientIP})
	s.Wake()
	return nil
}

// handleWasntMe mails a fresh reset link to the stored address of the account whose owner
// said "this wasn't me". Per-address request limits do not apply: it follows a confirmation,
// not a form; the mail budgets do.
func (s *Service) handleWasntMe(ctx context.Context, j Job) error {
	u, err := s.users.UserByID(ctx, j.UserID)
	if errors.Is(err, ErrUserNotFound) {
		s.log.WarnContext(ctx, "account gone before its fresh reset link was sent", "event", "mail", "kind", j.Kind, "job", j.ID, "user_id", j.UserID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up account: %w", err)
	}
	if _, plain := s.users.(PlainPasswordSetter); !plain {
		if _, err := s.hashers.For(u.ID, u.PasswordHash); err != nil {
			s.observe(EventNotResettable)
			s.log.WarnContext(ctx, "no fresh link sent: this account's password format cannot be written (set [users] hash, see `resetgate doctor`)", "event", "mail", "kind", j.Kind, "job", j.ID, "user_id", u.ID, "outcome", "not_resettable", "err", err)
			return nil
		}
	}
	if err := s.mailLink(ctx, u, j.ClientIP, j.Language); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "fresh reset link sent after this-wasn't-me", "event", "mail", "kind", j.Kind, "job", j.ID, "ip", j.ClientIP, "user_id", u.ID, "outcome", "sent")
	return nil
}
