// Package bolt keeps resetgate's own state — reset tokens, rate-limit windows, the durable mail
// queue and generated secrets — in one embedded file, through go.etcd.io/bbolt. It implements
// [reset.Store] for a single resetgate process; several replicas share state through
// reset/redis instead.
//
// # Layout
//
// The file holds one bucket per kind of record (format 2):
//
//	meta         "format" → "2"; "dead" → 8-byte count of dead jobs, for Stats
//	tokens       token id (hex SHA-256) → JSON token record
//	user-tokens  uvarint(len(user id)) ‖ user id ‖ token id → empty; the per-user index
//	limits       rate-limit key → 8-byte window end (Unix ns) ‖ 8-byte event count, big-endian
//	jobs         live job id → 1 format byte (2) ‖ JSON job record
//	ready        live job id → empty, or the delayed key's time ‖ reason once it fell due;
//	             the jobs found due, in id (creation) order
//	delayed      8-byte due time ‖ job id → "L" (leased until then) or "B" (backing off)
//	dead         dead job id → 1 format byte (2) ‖ JSON job record
//	dead-at      8-byte time it was given up on ‖ job id → empty, for DeleteDead
//	secrets      name → the secret's bytes
//	sessions, user-sessions, revoked, revoked-seq: session tracking (see sessions.go)
//
// Times in keys are Unix ns, big-endian with the sign bit flipped so that they sort in time
// order. Records are JSON, through private structs with short field names, so that they stay
// readable with `bbolt get` and a renamed domain field cannot silently change the format.
//
// A live job is in exactly one of ready and delayed; a dead one only in dead and dead-at.
// NextJob first moves the delayed entries due by now to ready, then leases the ready job with
// the lowest id and files it under delayed at its lease's end: each step costs O(log n), and
// dead jobs, which sit in their own buckets, cost nothing (issue 20, item 6: the first format
// scanned every job on each call). A file of format 1 (jobs with a 9-byte header, no index)
// is migrated in Open.
//
// # Durability and throughput
//
// Every write is committed, and fsynced unless [Options.NoSync], before the method returns,
// so what Enqueue accepted survives kill -9 and power loss. An fsync costs milliseconds (1 to
// 50 on the shared virtual disk we measured), so one commit per call would cap the request
// path at a few hundred requests a second, or a few dozen. Enqueue and Allow, the calls on the request path, and the
// worker's small writes are therefore group-committed: calls that arrive while a commit is
// running share the next transaction (see committer; bbolt's DB.Batch, timer-driven, falls
// behind when an fsync outlasts its timer). ClaimToken and NextJob each run in one Update
// transaction that checks and sets, so of concurrent claims exactly one wins and a job goes to
// one worker. One process owns the file and nothing retries a call behind its back, so a
// claim's or lease's owner nonce is only needed for fencing.
package bolt

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"resetgate/reset"
)

// DefaultLockTimeout is how long Open waits for another process to release the data file.
const DefaultLockTimeout = time.Second

var (
	// ErrInUse is returned by Open when another process — in practice another resetgate
	// started with the same data_dir — holds the data file. bbolt allows one writer per file.
	ErrInUse = errors.New("data file is in use by another resetgate process")
	// ErrCorrupt is returned when a stored record cannot be decoded. The error names the
	// bucket and key; the record is left as it is for an operator to inspect.
	ErrCorrupt = errors.New("corrupt record")
)

// Options configure Open. The zero value is the production setting.
type Options struct {
	// LockTimeout is how long Open waits for another process to release the data file
	// before failing with ErrInUse; zero or negative means DefaultLockTimeout.
	LockTimeout time.Duration
	// NoSync skips fsync on commit. For tests only: a machine crash loses recent writes.
	NoSync bool
}

// Store is a [reset.Store] in one bbolt file. It is safe for concurrent use.
type Store struct {
	db   *bbolt.DB
	w    *committer
	path string
}

var _ reset.Store = (*Store)(nil)

// format is the layout this package writes; formatV1 is the first release's, which Open
// migrates.
const (
	format   = "2"
	formatV1 = "1"
)

var (
	bucketMeta       = []byte("meta")
	bucketTokens     = []byte("tokens")
	bucketUserTokens = []byte("user-tokens")
	bucketCodeTokens = []byte("code-tokens") // a token's CodeID → its id (codes.go)
	bucketLimits     = []byte("limits")
	bucketJobs       = []byte("jobs")
	bucketReady      = []byte("ready")
	bucketDelayed    = []byte("delayed")
	bucketDead       = []byte("dead")
	bucketDeadAt     = []byte("dead-at")
	bucketSecrets    = []byte("secrets")
	bucketAudit      = []byte("audit")
	// Session tracking (sessions.go).
	bucketSessions     = []byte("sessions")
	bucketUserSessions = []byte("user-sessions")
	bucketRevoked      = []byte("revoked")
	bucketRevokedSeq   = []byte("revoked-seq")
	keyFormat          = []byte("format")
	keyDeadCount       = []byte("dead")
	keyAuditCount      = []byte("audit")

	allBuckets = [][]byte{bucketTokens, bucketUserTokens, bucketCodeTokens, bucketLimits, bucketJobs, bucketReady,
		bucketDelayed, bucketDead, bucketDeadAt, bucketSecrets, bucketAudit,
		bucketSessions, bucketUserSessions, bucketRevoked, bucketRevokedSeq}
)

// Open opens the data file at path, creating it (mode 0600) if it does not exist; its
// directory must exist. If another process holds the file, Open fails after
// opts.LockTimeout with an error wrapping ErrInUse that names the path.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout, NoSync: opts.NoSync})
	if errors.Is(err, berrors.ErrTimeout) {
		// bbolt's flock gave up: its own "timeout" would send operators looking at the network.
		return nil, fmt.Errorf("bolt: open %s: %w (its lock was not released within %v; stop the other process or use another data_dir)", path, ErrInUse, timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		v := meta.Get(keyFormat)
		if v != nil && string(v) != format && string(v) != formatV1 {
			return fmt.Errorf("data format %q, but this resetgate reads formats %q and %q", v, formatV1, format)
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if string(v) == formatV1 {
			if err := migrateV1(tx, time.Now()); err != nil {
				return fmt.Errorf("migrate from format %s: %w", formatV1, err)
			}
		}
		return meta.Put(keyFormat, []byte(format))
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	return &Store{db: db, w: newCommitter(db), path: path}, nil
}

// Path returns the data file's path, as given to Open.
func (s *Store) Path() string { return s.path }

// Close closes the file and releases its lock. It waits for running transactions.
func (s *Store) Close() error {
	s.w.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bolt: close %s: %w", s.path, err)
	}
	return nil
}

// Ping reports whether the file is open and readable.
func (s *Store) Ping(ctx context.Context) error {
	return s.view(ctx, "ping", func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return errors.New("meta bucket missing")
		}
		return nil
	})
}

// view, update and write run fn in a transaction unless ctx is already done, and wrap its
// error with what was being done. write shares the transaction with concurrent calls (see
// committer), so its fn must set its results from scratch each time it runs.
func (s *Store) view(ctx context.Context, what string, fn func(*bbolt.Tx) error) error {
	return wrap(ctx, what, s.db.View, fn)
}

func (s *Store) update(ctx context.Context, what string, fn func(*bbolt.Tx) error) error {
	return wrap(ctx, what, s.db.Update, fn)
}

func (s *Store) write(ctx context.Context, what string, fn func(*bbolt.Tx) error) error {
	return wrap(ctx, what, s.w.do, fn)
}

func wrap(ctx context.Context, what string, run func(func(*bbolt.Tx) error) error, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt: %s: %w", what, err)
	}
	if err := run(fn); err != nil {
		return fmt.Errorf("bolt: %s: %w", what, err)
	}
	return nil
}

// Secret returns the named secret, creating size random bytes on first use. Asking for an
// existing secret with another size is an error rather than a silently different key.
func (s *Store) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	if size <= 0 {
		return nil, fmt.Errorf("bolt: secret %q: size %d is not positive", name, size)
	}
	var secret []byte
	err := s.update(ctx, "secret "+name, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSecrets)
		if v := b.Get([]byte(name)); v != nil {
			if len(v) != size {
				return fmt.Errorf("stored secret has %d bytes, not %d", len(v), size)
			}
			// bbolt's slices are valid only inside the transaction.
			secret = bytes.Clone(v)
			return nil
		}
		secret = make([]byte, size)
		rand.Read(secret)
		return b.Put([]byte(name), secret)
	})
	if err != nil {
		return nil, err
	}
	return secret, nil
}

// nonce returns a fresh owner for a claim or a lease.
func nonce() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// unixNano is t.UnixNano with the zero time first and out-of-range times clamped, where
// UnixNano is undefined.
func unixNano(t time.Time) int64 {
	switch {
	case t.IsZero() || t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeKey returns the index key of id at t: t in Unix ns, big-endian with the sign bit
// flipped so that byte order is time order, then the id.
func timeKey(t time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(id)), uint64(unixNano(t))^(1<<63))
	return append(k, id...)
}

// keyTime reads the time of an index key as Unix ns.
func keyTime(k []byte) int64 { return int64(binary.BigEndian.Uint64(k) ^ (1 << 63)) }
