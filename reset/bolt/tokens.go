package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"

	"resetgate/reset"
)

type tokenRecord struct {
	UserID       string    `json:"user"`
	Email        string    `json:"email"`
	Fingerprint  string    `json:"fp"`
	IssuedAt     time.Time `json:"issued"`
	ExpiresAt    time.Time `json:"expires"`
	ClaimedUntil time.Time `json:"claimed,omitzero"`
	ClaimedBy    string    `json:"owner,omitempty"`
	CodeID       string    `json:"code,omitempty"`
}

func encodeToken(t reset.Token) ([]byte, error) {
	return json.Marshal(tokenRecord{
		UserID: t.UserID, Email: t.Email, Fingerprint: t.Fingerprint,
		IssuedAt: t.IssuedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(), ClaimedUntil: t.ClaimedUntil.UTC(), ClaimedBy: t.ClaimedBy,
		CodeID: t.CodeID,
	})
}

func decodeToken(id, v []byte) (reset.Token, error) {
	var r tokenRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return reset.Token{}, fmt.Errorf("%w: token %s: %v", ErrCorrupt, id, err)
	}
	return reset.Token{
		ID: string(id), UserID: r.UserID, Email: r.Email, Fingerprint: r.Fingerprint,
		IssuedAt: r.IssuedAt, ExpiresAt: r.ExpiresAt, ClaimedUntil: r.ClaimedUntil, ClaimedBy: r.ClaimedBy,
		CodeID: r.CodeID,
	}, nil
}

// userKey returns the index key of the user's token id, or with id nil the prefix of all
// the user's keys. The length prefix keeps user "ab" from matching user "abc".
func userKey(userID string, id []byte) []byte {
	k := binary.AppendUvarint(nil, uint64(len(userID)))
	k = append(k, userID...)
	return append(k, id...)
}

// getToken reads the token id; found is false when there is none.
func getToken(tx *bbolt.Tx, id []byte) (t reset.Token, found bool, err error) {
	v := tx.Bucket(bucketTokens).Get(id)
	if v == nil {
		return reset.Token{}, false, nil
	}
	t, err = decodeToken(id, v)
	return t, err == nil, err
}

// putToken writes t and keeps the code index in step with its CodeID.
func putToken(tx *bbolt.Tx, t reset.Token) error {
	v, err := encodeToken(t)
	if err != nil {
		return err
	}
	if err := dropCode(tx, []byte(t.ID), t.CodeID); err != nil {
		return err
	}
	if t.CodeID != "" {
		if err := tx.Bucket(bucketCodeTokens).Put([]byte(t.CodeID), []byte(t.ID)); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketTokens).Put([]byte(t.ID), v)
}

// deleteToken deletes the token and its index entries.
func deleteToken(tx *bbolt.Tx, t reset.Token) error {
	if err := dropCode(tx, []byte(t.ID), ""); err != nil {
		return err
	}
	if err := tx.Bucket(bucketTokens).Delete([]byte(t.ID)); err != nil {
		return err
	}
	return tx.Bucket(bucketUserTokens).Delete(userKey(t.UserID, []byte(t.ID)))
}

// userTokenIDs returns the ids in the user's index.
func userTokenIDs(tx *bbolt.Tx, userID string) [][]byte {
	prefix := userKey(userID, nil)
	var ids [][]byte
	c := tx.Bucket(bucketUserTokens).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, bytes.Clone(k[len(prefix):]))
	}
	return ids
}

// deleteUserTokens deletes the user's tokens except keep and returns how many there were.
func deleteUserTokens(tx *bbolt.Tx, userID string, keep []byte) (int, error) {
	n := 0
	for _, id := range userTokenIDs(tx, userID) {
		if bytes.Equal(id, keep) {
			continue
		}
		if tx.Bucket(bucketTokens).Get(id) != nil {
			n++
		}
		if err := dropCode(tx, id, ""); err != nil {
			return 0, err
		}
		if err := tx.Bucket(bucketTokens).Delete(id); err != nil {
			return 0, err
		}
		if err := tx.Bucket(bucketUserTokens).Delete(userKey(userID, id)); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// SaveToken stores t and deletes every other token of t.UserID, in one transaction.
func (s *Store) SaveToken(ctx context.Context, t reset.Token) error {
	return s.write(ctx, "save token", func(tx *bbolt.Tx) error {
		id := []byte(t.ID)
		// A token id is a SHA-256, so this is a re-save; keep the index right if the owner moved.
		if old, found, err := getToken(tx, id); err != nil {
			return err
		} else if found && old.UserID != t.UserID {
			if err := deleteToken(tx, old); err != nil {
				return err
			}
		}
		if _, err := deleteUserTokens(tx, t.UserID, id); err != nil {
			return err
		}
		if err := putToken(tx, t); err != nil {
			return err
		}
		return tx.Bucket(bucketUserTokens).Put(userKey(t.UserID, id), nil)
	})
}

// Token returns the token with the given id, expired or not, or ErrTokenNotFound.
func (s *Store) Token(ctx context.Context, id string) (reset.Token, error) {
	var t reset.Token
	err := s.view(ctx, "read token", func(tx *bbolt.Tx) error {
		var found bool
		var err error
		t, found, err = getToken(tx, []byte(id))
		if err == nil && !found {
			err = reset.ErrTokenNotFound
		}
		return err
	})
	return t, err
}

// ClaimToken marks the token claimed until `until` by a fresh owner if, at now, it exists,
// has not expired and is not claimed; check and set happen in one write transaction, so of
// concurrent claims exactly one wins (SECURITY.md RQ-TOK-03).
func (s *Store) ClaimToken(ctx context.Context, id string, now, until time.Time) (reset.Token, error) {
	var t reset.Token
	err := s.update(ctx, "claim token", func(tx *bbolt.Tx) error {
		var found bool
		var err error
		t, found, err = getToken(tx, []byte(id))
		switch {
		case err != nil:
			return err
		case !found || t.Expired(now):
			return reset.ErrTokenNotFound
		case now.Before(t.ClaimedUntil):
			return reset.ErrTokenClaimed
		}
		t.ClaimedUntil, t.ClaimedBy = until, nonce()
		return putToken(tx, t)
	})
	if err != nil {
		return reset.Token{}, err
	}
	return t, nil
}

// ReleaseToken clears the claim that owner holds. A token that is gone or unclaimed is not
// an error; another owner's claim is ErrLeaseLost, and stays.
func (s *Store) ReleaseToken(ctx context.Context, id, owner string) error {
	return s.write(ctx, "release token", func(tx *bbolt.Tx) error {
		t, found, err := getToken(tx, []byte(id))
		switch {
		case err != nil || !found || t.ClaimedBy == "":
			return err
		case t.ClaimedBy != owner:
			return reset.ErrLeaseLost
		}
		t.ClaimedUntil, t.ClaimedBy = time.Time{}, ""
		return putToken(tx, t)
	})
}

// CountTokens returns how many tokens are stored. It reads the keys without decoding them;
// tokens are few (one per account at most, and they expire).
func (s *Store) CountTokens(ctx context.Context) (int, error) {
	var n int
	err := s.view(ctx, "count tokens", func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketTokens).Stats().KeyN
		return nil
	})
	return n, err
}

// DeleteUserTokens deletes every token of the account and returns how many there were.
func (s *Store) DeleteUserTokens(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.write(ctx, "delete user tokens", func(tx *bbolt.Tx) error {
		var err error
		n, err = deleteUserTokens(tx, userID, nil)
		return err
	})
	return n, err
}

// Tokens lists every stored token, oldest (by IssuedAt) first.
func (s *Store) Tokens(ctx context.Context) ([]reset.Token, error) {
	var ts []reset.Token
	err := s.view(ctx, "list tokens", func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketTokens).ForEach(func(k, v []byte) error {
			t, err := decodeToken(k, v)
			ts = append(ts, t)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ts, func(a, b reset.Token) int {
		if c := a.IssuedAt.Compare(b.IssuedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ts, nil
}

// DeleteExpired deletes the tokens that expired at or before now, and returns how many, and
// the rate-limit windows that ended by now, so that neither grows without bound.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.update(ctx, "delete expired", func(tx *bbolt.Tx) error {
		// Collect first: deleting under a bbolt cursor can skip the next key.
		var expired []reset.Token
		err := tx.Bucket(bucketTokens).ForEach(func(k, v []byte) error {
			t, err := decodeToken(k, v)
			if err == nil && t.Expired(now) {
				expired = append(expired, t)
			}
			return err
		})
		if err != nil {
			return err
		}
		for _, t := range expired {
			if err := deleteToken(tx, t); err != nil {
				return err
			}
		}
		n = len(expired)

		var ended [][]byte
		err = tx.Bucket(bucketLimits).ForEach(func(k, v []byte) error {
			w, err := decodeWindow(k, v)
			if err == nil && unixNano(now) >= w.end {
				ended = append(ended, bytes.Clone(k))
			}
			return err
		})
		if err != nil {
			return err
		}
		for _, k := range ended {
			if err := tx.Bucket(bucketLimits).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
