package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	bbolt "go.etcd.io/bbolt"

	"resetgate/reset"
)

// This file holds the job records and their index entries; see the package doc's layout.

type jobRecord struct {
	Kind           reset.JobKind `json:"kind"`
	Email          string        `json:"email,omitempty"`
	Username       string        `json:"username,omitempty"`
	Language       string        `json:"lang,omitempty"`
	UserID         string        `json:"user,omitempty"`
	OldFingerprint string        `json:"old_fp,omitempty"`
	NewFingerprint string        `json:"new_fp,omitempty"`
	ClientIP       string        `json:"ip,omitempty"`
	CreatedAt      time.Time     `json:"created"`
	Attempts       int           `json:"attempts,omitempty"`
	NotBefore      time.Time     `json:"not_before,omitzero"`
	LastError      string        `json:"error,omitempty"`
	Dead           bool          `json:"dead,omitempty"`
	DeadAt         time.Time     `json:"dead_at,omitzero"`
	LeasedUntil    time.Time     `json:"leased_until,omitzero"`
	LeasedBy       string        `json:"leased_by,omitempty"`
}

// Job record formats: the first release's starts with a 9-byte header (format byte 1, then
// the due time), this one's with the format byte alone, the index buckets knowing the rest.
const (
	jobFormatV1 = 1
	jobHeaderV1 = 9
	jobFormat   = 2
)

// Index entries in delayed say why the job waits.
var (
	waitLease   = []byte("L")
	waitBackoff = []byte("B")
)

func encodeJob(j reset.Job) ([]byte, error) {
	body, err := json.Marshal(jobRecord{
		Kind: j.Kind, Email: j.Email, Username: j.Username, Language: j.Language, UserID: j.UserID, OldFingerprint: j.OldFingerprint,
		NewFingerprint: j.NewFingerprint, ClientIP: j.ClientIP, CreatedAt: j.CreatedAt.UTC(),
		Attempts: j.Attempts, NotBefore: j.NotBefore.UTC(), LastError: j.LastError, Dead: j.Dead,
		DeadAt: j.DeadAt.UTC(), LeasedUntil: j.LeasedUntil.UTC(), LeasedBy: j.LeasedBy,
	})
	if err != nil {
		return nil, err
	}
	return append([]byte{jobFormat}, body...), nil
}

func decodeJob(id, v []byte) (reset.Job, error) {
	var body []byte
	switch {
	case len(v) >= 1 && v[0] == jobFormat:
		body = v[1:]
	case len(v) >= jobHeaderV1 && v[0] == jobFormatV1:
		body = v[jobHeaderV1:]
	default:
		return reset.Job{}, fmt.Errorf("%w: job %q: bad header", ErrCorrupt, id)
	}
	var r jobRecord
	if err := json.Unmarshal(body, &r); err != nil {
		return reset.Job{}, fmt.Errorf("%w: job %q: %v", ErrCorrupt, id, err)
	}
	return reset.Job{
		ID: string(id), Kind: r.Kind, Email: r.Email, Username: r.Username, Language: r.Language, UserID: r.UserID, OldFingerprint: r.OldFingerprint,
		NewFingerprint: r.NewFingerprint, ClientIP: r.ClientIP, CreatedAt: r.CreatedAt,
		Attempts: r.Attempts, NotBefore: r.NotBefore, LastError: r.LastError, Dead: r.Dead,
		DeadAt: r.DeadAt, LeasedUntil: r.LeasedUntil, LeasedBy: r.LeasedBy,
	}, nil
}

// waitKey returns where a live job waits in delayed, or nil if it is due now (in ready): at
// the end of its lease, else at its NotBefore.
func waitKey(j reset.Job) (key, why []byte) {
	switch {
	case !j.LeasedUntil.IsZero() && j.LeasedUntil.After(j.NotBefore):
		return timeKey(j.LeasedUntil, j.ID), waitLease
	case !j.NotBefore.IsZero():
		return timeKey(j.NotBefore, j.ID), waitBackoff
	}
	return nil, nil
}

// getJob reads the job id, live or dead; found is false when there is none.
func getJob(tx *bbolt.Tx, id string) (j reset.Job, found bool, err error) {
	v := tx.Bucket(bucketJobs).Get([]byte(id))
	if v == nil {
		v = tx.Bucket(bucketDead).Get([]byte(id))
	}
	if v == nil {
		return reset.Job{}, false, nil
	}
	j, err = decodeJob([]byte(id), v)
	return j, err == nil, err
}

// putJob stores j with its index entries: a live job in jobs and in ready or delayed, a dead
// one in dead and dead-at. The job must not be stored already (see unplaceJob).
func putJob(tx *bbolt.Tx, j reset.Job) error {
	v, err := encodeJob(j)
	if err != nil {
		return err
	}
	id := []byte(j.ID)
	if j.Dead {
		if err := tx.Bucket(bucketDead).Put(id, v); err != nil {
			return err
		}
		if err := tx.Bucket(bucketDeadAt).Put(timeKey(j.DeadAt, j.ID), nil); err != nil {
			return err
		}
		return addDeadCount(tx, 1)
	}
	if err := tx.Bucket(bucketJobs).Put(id, v); err != nil {
		return err
	}
	if k, why := waitKey(j); k != nil {
		return tx.Bucket(bucketDelayed).Put(k, why)
	}
	return tx.Bucket(bucketReady).Put(id, nil)
}

// deleteJob deletes the stored job j and its index entries. A live job may sit in ready
// although its record names a wait (NextJob moved it there once due), so both go.
func deleteJob(tx *bbolt.Tx, j reset.Job) error {
	id := []byte(j.ID)
	if j.Dead {
		if err := tx.Bucket(bucketDead).Delete(id); err != nil {
			return err
		}
		if err := tx.Bucket(bucketDeadAt).Delete(timeKey(j.DeadAt, j.ID)); err != nil {
			return err
		}
		return addDeadCount(tx, -1)
	}
	if err := tx.Bucket(bucketJobs).Delete(id); err != nil {
		return err
	}
	if err := tx.Bucket(bucketReady).Delete(id); err != nil {
		return err
	}
	if k, _ := waitKey(j); k != nil {
		return tx.Bucket(bucketDelayed).Delete(k)
	}
	return nil
}

func deadCount(tx *bbolt.Tx) int64 {
	v := tx.Bucket(bucketMeta).Get(keyDeadCount)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func addDeadCount(tx *bbolt.Tx, d int64) error {
	n := max(deadCount(tx)+d, 0)
	return tx.Bucket(bucketMeta).Put(keyDeadCount, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// readyAt reads when a ready entry became due, in Unix ns: the time of the delayed entry it
// came from (its first 8 bytes), or never delayed. NextJob moves an entry to ready by the
// clock of the call; a later call with an earlier clock (a step back) must not take it early.
func readyAt(v []byte) int64 {
	if len(v) < 8 {
		return math.MinInt64
	}
	return keyTime(v)
}

// firstDue returns the id of the ready job with the lowest id that is due at now, or nil.
func firstDue(tx *bbolt.Tx, now int64) []byte {
	c := tx.Bucket(bucketReady).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if readyAt(v) <= now {
			return k
		}
	}
	return nil
}

// anyDue reports whether a job may be due at now: one in ready, or the first in delayed.
func anyDue(tx *bbolt.Tx, now int64) bool {
	if firstDue(tx, now) != nil {
		return true
	}
	k, _ := tx.Bucket(bucketDelayed).Cursor().First()
	return k != nil && keyTime(k) <= now
}

// promote moves the delayed entries due at now to ready, each with its time and reason.
func promote(tx *bbolt.Tx, now int64) error {
	delayed, ready := tx.Bucket(bucketDelayed), tx.Bucket(bucketReady)
	// Collect first: deleting under a bbolt cursor can skip the next key.
	var due, why [][]byte
	c := delayed.Cursor()
	for k, v := c.First(); k != nil && keyTime(k) <= now; k, v = c.Next() {
		due, why = append(due, bytes.Clone(k)), append(why, bytes.Clone(v))
	}
	for i, k := range due {
		if err := delayed.Delete(k); err != nil {
			return err
		}
		if err := ready.Put(k[8:], append(k[:8:8], why[i]...)); err != nil {
			return err
		}
	}
	return nil
}
