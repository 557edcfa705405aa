package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"

	"resetgate/reset"
)

// Enqueue stores j and returns once it is committed to disk; concurrent calls share commits.
// An id that is stored already, live or dead, is left as it is.
func (s *Store) Enqueue(ctx context.Context, j reset.Job) error {
	if j.ID == "" {
		return errors.New("bolt: enqueue job: the job has no id (see reset.NewJobID)")
	}
	return s.write(ctx, "enqueue job", func(tx *bbolt.Tx) error {
		if _, found, err := getJob(tx, j.ID); err != nil || found {
			return err
		}
		return putJob(tx, j)
	})
}

// NextJob leases the oldest job due at now until `until`, by a fresh owner. It looks in a
// read transaction first, so that idle workers polling an empty queue cause no writes.
func (s *Store) NextJob(ctx context.Context, now, until time.Time) (reset.Job, error) {
	at := unixNano(now)
	err := s.view(ctx, "next job", func(tx *bbolt.Tx) error {
		if !anyDue(tx, at) {
			return reset.ErrNoJob
		}
		return nil
	})
	if err != nil {
		return reset.Job{}, err
	}
	var j reset.Job
	err = s.update(ctx, "next job", func(tx *bbolt.Tx) error {
		if err := promote(tx, at); err != nil {
			return err
		}
		k := firstDue(tx, at)
		if k == nil {
			return reset.ErrNoJob // another worker took it in between
		}
		id := string(k)
		var found bool
		var err error
		if j, found, err = getJob(tx, id); err != nil {
			return err
		}
		if !found || j.Dead {
			return fmt.Errorf("%w: ready job %q has no live record", ErrCorrupt, id)
		}
		if err := deleteJob(tx, j); err != nil {
			return err
		}
		j.LeasedUntil, j.LeasedBy = until, nonce()
		return putJob(tx, j)
	})
	if err != nil {
		return reset.Job{}, err
	}
	return j, nil
}

// fenced returns the stored job j.ID if j's lease (j.LeasedBy) still holds it, else
// ErrLeaseLost, or ErrJobNotFound.
func fenced(tx *bbolt.Tx, j reset.Job) (reset.Job, error) {
	stored, found, err := getJob(tx, j.ID)
	switch {
	case err != nil:
		return reset.Job{}, err
	case !found:
		return reset.Job{}, reset.ErrJobNotFound
	case stored.LeasedBy != j.LeasedBy:
		return reset.Job{}, reset.ErrLeaseLost
	}
	return stored, nil
}

// AckJob deletes a finished job if j's lease still holds it.
func (s *Store) AckJob(ctx context.Context, j reset.Job) error {
	return s.write(ctx, "ack job", func(tx *bbolt.Tx) error {
		stored, err := fenced(tx, j)
		if err != nil {
			return err
		}
		return deleteJob(tx, stored)
	})
}

// RetryJob replaces the stored job j.ID with j, lease cleared, if j's lease still holds it.
// The job keeps its place in line: ready jobs are ordered by id.
func (s *Store) RetryJob(ctx context.Context, j reset.Job) error {
	owner := j.LeasedBy
	j.LeasedUntil, j.LeasedBy = time.Time{}, ""
	return s.write(ctx, "retry job", func(tx *bbolt.Tx) error {
		stored, err := fenced(tx, reset.Job{ID: j.ID, LeasedBy: owner})
		if err != nil {
			return err
		}
		if err := deleteJob(tx, stored); err != nil {
			return err
		}
		return putJob(tx, j)
	})
}

// DropJob deletes a job whatever its state, or returns ErrJobNotFound.
func (s *Store) DropJob(ctx context.Context, id string) error {
	return s.write(ctx, "drop job", func(tx *bbolt.Tx) error {
		j, found, err := getJob(tx, id)
		switch {
		case err != nil:
			return err
		case !found:
			return reset.ErrJobNotFound
		}
		return deleteJob(tx, j)
	})
}

// Jobs lists every job, live and dead, in id (creation) order.
func (s *Store) Jobs(ctx context.Context) ([]reset.Job, error) {
	var js []reset.Job
	err := s.view(ctx, "list jobs", func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketJobs, bucketDead} {
			err := tx.Bucket(b).ForEach(func(k, v []byte) error {
				j, err := decodeJob(k, v)
				js = append(js, j)
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(js, func(a, b reset.Job) int { return strings.Compare(a.ID, b.ID) })
	return js, nil
}

// Stats counts the jobs at now from the index keys alone, decoding no record: the live jobs
// are read (ready and delayed, a few bytes each), the dead ones are a stored count.
func (s *Store) Stats(ctx context.Context, now time.Time) (reset.QueueStats, error) {
	var q reset.QueueStats
	err := s.view(ctx, "queue stats", func(tx *bbolt.Tx) error {
		at := unixNano(now)
		q = reset.QueueStats{Dead: int(deadCount(tx))}
		count := func(due int64, why []byte) {
			switch {
			case due <= at:
				q.Due++
			case bytes.Equal(why, waitLease):
				q.Leased++
			default:
				q.Delayed++
			}
		}
		c := tx.Bucket(bucketReady).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) < 8 {
				q.Due++
			} else {
				count(readyAt(v), v[8:])
			}
		}
		c = tx.Bucket(bucketDelayed).Cursor()
		for k, why := c.First(); k != nil; k, why = c.Next() {
			count(keyTime(k), why)
		}
		return nil
	})
	return q, err
}

// DeleteDead deletes the dead jobs given up on before `before`, reading dead-at from its
// start, and returns how many.
func (s *Store) DeleteDead(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := s.update(ctx, "delete dead jobs", func(tx *bbolt.Tx) error {
		limit := unixNano(before)
		var keys [][]byte
		c := tx.Bucket(bucketDeadAt).Cursor()
		for k, _ := c.First(); k != nil && keyTime(k) < limit; k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := tx.Bucket(bucketDeadAt).Delete(k); err != nil {
				return err
			}
			if err := tx.Bucket(bucketDead).Delete(k[8:]); err != nil {
				return err
			}
		}
		n = len(keys)
		return addDeadCount(tx, -int64(n))
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
