package bolt

import (
	"bytes"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// migrateV1 brings a file of the first release (format 1) to format 2 in Open's transaction:
// every job gets its index entry, and dead jobs move to their own buckets. The first release
// did not record when a job died, so the migration dates them at now: the retention of
// [Store.DeleteDead] counts from the upgrade. Tokens and rate-limit windows read as they
// are (a claim from before has no owner, and lapses by its time).
func migrateV1(tx *bbolt.Tx, now time.Time) error {
	type record struct{ k, v []byte }
	// Collect first: the loop below rewrites the bucket it reads.
	var old []record
	err := tx.Bucket(bucketJobs).ForEach(func(k, v []byte) error {
		old = append(old, record{bytes.Clone(k), bytes.Clone(v)})
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range old {
		j, err := decodeJob(r.k, r.v)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketJobs).Delete(r.k); err != nil {
			return err
		}
		if j.Dead && j.DeadAt.IsZero() {
			j.DeadAt = now
		}
		if err := putJob(tx, j); err != nil {
			return err
		}
	}
	return nil
}
