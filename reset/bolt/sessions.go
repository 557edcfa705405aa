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
//	sessions       session key → 8-byte expiry (Unix ns) ‖ user id
//	user-sessions  uvarint(len(user id)) ‖ user id ‖ session key → empty; the per-user index
//	revoked        session key → 8-byte sequence ‖ 8-byte until (Unix ns)
//	revoked-seq    8-byte sequence → session key, for RevokedSince; the bucket's own
//	               NextSequence numbers the entries

func decodeBinding(k, v []byte) (expires int64, user string, err error) {
	if len(v) < 8 {
		return 0, "", fmt.Errorf("%w: session %x: %d bytes, want at least 8", ErrCorrupt, k, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), string(v[8:]), nil
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
		k := []byte(key)
		if tx.Bucket(bucketRevoked).Get(k) != nil {
			return nil
		}
		b := tx.Bucket(bucketSessions)
		if v := b.Get(k); v != nil {
			_, old, err := decodeBinding(k, v)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketUserSessions).Delete(userKey(old, k)); err != nil {
				return err
			}
		}
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(userID)), uint64(unixNano(expires)))
		if err := b.Put(k, append(v, userID...)); err != nil {
			return err
		}
		return tx.Bucket(bucketUserSessions).Put(userKey(userID, k), nil)
	})
}

// SessionUser returns the account key is bound to at now, or ErrSessionNotFound.
func (s *Store) SessionUser(ctx context.Context, key string, now time.Time) (string, error) {
	var user string
	err := s.view(ctx, "session user", func(tx *bbolt.Tx) error {
		k := []byte(key)
		v := tx.Bucket(bucketSessions).Get(k)
		if v == nil {
			return reset.ErrSessionNotFound
		}
		exp, u, err := decodeBinding(k, v)
		if err != nil {
			return err
		}
		if unixNano(now) >= exp {
			return reset.ErrSessionNotFound
		}
		user = u
		return nil
	})
	if err != nil {
		return "", err
	}
	return user, nil
}

// RevokeSessions turns every live binding of userID into a revoked entry, in one transaction.
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
			keys = append(keys, bytes.Clone(k))
		}
		at := unixNano(now)
		for _, ik := range keys {
			key := ik[len(prefix):]
			if err := idx.Delete(ik); err != nil {
				return err
			}
			v := sess.Get(key)
			if v == nil {
				continue
			}
			exp, _, err := decodeBinding(key, v)
			if err != nil {
				return err
			}
			if err := sess.Delete(key); err != nil {
				return err
			}
			if at >= exp {
				continue // it ended by itself
			}
			seq, err := bySeq.NextSequence()
			if err != nil {
				return err
			}
			sk := binary.BigEndian.AppendUint64(nil, seq)
			if err := rev.Put(key, binary.BigEndian.AppendUint64(bytes.Clone(sk), uint64(unixNano(until)))); err != nil {
				return err
			}
			if err := bySeq.Put(sk, bytes.Clone(key)); err != nil {
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
			exp, user, err := decodeBinding(k, v)
			if err != nil {
				return err
			}
			if at >= exp {
				dead = append(dead, gone{bytes.Clone(k), []byte(user)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, g := range dead {
			if err := sess.Delete(g.key); err != nil {
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
