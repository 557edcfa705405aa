package passhash

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"resetgate/reset"
)

// Auto is the [Policy] scheme that writes each user's new hash like their current one.
const Auto = "auto"

// Policy chooses the hasher for each user's new password; it implements [reset.Hashers].
// The zero value is "auto" with no fallback, logging to slog.Default(). A Policy is safe for
// concurrent use and must not be modified while in use.
type Policy struct {
	// Scheme is Auto ("auto", also the meaning of "") or a name [New] accepts, in which case
	// every user gets that scheme with [New]'s defaults whatever their current hash.
	Scheme string
	// Fallback is the scheme auto writes when a user's current hash is not recognised at
	// all: empty, Django's unusable-password marker, or an unknown format. It is never used
	// for weak formats, malformed or unsupported hashes of a known scheme, or hashes over
	// the cost limits: those are errors. Empty (the default) means no fallback, so such a
	// user's reset fails with an error instead of writing a format the app may not read
	// (an app that stores plain text, say) and locking the user out; set it to the scheme
	// the app verifies to let those users reset.
	Fallback string
	// UpgradeCost makes auto raise a current hash's cost (iterations, bcrypt cost, argon2
	// memory and passes, SHA-crypt rounds) to today's minimums when it is below them, keeping
	// the scheme and variant; the app verifies the result unchanged, since these formats carry
	// their cost. Off by default: auto then writes exactly the parameters it found.
	UpgradeCost bool
	// Logger receives auto's warning when it falls back, naming the user id, never the
	// hash. Nil means slog.Default().
	Logger *slog.Logger
}

var _ reset.Hashers = (*Policy)(nil)

// NewPolicy returns a Policy after checking the names: scheme must be "auto", "" or a name
// [New] accepts; fallback must be "" or a name New accepts.
func NewPolicy(scheme, fallback string, log *slog.Logger) (*Policy, error) {
	if scheme != "" && scheme != Auto {
		if _, err := New(scheme); err != nil {
			return nil, fmt.Errorf("hash: %w", err)
		}
	}
	if fallback != "" {
		if _, err := New(fallback); err != nil {
			return nil, fmt.Errorf("fallback hash: %w", err)
		}
	}
	return &Policy{Scheme: scheme, Fallback: fallback, Logger: log}, nil
}

// For returns the hasher for the user whose current hash is current. With an explicit
// Scheme that is New(Scheme). In auto mode it is [Identify](current); if current is not
// recognised, the Fallback scheme (with a warning) or an error wrapping ErrUnknownFormat; if
// it is weak, an error wrapping ErrWeakFormat that asks for an explicit scheme; if it is over
// the cost limits, an error wrapping ErrTooExpensive. Errors name the user id and the
// detected scheme, never the hash.
func (p *Policy) For(userID, current string) (reset.Hasher, error) {
	if p.Scheme != "" && p.Scheme != Auto {
		return New(p.Scheme)
	}
	h, err := Identify(current)
	switch {
	case err == nil:
		if p.UpgradeCost {
			return harden(h), nil
		}
		return h, nil
	case errors.Is(err, ErrWeakFormat):
		return nil, fmt.Errorf("user %s: current password hash: %w; auto never writes a weak format: set hash to the scheme the app verifies (%s)", userID, err, strings.Join(names, ", "))
	case !errors.Is(err, ErrUnknownFormat) || knownScheme(err):
		return nil, fmt.Errorf("user %s: current password hash: %w", userID, err)
	case p.Fallback == "":
		return nil, fmt.Errorf("user %s: current password hash: %w; no fallback hash is configured", userID, err)
	}
	fb, ferr := New(p.Fallback)
	if ferr != nil {
		return nil, fmt.Errorf("user %s: fallback hash: %w", userID, ferr)
	}
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	log.Warn("passhash: current password hash not recognised; writing the fallback scheme",
		"user", userID, "fallback", p.Fallback, "reason", err.Error())
	return fb, nil
}

// knownScheme reports whether err is about a hash of a known scheme that resetgate cannot
// use (malformed, perhaps truncated by a short column, or an unsupported variant), as
// opposed to something it does not know at all. Only the latter may be replaced by the
// fallback scheme; Django's unusable-password marker counts as not a hash.
func knownScheme(err error) bool {
	var fe *formatError
	return errors.As(err, &fe) && fe.scheme != "django-unusable"
}
