package resettest

import (
	"cmp"
	"context"
	"slices"
	"time"

	"resetgate/reset"
)

type revokedEntry struct {
	seq   uint64
	until time.Time
}

// BindSession binds key to userID until expires, unless key is revoked.
func (s *MemStore) BindSession(ctx context.Context, key, userID string, expires time.Time) error {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return err
	}
	if _, ok := s.revoked[key]; ok {
		return nil
	}
	if s.bound[key] == nil {
		s.bound[key] = make(map[string]time.Time)
	}
	s.bound[key][userID] = expires
	return nil
}

// SessionUsers returns the accounts key is bound to at now, or ErrSessionNotFound.
func (s *MemStore) SessionUsers(ctx context.Context, key string, now time.Time) ([]string, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	var users []string
	for u, exp := range s.bound[key] {
		if now.Before(exp) {
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		return nil, reset.ErrSessionNotFound
	}
	return users, nil
}

// RevokeSessions revokes every key with a live binding to userID.
func (s *MemStore) RevokeSessions(ctx context.Context, userID string, now, until time.Time) (int, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	var keys []string
	for k, users := range s.bound {
		if exp, ok := users[userID]; ok && now.Before(exp) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		delete(s.bound, k)
		s.seq++
		s.revoked[k] = revokedEntry{seq: s.seq, until: until}
	}
	return len(keys), nil
}

// RevokedSince returns the revoked entries added after the cursor, oldest first.
func (s *MemStore) RevokedSince(ctx context.Context, after uint64) ([]reset.RevokedSession, uint64, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return nil, 0, err
	}
	type entry struct {
		key string
		e   revokedEntry
	}
	var es []entry
	for k, e := range s.revoked {
		if e.seq > after {
			es = append(es, entry{k, e})
		}
	}
	slices.SortFunc(es, func(a, b entry) int { return cmp.Compare(a.e.seq, b.e.seq) })
	out := make([]reset.RevokedSession, len(es))
	next := after
	for i, e := range es {
		out[i] = reset.RevokedSession{Key: e.key, Until: e.e.until}
		next = e.e.seq
	}
	return out, next, nil
}

// SweepSessions deletes expired bindings and revoked entries past their time.
func (s *MemStore) SweepSessions(ctx context.Context, now time.Time) (int, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	n := 0
	for k, users := range s.bound {
		for u, exp := range users {
			if !now.Before(exp) {
				delete(users, u)
				n++
			}
		}
		if len(users) == 0 {
			delete(s.bound, k)
		}
	}
	for k, e := range s.revoked {
		if !now.Before(e.until) {
			delete(s.revoked, k)
			n++
		}
	}
	return n, nil
}
