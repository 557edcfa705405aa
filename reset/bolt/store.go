// Package bolt keeps resetgate's own state — reset tokens, rate-limit windows, the durable mail
// queue and generated secrets — in one embedded file, through go.etcd.io/bbolt. It implements
// [reset.Store] for a single resetgate process; several replicas share state through
// reset/redis instead.
//
// # Layout
//
// The file holds one bucket per kind of record:
//
//	meta         "format" → "1"; a file of another format is refused rather than misread
//	tokens       token id (hex SHA-256) → JSON token record
//	user-tokens  uvarint(len(user id)) ‖ user id ‖ token id → empty; the per-user index
//	limits       rate-limit key → 8-byte window end (Unix ns) ‖ 8-byte event count, big-endian
//	jobs         job id → 1 format byte ‖ 8-byte "due" time (Unix ns) ‖ JSON job record
//	secrets      name → the secret's bytes
//
// Records are JSON, through private structs with short field names, so that they stay
// readable with `bbolt get` and a renamed domain field cannot silently change the format. A
// job record starts with a fixed header holding when it is next due (the later of NotBefore
// and its lease; never for a dead job), so that NextJob scans the queue by reading 9 bytes a
// job instead of decoding each. Generated job ids are the bucket's sequence as 16 hex
// digits: they sort in enqueue order, also across restarts.
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
// one worker.
package bolt

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
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

const format = "1"

var (
	bucketMeta       = []byte("meta")
	bucketTokens     = []byte("tokens")
	bucketUserTokens = []byte("user-tokens")
	bucketLimits     = []byte("limits")
	bucketJobs       = []byte("jobs")
	bucketSecrets    = []byte("secrets")
	keyFormat        = []byte("format")
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
		switch v := meta.Get(keyFormat); {
		case v == nil:
			if err := meta.Put(keyFormat, []byte(format)); err != nil {
				return err
			}
		case string(v) != format:
			return fmt.Errorf("data format %q, but this resetgate reads format %q", v, format)
		}
		for _, name := range [][]byte{bucketTokens, bucketUserTokens, bucketLimits, bucketJobs, bucketSecrets} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
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

// Tokens.

type tokenRecord struct {
	UserID       string    `json:"user"`
	Email        string    `json:"email"`
	Fingerprint  string    `json:"fp"`
	IssuedAt     time.Time `json:"issued"`
	ExpiresAt    time.Time `json:"expires"`
	ClaimedUntil time.Time `json:"claimed,omitzero"`
}

func encodeToken(t reset.Token) ([]byte, error) {
	return json.Marshal(tokenRecord{
		UserID: t.UserID, Email: t.Email, Fingerprint: t.Fingerprint,
		IssuedAt: t.IssuedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(), ClaimedUntil: t.ClaimedUntil.UTC(),
	})
}

func decodeToken(id, v []byte) (reset.Token, error) {
	var r tokenRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return reset.Token{}, fmt.Errorf("%w: token %s: %v", ErrCorrupt, id, err)
	}
	return reset.Token{
		ID: string(id), UserID: r.UserID, Email: r.Email, Fingerprint: r.Fingerprint,
		IssuedAt: r.IssuedAt, ExpiresAt: r.ExpiresAt, ClaimedUntil: r.ClaimedUntil,
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

func putToken(tx *bbolt.Tx, t reset.Token) error {
	v, err := encodeToken(t)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketTokens).Put([]byte(t.ID), v)
}

// deleteToken deletes the token and its index entry.
func deleteToken(tx *bbolt.Tx, t reset.Token) error {
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

// ClaimToken marks the token claimed until `until` if, at now, it exists, has not expired
// and is not claimed; check and set happen in one write transaction, so of concurrent claims
// exactly one wins (SECURITY.md RQ-TOK-03).
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
		t.ClaimedUntil = until
		return putToken(tx, t)
	})
	if err != nil {
		return reset.Token{}, err
	}
	return t, nil
}

// ReleaseToken clears the token's claim. A token that is gone is not an error.
func (s *Store) ReleaseToken(ctx context.Context, id string) error {
	return s.write(ctx, "release token", func(tx *bbolt.Tx) error {
		t, found, err := getToken(tx, []byte(id))
		if err != nil || !found || t.ClaimedUntil.IsZero() {
			return err
		}
		t.ClaimedUntil = time.Time{}
		return putToken(tx, t)
	})
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

// Rate limits.

type window struct {
	end   int64 // Unix ns
	count uint64
}

func decodeWindow(k, v []byte) (window, error) {
	if len(v) != 16 {
		return window{}, fmt.Errorf("%w: rate limit %q: %d bytes, want 16", ErrCorrupt, k, len(v))
	}
	return window{end: int64(binary.BigEndian.Uint64(v)), count: binary.BigEndian.Uint64(v[8:])}, nil
}

func (w window) encode() []byte {
	v := binary.BigEndian.AppendUint64(nil, uint64(w.end))
	return binary.BigEndian.AppendUint64(v, w.count)
}

// Allow counts one event against key and reports whether at most n happened in the current
// window. A window starts with the first event after the previous one ended and lasts `win`.
// Concurrent calls share commits.
func (s *Store) Allow(ctx context.Context, key string, n int, win time.Duration, now time.Time) (bool, time.Duration, error) {
	if win <= 0 {
		return false, 0, fmt.Errorf("bolt: allow %q: window %v is not positive", key, win)
	}
	var ok bool
	var retry time.Duration
	// The committer may run this more than once; it sets ok and retry from scratch each time.
	err := s.write(ctx, "allow", func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketLimits)
		k := []byte(key)
		at := unixNano(now)
		w := window{end: at + int64(win)}
		if v := b.Get(k); v != nil {
			stored, err := decodeWindow(k, v)
			if err != nil {
				return err
			}
			if at < stored.end {
				w = stored
			}
		}
		ok = n > 0 && w.count < uint64(n)
		retry = 0
		if !ok {
			retry = time.Duration(w.end - at)
			if w.count > uint64(max(n, 0)) {
				// Already over the limit: counting further changes no answer, so skip the write.
				return nil
			}
		}
		w.count++
		return b.Put(k, w.encode())
	})
	if err != nil {
		return false, 0, err
	}
	return ok, retry, nil
}

// Jobs.

type jobRecord struct {
	Kind        reset.JobKind `json:"kind"`
	Email       string        `json:"email,omitempty"`
	UserID      string        `json:"user,omitempty"`
	ClientIP    string        `json:"ip,omitempty"`
	CreatedAt   time.Time     `json:"created"`
	Attempts    int           `json:"attempts,omitempty"`
	NotBefore   time.Time     `json:"not_before,omitzero"`
	LastError   string        `json:"error,omitempty"`
	Dead        bool          `json:"dead,omitempty"`
	LeasedUntil time.Time     `json:"leased_until,omitzero"`
}

const (
	jobFormat = 1
	jobHeader = 9 // format byte + due time
)

// due returns when j may next be delivered, in Unix ns: never for a dead job, else the later
// of NotBefore and the end of its lease.
func due(j reset.Job) int64 {
	if j.Dead {
		return math.MaxInt64
	}
	return max(unixNano(j.NotBefore), unixNano(j.LeasedUntil))
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

func encodeJob(j reset.Job) ([]byte, error) {
	body, err := json.Marshal(jobRecord{
		Kind: j.Kind, Email: j.Email, UserID: j.UserID, ClientIP: j.ClientIP,
		CreatedAt: j.CreatedAt.UTC(), Attempts: j.Attempts, NotBefore: j.NotBefore.UTC(),
		LastError: j.LastError, Dead: j.Dead, LeasedUntil: j.LeasedUntil.UTC(),
	})
	if err != nil {
		return nil, err
	}
	v := make([]byte, jobHeader, jobHeader+len(body))
	v[0] = jobFormat
	binary.BigEndian.PutUint64(v[1:], uint64(due(j)))
	return append(v, body...), nil
}

// jobDue reads the due time from a job record's header.
func jobDue(id, v []byte) (int64, error) {
	if len(v) < jobHeader || v[0] != jobFormat {
		return 0, fmt.Errorf("%w: job %q: bad header", ErrCorrupt, id)
	}
	return int64(binary.BigEndian.Uint64(v[1:])), nil
}

func decodeJob(id, v []byte) (reset.Job, error) {
	if _, err := jobDue(id, v); err != nil {
		return reset.Job{}, err
	}
	var r jobRecord
	if err := json.Unmarshal(v[jobHeader:], &r); err != nil {
		return reset.Job{}, fmt.Errorf("%w: job %q: %v", ErrCorrupt, id, err)
	}
	return reset.Job{
		ID: string(id), Kind: r.Kind, Email: r.Email, UserID: r.UserID, ClientIP: r.ClientIP,
		CreatedAt: r.CreatedAt, Attempts: r.Attempts, NotBefore: r.NotBefore, LastError: r.LastError,
		Dead: r.Dead, LeasedUntil: r.LeasedUntil,
	}, nil
}

func putJob(tx *bbolt.Tx, j reset.Job) error {
	v, err := encodeJob(j)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketJobs).Put([]byte(j.ID), v)
}

// Enqueue appends j and returns once it is committed to disk; concurrent calls share commits
// with concurrent calls. An empty j.ID becomes the bucket's next sequence number in 16 hex digits.
func (s *Store) Enqueue(ctx context.Context, j reset.Job) error {
	given := j.ID
	return s.write(ctx, "enqueue job", func(tx *bbolt.Tx) error {
		// This may run more than once, after a rollback that also undid NextSequence.
		j.ID = given
		if j.ID == "" {
			seq, err := tx.Bucket(bucketJobs).NextSequence()
			if err != nil {
				return err
			}
			j.ID = fmt.Sprintf("%016x", seq)
		}
		return putJob(tx, j)
	})
}

// nextDue returns the id of the oldest job due at now, or nil.
func nextDue(tx *bbolt.Tx, now int64) ([]byte, error) {
	c := tx.Bucket(bucketJobs).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		d, err := jobDue(k, v)
		if err != nil {
			return nil, err
		}
		if d <= now {
			return bytes.Clone(k), nil
		}
	}
	return nil, nil
}

// NextJob leases the oldest job due at now until `until`. It looks in a read transaction
// first, so that idle workers polling an empty queue cause no writes.
func (s *Store) NextJob(ctx context.Context, now, until time.Time) (reset.Job, error) {
	at := unixNano(now)
	err := s.view(ctx, "next job", func(tx *bbolt.Tx) error {
		id, err := nextDue(tx, at)
		if err == nil && id == nil {
			err = reset.ErrNoJob
		}
		return err
	})
	if err != nil {
		return reset.Job{}, err
	}
	var j reset.Job
	err = s.update(ctx, "next job", func(tx *bbolt.Tx) error {
		// Look again: another worker may have leased it in between.
		id, err := nextDue(tx, at)
		if err != nil {
			return err
		}
		if id == nil {
			return reset.ErrNoJob
		}
		if j, err = decodeJob(id, tx.Bucket(bucketJobs).Get(id)); err != nil {
			return err
		}
		j.LeasedUntil = until
		return putJob(tx, j)
	})
	if err != nil {
		return reset.Job{}, err
	}
	return j, nil
}

// AckJob deletes a finished job, or returns ErrJobNotFound.
func (s *Store) AckJob(ctx context.Context, id string) error {
	return s.deleteJob(ctx, "ack job", id)
}

// DropJob deletes a job whatever its state, or returns ErrJobNotFound.
func (s *Store) DropJob(ctx context.Context, id string) error {
	return s.deleteJob(ctx, "drop job", id)
}

func (s *Store) deleteJob(ctx context.Context, what, id string) error {
	return s.write(ctx, what, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		if b.Get([]byte(id)) == nil {
			return reset.ErrJobNotFound
		}
		return b.Delete([]byte(id))
	})
}

// RetryJob replaces the stored job j.ID with j, lease cleared, or returns ErrJobNotFound.
func (s *Store) RetryJob(ctx context.Context, j reset.Job) error {
	return s.write(ctx, "retry job", func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketJobs).Get([]byte(j.ID)) == nil {
			return reset.ErrJobNotFound
		}
		j.LeasedUntil = time.Time{}
		return putJob(tx, j)
	})
}

// Jobs lists every job, live and dead, in id (enqueue) order.
func (s *Store) Jobs(ctx context.Context) ([]reset.Job, error) {
	var js []reset.Job
	err := s.view(ctx, "list jobs", func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketJobs).ForEach(func(k, v []byte) error {
			j, err := decodeJob(k, v)
			js = append(js, j)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return js, nil
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
