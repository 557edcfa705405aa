// Package reset is the domain of resetgate: what a password reset is, independent of any
// database, mail server or web framework.
//
// It defines the flow ([Service]: RequestReset, CheckToken, CompleteReset, the "this wasn't me"
// link's CheckWasntMe and ConfirmWasntMe, and the mail worker), the values that travel through
// it ([User], [Token], [Job], [Message], [Hook]) and the interfaces that the adapters under
// reset/ implement ([Users] for the legacy app's accounts, [Store] for tokens, rate limits and
// the durable mail queue, [Mailer], [Hooks], [Hashers] and [PasswordChecker]).
// It imports only the standard library; only package main knows the concrete adapters.
package reset

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Adapters translate their driver errors into these at their boundary.
var (
	// ErrUserNotFound: no account matches (Users.FindUser, Users.UserByID).
	ErrUserNotFound = errors.New("user not found")
	// ErrAmbiguousUser: more than one account matches an address under the configured
	// normalisation, so none is chosen (Users.FindUser).
	ErrAmbiguousUser = errors.New("more than one account matches that address")
	// ErrPasswordChanged: the account's stored hash is no longer the one the token was issued
	// against, so the compare-and-swap in Users.SetPassword wrote nothing.
	ErrPasswordChanged = errors.New("password changed since the link was issued")
	// ErrTokenNotFound: the store has no token with that id (Store).
	ErrTokenNotFound = errors.New("token not found")
	// ErrTokenClaimed: another completion holds the token right now (Store.ClaimToken).
	ErrTokenClaimed = errors.New("token already claimed")
	// ErrNoJob: no job is due (Store.NextJob).
	ErrNoJob = errors.New("no job due")
	// ErrJobNotFound: no job with that id (Store.AckJob, RetryJob, DropJob).
	ErrJobNotFound = errors.New("job not found")
	// ErrLeaseLost: the caller no longer holds the job's lease or the token's claim (it
	// lapsed and another worker or completion took over), so nothing was changed
	// (Store.AckJob, RetryJob, ReleaseToken).
	ErrLeaseLost = errors.New("lease or claim held by another owner")

	// ErrTokenInvalid is what users of [Service] see for every unusable link: malformed,
	// unknown, expired, used, superseded or voided by a password change. One error, one page,
	// so an attacker learns nothing from the difference (SECURITY.md RQ-TOK-07).
	ErrTokenInvalid = errors.New("reset link is invalid, expired or already used")
	// ErrMalformedEmail: the submitted identifier is not one plain e-mail address.
	ErrMalformedEmail = errors.New("not an e-mail address")
	// ErrUnavailable: a dependency (the app's database, the state store) failed while
	// completing a reset; nothing was written and the user may try again.
	ErrUnavailable = errors.New("temporarily unavailable")
	// ErrNotResettable: the account's password is stored in a format resetgate cannot write
	// (and no explicit scheme is configured), so it cannot be reset here. The worker mails
	// such accounts no link; a user who still holds one sees that plainly.
	ErrNotResettable = errors.New("this account's password cannot be reset here")
	// ErrMailRejected marks a delivery failure that no retry can mend (the relay refused the
	// recipient or the message for good, or the message cannot be built): the job is given up
	// at once instead of minting a fresh link at every attempt. Mailers wrap it.
	ErrMailRejected = errors.New("mail rejected permanently")
)

// RateLimitError is returned when a per-client limit is hit. Per-account limits never
// surface as errors: they are silent so that responses reveal nothing about accounts.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limited; retry after %s", e.RetryAfter.Round(time.Second))
}

// PolicyError lists every reason a new password was refused, each a [Problem]: a key of the
// message catalogue (package i18n, messages/en.toml), which the page puts into the user's
// words. A key the catalogue lacks would show as the key itself.
type PolicyError struct {
	Problems []Problem
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("password refused: %d problem(s)", len(e.Problems))
}

// User is an account of the legacy app, as its own store holds it.
type User struct {
	ID           string // the primary key, as text
	Email        string // the address as stored; the only address mail ever goes to
	Name         string // may be empty
	PasswordHash string // the current hash, in the app's own format
	// Language is the account's own language, as the app stores it (config: [users]
	// language_column), such as "de" or "pt_BR"; empty: the language of the page the mail
	// was asked for on.
	Language string
}

// OnlyUser returns the one account of a lookup's matches: ErrUserNotFound when there is none
// and ErrAmbiguousUser when there are several, so that no lookup ever picks one of many.
func OnlyUser(found []User) (User, error) {
	switch len(found) {
	case 0:
		return User{}, ErrUserNotFound
	case 1:
		return found[0], nil
	}
	return User{}, ErrAmbiguousUser
}

// Users is the legacy app's own account store (reset/sqldb).
type Users interface {
	// FindUser returns the one account whose stored address matches email, which the caller
	// has already normalised with [NormalizeEmail]. It returns ErrUserNotFound or
	// ErrAmbiguousUser when there is not exactly one.
	FindUser(ctx context.Context, email string) (User, error)
	// UserByID returns the account with the given id, or ErrUserNotFound.
	UserByID(ctx context.Context, id string) (User, error)
	// SetPassword replaces the hash of the account u.ID with newHash if its hash and address
	// are still u.PasswordHash and u.Email (compare-and-swap), running the configured
	// after-reset statements in the same transaction. It returns ErrPasswordChanged, and
	// writes nothing, if either differs or the account is gone; a *PolicyError if the store
	// refuses the password under its own policy (a directory's password policy).
	SetPassword(ctx context.Context, u User, newHash string) error
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}

// UsernameFinder is implemented by a [Users] that can also find accounts by the username they
// sign in with (reset/sqldb with a username column), for [Options].Usernames.
type UsernameFinder interface {
	// FindUsername returns the one account whose username is name, which the caller has
	// normalised with [NormalizeUsername]; ErrUserNotFound or ErrAmbiguousUser otherwise.
	FindUsername(ctx context.Context, name string) (User, error)
}

// Hasher writes passwords in one scheme with fixed parameters.
type Hasher interface {
	// Hash returns the encoded hash of password, whose bytes are hashed exactly as given.
	Hash(password string) (string, error)
	// MaxPasswordBytes is the longest password, in bytes, that the scheme hashes without
	// truncating it (72 for bcrypt); 0 means no limit.
	MaxPasswordBytes() int
	// Scheme names the format, e.g. "werkzeug" or "bcrypt".
	Scheme() string
}

// Hashers chooses how a user's new password is written.
type Hashers interface {
	// For returns the hasher for a user whose current hash is current: the same scheme and
	// parameters in "auto" mode, else the configured one. An error means no safe choice exists
	// (e.g. the current hash is plain text or unsalted MD5 and no explicit scheme is set).
	For(userID, current string) (Hasher, error)
}

// PasswordChecker judges a candidate password beyond length and equality.
type PasswordChecker interface {
	// Check returns why password is refused for u (a common password, too guessable, too close
	// to the address or name), each reason a catalogue key; none if it is acceptable.
	Check(password string, u User) []Problem
}

// Message is one e-mail, always to exactly one recipient: an address read from the legacy
// store, never one typed into a form (SECURITY.md RQ-REQ-05).
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// Language is the message's language (a BCP 47 tag), for its Content-Language header.
	Language string
	// Link is the reset link the message carries, if any. Only the development outbox mailer
	// shows it (in its log); every other part of resetgate keeps it out of logs.
	Link string
}

// Mailer delivers messages (reset/smtp, reset/outbox).
type Mailer interface {
	// Send delivers m or returns an error; a returned error makes the queue retry later.
	Send(ctx context.Context, m Message) error
}
