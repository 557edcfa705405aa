package reset

import (
	"context"
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
}

// Expired reports whether t is no longer usable at now.
func (t Token) Expired(now time.Time) bool { return !now.Before(t.ExpiresAt) }

// JobKind says what a queued job does.
type JobKind string

const (
	// JobReset looks the address up and, if an account matches, mails it a fresh link.
	JobReset JobKind = "reset"
	// JobNotice mails the account a "your password was changed" notice.
	JobNotice JobKind = "notice"
)

// Job is one unit of work in the durable mail queue. The request path only enqueues jobs; the
// worker does lookups and sends mail, so responses cost the same whether an account exists.
type Job struct {
	ID        string // assigned by Enqueue when empty; ids sort in enqueue order
	Kind      JobKind
	Email     string    // JobReset: the normalised address as submitted (never a recipient)
	UserID    string    // JobNotice: the account to notify
	ClientIP  string    // who asked, for the audit log and the notice
	CreatedAt time.Time // when it was enqueued
	Attempts  int       // delivery attempts so far
	NotBefore time.Time // not due before this (backoff)
	LastError string    // the last attempt's error, for operators
	Dead      bool      // given up on; kept for `queue list|retry|drop`
	// LeasedUntil is set by NextJob: a worker owns the job until then. A job whose lease
	// runs out (its worker died) is delivered again.
	LeasedUntil time.Time
}

// Store keeps resetgate's own state: tokens, rate-limit counters, the mail queue and shared
// secrets. reset/bolt implements it in an embedded file, reset/redis for several replicas;
// reset/resettest holds the conformance suite both pass. All methods are safe for concurrent use.
type Store interface {
	// SaveToken stores t and deletes every other token of t.UserID: a newer link voids older ones.
	SaveToken(ctx context.Context, t Token) error
	// Token returns the token with the given id, expired or not, or ErrTokenNotFound.
	Token(ctx context.Context, id string) (Token, error)
	// ClaimToken atomically marks the token claimed until `until`, provided it exists, has not
	// expired at now and is not claimed by someone else at now. Of N concurrent calls, at most
	// one succeeds; the others get ErrTokenClaimed (or ErrTokenNotFound if it is gone or expired).
	ClaimToken(ctx context.Context, id string, now, until time.Time) (Token, error)
	// ReleaseToken clears a claim so the link can be used again (the write to the app failed).
	// Releasing a token that is gone is not an error.
	ReleaseToken(ctx context.Context, id string) error
	// DeleteUserTokens deletes every token of the account and returns how many there were.
	DeleteUserTokens(ctx context.Context, userID string) (int, error)
	// Tokens lists every stored token, oldest first.
	Tokens(ctx context.Context) ([]Token, error)
	// DeleteExpired deletes the tokens that expired at or before now and returns how many.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)

	// Allow counts one event against key and reports whether at most n events happened in the
	// current window of the given length; when not, retryAfter says when the window ends.
	Allow(ctx context.Context, key string, n int, window time.Duration, now time.Time) (ok bool, retryAfter time.Duration, err error)

	// Enqueue appends j durably (it survives a crash once Enqueue returns). It sets j.ID when
	// empty.
	Enqueue(ctx context.Context, j Job) error
	// NextJob leases the oldest job that is due at now (NotBefore ≤ now, not dead, no live lease)
	// until `until`, and returns it with Attempts unchanged; ErrNoJob if none.
	NextJob(ctx context.Context, now, until time.Time) (Job, error)
	// AckJob deletes a finished job.
	AckJob(ctx context.Context, id string) error
	// RetryJob replaces the stored job with j (new Attempts, NotBefore, LastError, Dead) and
	// clears its lease.
	RetryJob(ctx context.Context, j Job) error
	// Jobs lists every job, live and dead, oldest first.
	Jobs(ctx context.Context) ([]Job, error)
	// DropJob deletes a job whatever its state.
	DropJob(ctx context.Context, id string) error

	// Secret returns the named random secret of the given size, creating it on first use, so
	// that every process sharing the store signs and encrypts cookies alike.
	Secret(ctx context.Context, name string, size int) ([]byte, error)

	// Ping reports whether the store is usable.
	Ping(ctx context.Context) error
	// Close releases the store; it must be called once, after every other call has returned.
	Close() error
}
