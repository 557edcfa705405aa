package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"resetgate/reset"
)

// The audit bucket holds one JSON record per event under timeKey(event time, sequence), so
// that byte order is time order; the meta bucket counts them, so that the cap costs one
// cursor step per append instead of a scan.

// AppendAudit stores e and drops the oldest events beyond keep.
func (s *Store) AppendAudit(ctx context.Context, e reset.AuditEvent, keep int) error {
	v, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("bolt: append audit: %w", err)
	}
	return s.write(ctx, "append audit", func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		if err := b.Put(timeKey(e.Time, string(binary.BigEndian.AppendUint64(nil, seq))), v); err != nil {
			return err
		}
		n := auditCount(tx) + 1
		if keep > 0 {
			c := b.Cursor()
			for k, _ := c.First(); k != nil && n > int64(keep); k, _ = c.First() {
				if err := c.Delete(); err != nil {
					return err
				}
				n--
			}
		}
		return setAuditCount(tx, n)
	})
}

// AuditSince returns the events at or after since, oldest first.
func (s *Store) AuditSince(ctx context.Context, since time.Time) ([]reset.AuditEvent, error) {
	var out []reset.AuditEvent
	err := s.view(ctx, "read audit", func(tx *bbolt.Tx) error {
		out = nil
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Seek(timeKey(since, "")); k != nil; k, v = c.Next() {
			var e reset.AuditEvent
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("audit record %x: %w", k, err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// DeleteAuditBefore deletes the events older than before.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time) (int, error) {
	var deleted int
	err := s.update(ctx, "sweep audit", func(tx *bbolt.Tx) error {
		deleted = 0
		end := timeKey(before, "")
		c := tx.Bucket(bucketAudit).Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, end) < 0; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
			deleted++
		}
		return setAuditCount(tx, max(auditCount(tx)-int64(deleted), 0))
	})
	return deleted, err
}

func auditCount(tx *bbolt.Tx) int64 {
	v := tx.Bucket(bucketMeta).Get(keyAuditCount)
	if len(v) != 8 {
		return int64(tx.Bucket(bucketAudit).Stats().KeyN) // a file from before the count
	}
	return int64(binary.BigEndian.Uint64(v))
}

func setAuditCount(tx *bbolt.Tx, n int64) error {
	return tx.Bucket(bucketMeta).Put(keyAuditCount, binary.BigEndian.AppendUint64(nil, uint64(n)))
}
