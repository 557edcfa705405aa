// Package tracking ends the legacy app's sessions at a password reset, without touching the
// app (issue 11). It is middleware that package main wraps around the proxy: it watches the
// app's sign-in (a POST on the login path whose response sets one of the app's session
// cookies), binds a keyed hash of the new cookie's value to the account the form named, lets
// a replaced cookie (a rotation) inherit its predecessor's accounts, and refuses a cookie
// that a completed reset revoked: the request reaches the app without it, and the response
// tells the browser to drop it. Bindings live in the state store ([reset.SessionStore]), so
// replicas share them; the revoked values are kept in memory, in step with the store.
//
// The request path never waits for the store: the check costs one HMAC and one map lookup,
// and nothing at all for a request without a tracked cookie; bindings are written by one
// background worker ([Tracker.Run]).
package tracking

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"resetgate/reset"
)

// Defaults for the zero values of [Options].
const (
	DefaultLoginField   = "email"
	DefaultMaxAge       = reset.DefaultSessionMaxAge
	DefaultPollInterval = 500 * time.Millisecond
	DefaultMaxForm      = 64 << 10
	DefaultQueue        = 4096
)

// Event names something the tracker did, for metrics. None depends on whether an account
// exists: a sign-in naming an unknown address is bound like any other (to a pseudonym).
type Event string

// Events passed to Options.Observe.
const (
	EventBound      Event = "session_bound"       // a binding was written to the store
	EventRefused    Event = "session_refused"     // a request carried a revoked cookie; it was dropped
	EventFailed     Event = "session_bind_failed" // a lookup or a store write failed; the binding is lost
	EventDropped    Event = "session_bind_dropped"
	EventPollFailed Event = "session_poll_failed" // the revoked feed could not be read
)

// Options configure [New]. Cookies, Secret, Users and Store are required.
type Options struct {
	LoginPath  string   // the app's sign-in path, e.g. "/login"; "" binds nothing (rotations still inherit)
	LoginField string   // the form field naming the account; default "email"
	Cookies    []string // the app's session cookie names
	// CaseSensitive keeps the case of the submitted address, as [reset.Options] does.
	CaseSensitive bool
	MaxAge        time.Duration // a binding's life without renewal; default 720h
	Secret        []byte        // the HMAC key for cookie values, shared by every replica (at least 16 bytes)
	Users         reset.Users
	// FindAccount, when set, looks up what the sign-in form named instead of Users.FindUser
	// (main passes reset.Service.FindAccount, which also takes usernames); it normalises
	// the value itself.
	FindAccount  func(ctx context.Context, identifier string) (reset.User, error)
	Store        reset.SessionStore
	PollInterval time.Duration // how often the revoked feed is read; default 500ms
	MaxForm      int           // bytes of a sign-in body read for the field; default 64 KiB
	Queue        int           // bindings waiting for the worker at most; default 4096
	Now          func() time.Time
	Logger       *slog.Logger
	Observe      func(Event) // nil: none
}

// Tracker is the middleware and its background work. Its methods are safe for concurrent use.
type Tracker struct {
	o       Options
	tracked map[string]bool
	hashes  sync.Pool
	log     *slog.Logger
	now     func() time.Time

	mu      sync.RWMutex
	revoked map[string]time.Time // key → refused until
	cursor  uint64

	attrs sync.Map // cookie name → cookieAttrs, as last seen set by the app

	jobs  chan job
	ready atomic.Bool // the revoked set was loaded once
	// seen holds the live tracked keys requests carried since the last renewal; the worker
	// swaps it for a fresh map and renews their bindings (see renew).
	seen atomic.Pointer[sync.Map]
}

// cookieAttrs are what a deletion must repeat for the browser to match the cookie.
type cookieAttrs struct {
	path, domain string
	secure       bool
}

// New checks o and returns a Tracker; call [Tracker.Run] to start its background work.
func New(o Options) (*Tracker, error) {
	var missing []string
	if len(o.Cookies) == 0 {
		missing = append(missing, "Cookies")
	}
	if len(o.Secret) < 16 {
		missing = append(missing, "Secret (16 bytes or more)")
	}
	if o.Users == nil {
		missing = append(missing, "Users")
	}
	if o.Store == nil {
		missing = append(missing, "Store")
	}
	if len(missing) > 0 {
		return nil, errors.New("tracking: missing " + strings.Join(missing, ", "))
	}
	if o.LoginField == "" {
		o.LoginField = DefaultLoginField
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.MaxForm <= 0 {
		o.MaxForm = DefaultMaxForm
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	t := &Tracker{o: o, tracked: make(map[string]bool), log: o.Logger, now: o.Now,
		revoked: make(map[string]time.Time), jobs: make(chan job, o.Queue)}
	for _, c := range o.Cookies {
		t.tracked[c] = true
	}
	t.seen.Store(new(sync.Map))
	secret := append([]byte(nil), o.Secret...)
	t.hashes.New = func() any { return hmac.New(sha256.New, secret) }
	return t, nil
}

func (t *Tracker) observe(e Event) {
	if t.o.Observe != nil {
		t.o.Observe(e)
	}
}

// key is the keyed hash of a cookie, the only form in which the tracker stores one: the
// store never holds a value that would open the session.
func (t *Tracker) key(name, value string) string {
	h := t.hashes.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(name))
	h.Write([]byte{'='})
	h.Write([]byte(value))
	var sum [sha256.Size]byte
	k := hex.EncodeToString(h.Sum(sum[:0]))
	t.hashes.Put(h)
	return k
}

// isRevoked reports whether key is refused at now.
func (t *Tracker) isRevoked(key string, now time.Time) bool {
	t.mu.RLock()
	until, ok := t.revoked[key]
	t.mu.RUnlock()
	return ok && now.Before(until)
}

// Revoked reports whether the cookie name=value is refused now, for tests and `check`.
func (t *Tracker) Revoked(name, value string) bool {
	return t.isRevoked(t.key(name, value), t.now())
}

// Watching describes what the tracker watches, for `check`.
func (t *Tracker) Watching() string {
	return "POST " + t.o.LoginPath + " (field " + t.o.LoginField + "), cookies " + strings.Join(t.o.Cookies, ", ")
}
