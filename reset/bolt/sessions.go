package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"resetgate/reset"
)

// Session bindings (issue 11). The buckets, added to format 2 without a migration (Open
// creates missing buckets, and an older resetgate ignores them):
//
//	sessions       uvarint(len(key)) ‖ session key ‖ user id → 8-byte expiry (Unix ns)
//	user-sessions  uvarint(len(user id)) ‖ user id ‖ session key → empty; the per-user index
//	revoked        session key → 8-byte sequence ‖ 8-byte until (Unix ns)
//	revoked-seq    8-byte sequence → session key, for RevokedSince; the bucket's own
//	               NextSequence numbers the entries

// pairKey is the sessions bucket's key of key and user, or with user "" the prefix of the
// key's bindings.
func pairKey(key, user string) []byte {
	k := binary.AppendUvarint(nil, uint64(len(key)))
	k = append(k, key...)
	return append(k, user...)
}

// splitPair reads a sessions bucket key back.
func splitPair(k []byte) (key, user []byte, err error) {
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) < n {
		return nil, nil, fmt.Errorf("%w: session binding %x: bad key", ErrCorrupt, k)
	}
	return k[w : w+int(n)], k[w+int(n):], nil
}

func decodeExpiry(k, v []byte) (int64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: session binding %x: %d bytes, want 8", ErrCorrupt, k, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

func decodeRevoked(k, v []byte) (seq uint64, until int64, err error) {
	if len(v) != 16 {
		return 0, 0, fmt.Errorf("%w: revoked session %x: %d bytes, want 16", ErrCorrupt, k, len(v))
	}
	return binary.BigEndian.Uint64(v), int64(binary.BigEndian.Uint64(v[8:])), nil
}

// BindSession binds key to userID until expires, unless key is revoked. Concurrent calls
// share commits.
func (s *Store) BindSession(ctx context.Context, key, userID string, expires time.Time) error {
	return s.write(ctx, "bind session", func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketRevoked).Get([]byte(key)) != nil {
			return nil
		}
		exp := binary.BigEndian.AppendUint64(nil, uint64(unixNano(expires)))
		if err := tx.Bucket(bucketSessions).Put(pairKey(key, userID), exp); err != nil {
			return err
		}
		return tx.Bucket(bucketUserSessions).Put(userKey(userID, []byte(key)), nil)
	})
}

// SessionUsers returns the accounts key is bound to at now, or ErrSessionNotFound.
func (s *Store) SessionUsers(ctx context.Context, key string, now time.Time) ([]string, error) {
	var users []string
	err := s.view(ctx, "session users", func(tx *bbolt.Tx) error {
		users = nil
		prefix := pairKey(key, "")
		c := tx.Bucket(bucketSessions).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			exp, err := decodeExpiry(k, v)
			if err != nil {
				return err
			}
			if unixNano(now) < exp {
				users = append(users, string(k[len(prefix):]))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(users) == 0 {
		return nil, reset.ErrSessionNotFound
	}
	return users, nil
}

// RevokeSessions revokes every key with a live binding to userID, in one transaction.
func (s *Store) RevokeSessions(ctx context.Context, userID string, now, until time.Time) (int, error) {
	var n int
	err := s.update(ctx, "revoke sessions", func(tx *bbolt.Tx) error {
		n = 0
		idx, sess := tx.Bucket(bucketUserSessions), tx.Bucket(bucketSessions)
		rev, bySeq := tx.Bucket(bucketRevoked), tx.Bucket(bucketRevokedSeq)
		prefix := userKey(userID, nil)
		var keys [][]byte
		c := idx.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k[len(prefix):]))
		}
		at := unixNano(now)
		for _, key := range keys {
			if err := idx.Delete(userKey(userID, key)); err != nil {
				return err
			}
			v := sess.Get(pairKey(string(key), userID))
			if v == nil {
				continue
			}
			exp, err := decodeExpiry(key, v)
			if err != nil {
				return err
			}
			if at >= exp {
				continue // it ended by itself; the sweep deletes it
			}
			// Every binding of the key goes, the other accounts' too.
			prefix := pairKey(string(key), "")
			var pairs [][]byte
			pc := sess.Cursor()
			for k, _ := pc.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = pc.Next() {
				pairs = append(pairs, bytes.Clone(k))
			}
			for _, p := range pairs {
				if err := sess.Delete(p); err != nil {
					return err
				}
				if err := idx.Delete(userKey(string(p[len(prefix):]), key)); err != nil {
					return err
				}
			}
			seq, err := bySeq.NextSequence()
			if err != nil {
				return err
			}
			sk := binary.BigEndian.AppendUint64(nil, seq)
			if err := rev.Put(key, binary.BigEndian.AppendUint64(bytes.Clone(sk), uint64(unixNano(until)))); err != nil {
				return err
			}
			if err := bySeq.Put(sk, key); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// RevokedSince returns the revoked entries numbered after the cursor, oldest first.
func (s *Store) RevokedSince(ctx context.Context, after uint64) ([]reset.RevokedSession, uint64, error) {
	var out []reset.RevokedSession
	next := after
	err := s.view(ctx, "revoked sessions", func(tx *bbolt.Tx) error {
		out, next = nil, after
		rev := tx.Bucket(bucketRevoked)
		c := tx.Bucket(bucketRevokedSeq).Cursor()
		for k, key := c.Seek(binary.BigEndian.AppendUint64(nil, after+1)); k != nil; k, key = c.Next() {
			v := rev.Get(key)
			if v == nil {
				continue
			}
			_, until, err := decodeRevoked(key, v)
			if err != nil {
				return err
			}
			out = append(out, reset.RevokedSession{Key: string(key), Until: time.Unix(0, until)})
			next = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, next, nil
}

// SweepSessions deletes expired bindings and revoked entries past their time. It reads every
// binding: bindings are few (one per signed-in browser) and the sweep runs every few minutes.
func (s *Store) SweepSessions(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.update(ctx, "sweep sessions", func(tx *bbolt.Tx) error {
		n = 0
		at := unixNano(now)
		sess, idx := tx.Bucket(bucketSessions), tx.Bucket(bucketUserSessions)
		type gone struct{ key, user []byte }
		var dead []gone
		err := sess.ForEach(func(k, v []byte) error {
			exp, err := decodeExpiry(k, v)
			if err != nil {
				return err
			}
			if at >= exp {
				key, user, err := splitPair(k)
				if err != nil {
					return err
				}
				dead = append(dead, gone{bytes.Clone(key), bytes.Clone(user)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, g := range dead {
			if err := sess.Delete(pairKey(string(g.key), string(g.user))); err != nil {
				return err
			}
			if err := idx.Delete(userKey(string(g.user), g.key)); err != nil {
				return err
			}
			n++
		}
		rev, bySeq := tx.Bucket(bucketRevoked), tx.Bucket(bucketRevokedSeq)
		var old []gone
		err = rev.ForEach(func(k, v []byte) error {
			seq, until, err := decodeRevoked(k, v)
			if err != nil {
				return err
			}
			if at >= until {
				old = append(old, gone{bytes.Clone(k), binary.BigEndian.AppendUint64(nil, seq)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, g := range old {
			if err := rev.Delete(g.key); err != nil {
				return err
			}
			if err := bySeq.Delete(g.user); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
