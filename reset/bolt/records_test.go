package bolt_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"resetgate/reset"
	"resetgate/reset/bolt"
)

func TestCorruptRecords(t *testing.T) {
	now := time.Now()
	_, tokenID := reset.NewToken()
	tests := []struct {
		name        string
		bucket, key string
		value       []byte
		call        func(ctx context.Context, s *bolt.Store) error
	}{
		{"token that is not JSON", "tokens", tokenID, []byte("{not json"), func(ctx context.Context, s *bolt.Store) error {
			_, err := s.Token(ctx, tokenID)
			return err
		}},
		{"claim of a corrupt token", "tokens", tokenID, []byte("[]"), func(ctx context.Context, s *bolt.Store) error {
			_, err := s.ClaimToken(ctx, tokenID, now, now.Add(time.Minute))
			return err
		}},
		{"listing a corrupt token", "tokens", tokenID, []byte("\x00"), func(ctx context.Context, s *bolt.Store) error {
			_, err := s.Tokens(ctx)
			return err
		}},
		{"sweeping a corrupt token", "tokens", tokenID, []byte("nope"), func(ctx context.Context, s *bolt.Store) error {
			_, err := s.DeleteExpired(ctx, now)
			return err
		}},
		{"rate-limit window of the wrong size", "limits", "k", []byte("short"), func(ctx context.Context, s *bolt.Store) error {
			_, _, err := s.Allow(ctx, "k", 1, time.Minute, now)
			return err
		}},
		{"job without a header", "jobs", "0000000000000001", []byte("{}"), func(ctx context.Context, s *bolt.Store) error {
			_, err := s.Jobs(ctx)
			return err
		}},
		{"ready job without a record", "ready", "0000000000000001", nil, func(ctx context.Context, s *bolt.Store) error {
			_, err := s.NextJob(ctx, now, now.Add(time.Minute))
			return err
		}},
		{"job of an unknown format", "jobs", "0000000000000001", append([]byte{9}, make([]byte, 8)...), func(ctx context.Context, s *bolt.Store) error {
			_, err := s.Jobs(ctx)
			return err
		}},
		{"job with a bad body", "jobs", "0000000000000001", []byte("\x02{bad"), func(ctx context.Context, s *bolt.Store) error {
			_, err := s.Jobs(ctx)
			return err
		}},
		{"dead job with a bad body", "dead", "0000000000000001", []byte("\x02{bad"), func(ctx context.Context, s *bolt.Store) error {
			return s.DropJob(ctx, "0000000000000001")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			s, err := bolt.Open(path, bolt.Options{NoSync: true})
			if err != nil {
				t.Fatalf("Open(%q) = %v, want nil", path, err)
			}
			s.Close()
			rawPut(t, path, tt.bucket, tt.key, tt.value)
			s = mustOpen(t, path)
			err = tt.call(t.Context(), s)
			if !errors.Is(err, bolt.ErrCorrupt) {
				t.Fatalf("reading a corrupt %s record = %v, want %v", tt.bucket, err, bolt.ErrCorrupt)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name the key %q", err, tt.key)
			}
		})
	}
}

// rawPut writes a record behind the store's back, as a bug or a disk fault would.
func rawPut(t *testing.T, path, bucket, key string, value []byte) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("bbolt.Open(%q) = %v", path, err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte(bucket)).Put([]byte(key), value)
	})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

// rawKeys lists a bucket's keys behind the store's back.
func rawKeys(t *testing.T, path, bucket string) []string {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatalf("bbolt.Open(%q) = %v", path, err)
	}
	defer db.Close()
	var keys []string
	err = db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte(bucket)).ForEach(func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		})
	})
	if err != nil {
		t.Fatalf("list %s: %v", bucket, err)
	}
	return keys
}

func TestDeleteExpiredSweepsLimits(t *testing.T) {
	path := tempPath(t)
	s, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open(%q) = %v, want nil", path, err)
	}
	now := time.Now()
	for _, c := range []struct {
		key string
		win time.Duration
	}{{"short-1", time.Minute}, {"short-2", time.Minute}, {"long", time.Hour}} {
		if _, _, err := s.Allow(t.Context(), c.key, 5, c.win, now); err != nil {
			t.Fatalf("Allow(%q) = %v, want nil", c.key, err)
		}
	}
	if _, err := s.DeleteExpired(t.Context(), now.Add(time.Minute)); err != nil {
		t.Fatalf("DeleteExpired() = %v, want nil", err)
	}
	s.Close()
	if got := rawKeys(t, path, "limits"); len(got) != 1 || got[0] != "long" {
		t.Errorf("rate-limit windows after the sweep = %q, want only %q", got, "long")
	}
}

// Every way a token goes — voided by a newer one, deleted with its user, expired — takes its
// index entry with it, so the index cannot grow without bound.
func TestDeletedTokensLeaveNoIndex(t *testing.T) {
	path := tempPath(t)
	s, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open(%q) = %v, want nil", path, err)
	}
	now := time.Now()
	for i, user := range []string{"ab", "abc", "ab", "x"} {
		_, id := reset.NewToken()
		tok := reset.Token{ID: id, UserID: user, IssuedAt: now, ExpiresAt: now.Add(time.Duration(i+1) * time.Minute)}
		if err := s.SaveToken(t.Context(), tok); err != nil {
			t.Fatalf("SaveToken(%q) = %v, want nil", user, err)
		}
	}
	if n, err := s.DeleteUserTokens(t.Context(), "ab"); err != nil || n != 1 {
		t.Errorf("DeleteUserTokens(%q) = %d, %v, want 1, nil", "ab", n, err)
	}
	if n, err := s.DeleteExpired(t.Context(), now.Add(time.Hour)); err != nil || n != 2 {
		t.Errorf("DeleteExpired() = %d, %v, want 2 (abc and x), nil", n, err)
	}
	s.Close()
	for _, bucket := range []string{"tokens", "user-tokens"} {
		if got := rawKeys(t, path, bucket); len(got) != 0 {
			t.Errorf("bucket %s after deleting every token = %q, want empty", bucket, got)
		}
	}
}
