package resettest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"resetgate/reset"
)

// MemStore is an in-memory [reset.Store] for tests of the domain and the web layer. It keeps
// every promise of the interface ([TestStore] checks it) except durability: its data lives
// and dies with the value. One mutex serialises every call, which makes each method trivially
// atomic. The zero value is not usable; call [NewMemStore].
type MemStore struct {
	mu      sync.Mutex
	closed  bool
	tokens  map[string]reset.Token
	limits  map[string]window
	jobs    map[string]reset.Job
	secrets map[string][]byte
	audit   []reset.AuditEvent // in insertion order
	// Session bindings (memsessions.go).
	bound   map[string]map[string]time.Time // key → user → expiry
	revoked map[string]revokedEntry
	seq     uint64
}

type window struct {
	end   time.Time
	count int
}

var _ reset.Store = (*MemStore)(nil)

// errClosed is returned by every method of a closed MemStore, like a closed database would.
var errClosed = errors.New("resettest: store is closed")

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{
		tokens:  make(map[string]reset.Token),
		limits:  make(map[string]window),
		jobs:    make(map[string]reset.Job),
		secrets: make(map[string][]byte),
		bound:   make(map[string]map[string]time.Time),
		revoked: make(map[string]revokedEntry),
	}
}

// lock takes the mutex and reports whether the store is usable; the caller unlocks.
func (s *MemStore) lock(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		return errClosed
	}
	return ctx.Err()
}

// SaveToken stores t and deletes the user's other tokens.
func (s *MemStore) SaveToken(ctx context.Context, t reset.Token) error {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return err
	}
	for id, old := range s.tokens {
		if old.UserID == t.UserID {
			delete(s.tokens, id)
		}
	}
	s.tokens[t.ID] = t
	return nil
}

// Token returns the token with the given id, expired or not, or ErrTokenNotFound.
func (s *MemStore) Token(ctx context.Context, id string) (reset.Token, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return reset.Token{}, err
	}
	t, ok := s.tokens[id]
	if !ok {
		return reset.Token{}, reset.ErrTokenNotFound
	}
	return t, nil
}

// ClaimToken marks the token claimed until `until` if it is live and unclaimed at now.
func (s *MemStore) ClaimToken(ctx context.Context, id string, now, until time.Time) (reset.Token, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return reset.Token{}, err
	}
	t, ok := s.tokens[id]
	if !ok || t.Expired(now) {
		return reset.Token{}, reset.ErrTokenNotFound
	}
	if now.Before(t.ClaimedUntil) {
		return reset.Token{}, reset.ErrTokenClaimed
	}
	t.ClaimedUntil, t.ClaimedBy = until, nonce()
	s.tokens[id] = t
	return t, nil
}

// ReleaseToken clears owner's claim; a missing or unclaimed token is not an error, another
// owner's claim is ErrLeaseLost.
func (s *MemStore) ReleaseToken(ctx context.Context, id, owner string) error {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return err
	}
	t, ok := s.tokens[id]
	switch {
	case !ok || t.ClaimedBy == "":
		return nil
	case t.ClaimedBy != owner:
		return reset.ErrLeaseLost
	}
	t.ClaimedUntil, t.ClaimedBy = time.Time{}, ""
	s.tokens[id] = t
	return nil
}

// CountTokens returns how many tokens are stored.
func (s *MemStore) CountTokens(ctx context.Context) (int, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	return len(s.tokens), nil
}

func nonce() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// DeleteUserTokens deletes the account's tokens and returns how many there were.
func (s *MemStore) DeleteUserTokens(ctx context.Context, userID string) (int, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	n := 0
	for id, t := range s.tokens {
		if t.UserID == userID {
			delete(s.tokens, id)
			n++
		}
	}
	return n, nil
}

// Tokens lists every token, oldest first.
func (s *MemStore) Tokens(ctx context.Context) ([]reset.Token, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	ts := make([]reset.Token, 0, len(s.tokens))
	for _, t := range s.tokens {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b reset.Token) int {
		if c := a.IssuedAt.Compare(b.IssuedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ts, nil
}

// DeleteExpired deletes the tokens expired at now, and the rate-limit windows that ended.
func (s *MemStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	n := 0
	for id, t := range s.tokens {
		if t.Expired(now) {
			delete(s.tokens, id)
			n++
		}
	}
	for k, w := range s.limits {
		if !now.Before(w.end) {
			delete(s.limits, k)
		}
	}
	return n, nil
}

// Allow counts an event against key in a fixed window that starts with the key's first event.
func (s *MemStore) Allow(ctx context.Context, key string, n int, win time.Duration, now time.Time) (bool, time.Duration, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return false, 0, err
	}
	if win <= 0 {
		return false, 0, fmt.Errorf("resettest: allow %q: window %v is not positive", key, win)
	}
	w := s.limits[key]
	if !now.Before(w.end) {
		w = window{end: now.Add(win)}
	}
	if w.count >= n {
		s.limits[key] = w
		return false, w.end.Sub(now), nil
	}
	w.count++
	s.limits[key] = w
	return true, 0, nil
}

// Peek reports whether Allow would admit one more event for key at now.
func (s *MemStore) Peek(ctx context.Context, key string, n int, now time.Time) (bool, time.Duration, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return false, 0, err
	}
	w, ok := s.limits[key]
	if !ok || !now.Before(w.end) || w.count < n {
		return true, 0, nil
	}
	return false, w.end.Sub(now), nil
}

// Secret returns the named secret, creating it on first use. Asking for an existing secret
// with another size is an error.
func (s *MemStore) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("resettest: secret %q: size %d is not positive", name, size)
	}
	if b, ok := s.secrets[name]; ok {
		if len(b) != size {
			return nil, fmt.Errorf("resettest: secret %q has %d bytes, not %d", name, len(b), size)
		}
		return slices.Clone(b), nil
	}
	b := make([]byte, size)
	rand.Read(b)
	s.secrets[name] = b
	return slices.Clone(b), nil
}

// Ping fails once the store is closed.
func (s *MemStore) Ping(ctx context.Context) error {
	defer s.mu.Unlock()
	return s.lock(ctx)
}

// Close makes every later call fail.
func (s *MemStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
