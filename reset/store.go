package reset

import (
	"context"
	"strings"
	"time"
)

// Token is the stored record of a reset link. The raw token exists only in the e-mail: the
// store keeps its SHA-256 (see [TokenID]).
type Token struct {
	ID          string    // hex SHA-256 of the raw token
	UserID      string    // the account the link resets; never taken from a request
	Email       string    // the stored address the link was sent to
	Fingerprint string    // fingerprint of the account's hash at issue (see [Fingerprint])
	IssuedAt    time.Time // when the store issued it
	ExpiresAt   time.Time // after this it is dead, whatever else holds
	// ClaimedUntil is set while a completion is writing the new password; a second
	// completion before then fails. Zero when unclaimed.
	ClaimedUntil time.Time
	// ClaimedBy is the claim's owner, a nonce the store chose at [TokenStore.ClaimToken]:
	// only that owner may release the claim. Empty when unclaimed.
	ClaimedBy string
	// CodeID is the HMAC of the address and the typed code mailed with the link (see
	// [Service.EnterCode]); empty when the link has no code. The code itself is never stored.
	CodeID string
}

// Spent reports whether t is the short-lived record of a link already used, kept so that a
// repeated submission of it answers "done" (see [Service.CompleteReset]); it opens nothing.
func (t Token) Spent() bool { return strings.HasPrefix(t.Fingerprint, usedMark) }

// Expired reports whether t is no longer usable at now.
func (t Token) Expired(now time.Time) bool { return !now.Before(t.ExpiresAt) }

// JobKind says what a queued job does.
type JobKind string

const (
	// JobReset looks the address up and, if an account matches, mails it a fresh link.
	JobReset JobKind = "reset"
	// JobNotice mails the account a "your password was changed" notice.
	JobNotice JobKind = "notice"
	// JobWasntMe mails a fresh reset link to the account whose owner confirmed "this wasn't
	// me" (see [Service.ConfirmWasntMe]).
	JobWasntMe JobKind = "wasnt_me"
	// JobVoidCode voids the pending reset of the address in Email: too many wrong codes were
	// typed for it (see [Service.EnterCode]). The lookup happens here, off the request path.
	JobVoidCode JobKind = "void_code"
)

// Job is one unit of work in the durable mail queue. The request path only enqueues jobs; the
// worker does lookups and sends mail, so responses cost the same whether an account exists.
type Job struct {
	ID    string // chosen by the caller with [NewJobID]; ids sort in creation order
	Kind  JobKind
	Email string // JobReset: the normalised address as submitted (never a recipient)
	// Username is, for a JobReset that named a username instead of an address, the username
	// as normalised by [NormalizeUsername]; Email is then empty.
	Username string
	UserID   string // JobNotice, JobWasntMe and webhooks: the account
	// Language is the language (a tag) of the page the job was queued from; its mail is
	// written in it unless the account has a language of its own.
	Language string
	// JobNotice: the account's fingerprint (see [Fingerprint]) before and after the new
	// password. The notice is queued before the password is written, and sent only once the
	// account no longer has the old one, so that neither a client that hangs up nor a crash
	// between the write and the queue can suppress it.
	OldFingerprint, NewFingerprint string
	ClientIP                       string    // who asked, for the audit log and the notice
	CreatedAt                      time.Time // when it was enqueued
	Attempts                       int       // delivery attempts so far
	NotBefore                      time.Time // not due before this (backoff)
	LastError                      string    // the last attempt's error, for operators
	Dead                           bool      // given up on; kept for `queue list|retry|drop` until swept
	DeadAt                         time.Time // when it was given up on, for [Queue.DeleteDead]
	// LeasedUntil and LeasedBy are set by NextJob: the worker holding the nonce LeasedBy owns
	// the job until LeasedUntil. A job whose lease runs out (its worker died) is delivered
	// again; the old holder's AckJob and RetryJob then fail with ErrLeaseLost (fencing).
	LeasedUntil time.Time
	LeasedBy    string
}

// QueueStats counts the mail queue's jobs, for metrics and bounds.
type QueueStats struct {
	Due     int // waiting and due now
	Delayed int // waiting for a backoff to end
	Leased  int // being worked on
	Dead    int // given up on, kept until swept
}

// Live is the number of jobs still to be delivered.
func (q QueueStats) Live() int { return q.Due + q.Delayed + q.Leased }

// TokenStore keeps reset links (only their hashes).
type TokenStore interface {
	// SaveToken stores t and deletes every other token of t.UserID: a newer link voids older ones.
	SaveToken(ctx context.Context, t Token) error
	// Token returns the token with the given id, expired or not, or ErrTokenNotFound.
	Token(ctx context.Context, id string) (Token, error)
	// TokenByCode returns the stored token whose CodeID is codeID, expired or not, or
	// ErrTokenNotFound. A token's code dies with it: once the token is deleted, replaced by a
	// save of the same id without that CodeID, or voided by a newer token, it is not found.
	TokenByCode(ctx context.Context, codeID string) (Token, error)
	// ClaimToken atomically marks the token claimed until `until`, provided it exists, has not
	// expired at now and is not claimed by someone else at now. Of N concurrent calls, at most
	// one succeeds; the others get ErrTokenClaimed (or ErrTokenNotFound if it is gone or
	// expired). The returned token's ClaimedBy is a fresh nonce naming the claim's owner. A
	// call that the store ran but whose reply was lost, and that is then retried, still
	// succeeds once: the claim is not held against its own owner.
	ClaimToken(ctx context.Context, id string, now, until time.Time) (Token, error)
	// ReleaseToken clears the claim held by owner so the link can be used again (the write to
	// the app failed). It returns ErrLeaseLost, changing nothing, if the claim is another's;
	// releasing a token that is gone or unclaimed is not an error.
	ReleaseToken(ctx context.Context, id, owner string) error
	// DeleteUserTokens deletes every token of the account and returns how many there were.
	DeleteUserTokens(ctx context.Context, userID string) (int, error)
	// Tokens lists every stored token, oldest first.
	Tokens(ctx context.Context) ([]Token, error)
	// CountTokens returns how many tokens are stored, without listing them.
	CountTokens(ctx context.Context) (int, error)
	// DeleteExpired deletes the tokens that expired at or before now, and the rate-limit
	// windows that ended, and returns how many tokens there were.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// Limiter counts events in fixed windows, for rate limits and single-use marks. A key's
// window starts with its first event after the previous window ended and lasts exactly the
// given length (not aligned to any clock boundary), so that Allow with n = 1 marks a key as
// used for the whole window ([Service.ConfirmWasntMe] relies on it).
type Limiter interface {
	// Allow counts one event against key and reports whether at most n events happened in the
	// current window of the given length; when not, retryAfter says when the window ends.
	// Refused events are not counted. A retried call whose first run's reply was lost counts
	// once.
	Allow(ctx context.Context, key string, n int, window time.Duration, now time.Time) (ok bool, retryAfter time.Duration, err error)
	// Peek reports whether Allow would admit one more event for key at now, counting nothing.
	Peek(ctx context.Context, key string, n int, now time.Time) (ok bool, retryAfter time.Duration, err error)
}

// Queue is the durable mail queue. Delivery is at least once: a job leased by a worker that
// dies, or whose lease lapses, is leased again; fencing (ErrLeaseLost) keeps a worker that
// lost its lease from acknowledging or rescheduling a job another worker now holds.
type Queue interface {
	// Enqueue stores j durably (it survives a crash once Enqueue returns). j.ID must be set
	// (see [NewJobID]); enqueueing an id that is already stored changes nothing, so a retried
	// call never queues a job twice.
	Enqueue(ctx context.Context, j Job) error
	// NextJob leases the oldest job that is due at now (NotBefore ≤ now, not dead, no live
	// lease) until `until`, and returns it with Attempts unchanged and LeasedBy set to a fresh
	// nonce; ErrNoJob if none. Its cost does not grow with the number of dead or delayed jobs.
	NextJob(ctx context.Context, now, until time.Time) (Job, error)
	// AckJob deletes a finished job. It returns ErrLeaseLost, deleting nothing, unless j's
	// lease (j.LeasedBy) still holds the job, and ErrJobNotFound if the job is gone.
	AckJob(ctx context.Context, j Job) error
	// RetryJob replaces the stored job with j (new Attempts, NotBefore, LastError, Dead,
	// DeadAt) and clears its lease. Like AckJob it is fenced: the stored job's LeasedBy must
	// equal j.LeasedBy (both empty for a dead job that an operator retries).
	RetryJob(ctx context.Context, j Job) error
	// Jobs lists every job, live and dead, oldest first.
	Jobs(ctx context.Context) ([]Job, error)
	// DropJob deletes a job whatever its state.
	DropJob(ctx context.Context, id string) error
	// Stats counts the jobs at now without listing them.
	Stats(ctx context.Context, now time.Time) (QueueStats, error)
	// DeleteDead deletes the dead jobs given up on before `before` and returns how many.
	DeleteDead(ctx context.Context, before time.Time) (int, error)
}

// Store keeps resetgate's own state: tokens, rate-limit counters, the mail queue and shared
// secrets. reset/bolt implements it in an embedded file, reset/redis for several replicas;
// reset/resettest holds the conformance suite both pass. All methods are safe for concurrent use.
type Store interface {
	TokenStore
	Limiter
	Queue
	AuditTrail
	SessionStore

	// Secret returns the named random secret of the given size, creating it on first use, so
	// that every process sharing the store signs and encrypts cookies alike.
	Secret(ctx context.Context, name string, size int) ([]byte, error)

	// Ping reports whether the store is usable.
	Ping(ctx context.Context) error
	// Close releases the store; it must be called once, after every other call has returned.
	Close() error
}
