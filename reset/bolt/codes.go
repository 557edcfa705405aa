package bolt

import (
	"context"

	bbolt "go.etcd.io/bbolt"

	"resetgate/reset"
)

// dropCode deletes the code index entry of the stored token id, unless its CodeID is keep:
// a token's code dies with it, and with a re-save that no longer carries it.
func dropCode(tx *bbolt.Tx, id []byte, keep string) error {
	v := tx.Bucket(bucketTokens).Get(id)
	if v == nil {
		return nil
	}
	old, err := decodeToken(id, v)
	if err != nil || old.CodeID == "" || old.CodeID == keep {
		return err
	}
	return tx.Bucket(bucketCodeTokens).Delete([]byte(old.CodeID))
}

// TokenByCode returns the token whose CodeID is codeID, expired or not, or ErrTokenNotFound.
func (s *Store) TokenByCode(ctx context.Context, codeID string) (reset.Token, error) {
	var t reset.Token
	err := s.view(ctx, "read token by code", func(tx *bbolt.Tx) error {
		id := tx.Bucket(bucketCodeTokens).Get([]byte(codeID))
		if id == nil || codeID == "" {
			return reset.ErrTokenNotFound
		}
		var found bool
		var err error
		t, found, err = getToken(tx, id)
		if err == nil && (!found || t.CodeID != codeID) {
			err = reset.ErrTokenNotFound
		}
		return err
	})
	return t, err
}
