// Package redis keeps resetgate's own state — reset tokens, rate-limit windows, the durable
// mail queue and shared secrets — in Redis (or Valkey), through github.com/redis/go-redis/v9.
// It implements [reset.Store] for several resetgate replicas that must share one state: a link
// mailed by one replica is completed on another, limits hold across all of them, and a job
// enqueued by one is mailed by whichever worker leases it first. A single node, Sentinel
// (failover) and Cluster all work, through go-redis' UniversalClient; see [Options].
//
// # Layout
//
// Every key starts with [Options.KeyPrefix] (P below, by default "resetgate:"):
//
//	P token:<id>      hash: user, email, fp, issued, expires, claimed, owner; expires by Redis at ExpiresAt
//	P user:<user id>  set of the user's token ids; expires with the user's token
//	P tokens          zset: token id scored by ExpiresAt, for Tokens, CountTokens and DeleteExpired
//	P limit:<key>     hash: end, count, r:<request id> per admitted event; one rate-limit window,
//	                  expiring shortly after it ends
//	P job:<id>        hash: kind, email, user, ofp, nfp, ip, created, attempts, nb, err, dead,
//	                  deadat, leased, owner
//	P queue:all       zset: every job id, live or dead, all scored 0 so that ids sort by name
//	P queue:ready     zset: the ids of jobs that are due, scored 0
//	P queue:delayed   zset: the ids of jobs waiting for NotBefore, scored by it
//	P queue:leased    zset: the ids of leased jobs, scored by the lease's end
//	P queue:dead      zset: the ids of dead jobs, scored by when they died, for DeleteDead
//	P lease:<owner>   string: the job a lease took, or "done" once RetryJob ended it; short-lived
//	P format          "2" once the key space is in this layout (Open migrates the first one)
//	P secret:<name>   string: the secret's bytes
//
// Times are stored as Unix milliseconds, so a [reset.Token] or [reset.Job] comes back to the
// millisecond (the conformance suite's precision), in UTC.
// Operations that check and then write (SaveToken, ClaimToken, Allow, the queue) are each one
// Lua script, atomic across every client of the server, and each safe to run twice (see
// scripts.go): go-redis resends a command whose connection dropped before the reply, and
// the cut-connection tests check that a resent Enqueue, ClaimToken, Allow or NextJob acts
// once.
//
// # Expiry by Redis' clock
//
// A token's key carries a Redis TTL (PEXPIREAT at ExpiresAt), so Redis deletes it by its own
// clock even if no resetgate ever sweeps; until then [Store.Token] returns it, expired or not,
// and [Store.ClaimToken] judges expiry by the `now` it is given, as the contract says. The
// index entries of evicted tokens are removed by [Store.DeleteExpired]. Rate-limit windows
// expire likewise, a minute after they end, which absorbs clock skew between the replicas and
// Redis. Keep the clocks in sync (NTP): a token is gone from Redis once Redis' clock passes
// its expiry, whatever the replicas' clocks say.
//
// # The queue
//
// The queue is not the LMOVE reliable-queue pattern (a pending list, a processing list and a
// reaper), because the contract asks for more than a list gives: NextJob must hand out the
// oldest job that is due, where a job is not due before its NotBefore (retry backoff) nor
// while leased, a lease that runs out must deliver the job again without a separate reaper,
// RetryJob must keep a job's place in line, and any job, dead ones included, must be listed
// and dropped by id (LREM is O(n)). Instead each job is a hash, and its id sits in one of four
// sorted sets: ready (every member scored 0, so Redis orders them by id, which is creation
// order), delayed (scored by NotBefore), leased (scored by the lease's end) or dead (scored by
// the time of death). NextJob is one script: it moves the delayed jobs due at now and the
// lapsed leases to ready, then leases the ready job with the lowest id by filing it under
// leased. Each job costs O(log n) per step, n being the queue's length, and dead jobs cost
// nothing. Stats counts with ZCARD and ZCOUNT, never listing a job; queue:all lists every
// job for operators.
//
// Jobs become due by the `now` of whichever replica asks: once one replica's clock has passed
// a job's due time, the job is ready for all of them. Fencing does not depend on clocks: a
// lease's owner is a nonce, and AckJob and RetryJob by any other owner fail with
// [reset.ErrLeaseLost].
//
// # Durability and failover
//
// A write is acknowledged once the Redis primary has applied it; what survives a crash of
// Redis is its configuration's business. With appendonly yes, Redis writes the AOF file
// before it replies, so a killed redis-server loses nothing it acknowledged (a test kills
// one); a machine crash loses up to the last second with appendfsync everysec, nothing with
// always. RDB snapshots alone lose everything since the last snapshot. Redis replicates
// asynchronously, so a Sentinel or Cluster failover may lose the writes that had not reached
// the promoted replica (a token then is "invalid", a request's mail is not sent). Secrets,
// jobs and tokens must never be evicted for memory: run with maxmemory-policy noeviction.
//
// # Cluster
//
// Scripts touch several keys, which Redis Cluster allows only within one hash slot. In
// Cluster mode the key prefix must therefore contain a hash tag, e.g. "{resetgate}:", which
// puts all of resetgate's keys in one slot (on one shard with its replicas); Open refuses a
// prefix without one. resetgate's state is small, so one slot is plenty.
package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"resetgate/reset"
)

// DefaultKeyPrefix starts every key when [Options.KeyPrefix] is empty.
const DefaultKeyPrefix = "resetgate:"

// DefaultOpenTimeout bounds Open's first ping when its context has no deadline, so that an
// unreachable server fails start-up instead of hanging it.
const DefaultOpenTimeout = 10 * time.Second

// limitGrace is how long a rate-limit window's key outlives the window's end, by Redis' clock:
// a replica whose clock runs behind Redis' still finds its window.
const limitGrace = time.Minute

var (
	// ErrCorrupt is returned when a stored record cannot be decoded. The error names the key;
	// the record is left as it is for an operator to inspect.
	ErrCorrupt = errors.New("corrupt record")
	// ErrNoHashTag is returned by Open in Cluster mode when the key prefix has no hash tag.
	ErrNoHashTag = errors.New(`no hash tag in the key prefix (Redis Cluster needs one, e.g. "{resetgate}:")`)
)

// Store is a [reset.Store] in Redis. It is safe for concurrent use, by any number of
// goroutines and replicas.
type Store struct {
	c      goredis.UniversalClient
	prefix string
	addr   string // for messages: host:port, socket path or addresses; never a password
}

var _ reset.Store = (*Store)(nil)

// Open connects to Redis as o says and pings it. If Redis does not answer, the error names
// the address (never the password); if ctx has no deadline, Open gives up after
// DefaultOpenTimeout.
func Open(ctx context.Context, o Options) (*Store, error) {
	prefix := o.KeyPrefix
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	c, addr, cluster, err := newClient(o)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	if cluster && !hasHashTag(prefix) {
		c.Close()
		return nil, fmt.Errorf("redis: cluster %s, key prefix %q: %w", addr, prefix, ErrNoHashTag)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultOpenTimeout)
		defer cancel()
	}
	if o.MasterName != "" {
		// The failover client retries unreachable Sentinels until the deadline and then
		// reports only that; ask them once, to say what is wrong.
		if err := probeSentinels(ctx, o); err != nil {
			c.Close()
			return nil, fmt.Errorf("redis: connect to %s: %w", addr, err)
		}
	}
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer in time: %w", err)
		}
		return nil, fmt.Errorf("redis: connect to %s: %w", addr, err)
	}
	if !cluster {
		// A single-node client against a Cluster node would fail later, key by key, with
		// MOVED; say so now. A server that refuses INFO is given the benefit of the doubt.
		if info, err := c.Info(ctx, "cluster").Result(); err == nil && infoField(info, "cluster_enabled") == "1" {
			c.Close()
			return nil, fmt.Errorf("redis: %s is a Redis Cluster node: give the cluster's addresses (or set Cluster) and a key prefix with a hash tag", addr)
		}
	}
	s := &Store{c: c, prefix: prefix, addr: addr}
	if err := s.migrate(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

// migrate files the dead jobs of a key space that the first release wrote (see
// migrateScript); on a key space in this layout it costs one GET.
func (s *Store) migrate(ctx context.Context) error {
	k := s.queueKeys()
	_, err := s.run(ctx, "migrate key space", migrateScript, []string{s.prefix + "format", k.all, k.dead},
		s.jobKey(""), ms(time.Now()))
	if err != nil {
		return fmt.Errorf("%w (at %s)", err, s.addr)
	}
	return nil
}

// KeyPrefix returns the prefix of every key of the store.
func (s *Store) KeyPrefix() string { return s.prefix }

// Close closes the connections. It must be called once, after every other call has returned.
func (s *Store) Close() error {
	if err := s.c.Close(); err != nil {
		return fmt.Errorf("redis: close %s: %w", s.addr, err)
	}
	return nil
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping %s: %w", s.addr, err)
	}
	return nil
}

// Keys.

func (s *Store) tokenKey(id string) string    { return s.prefix + "token:" + id }
func (s *Store) userKey(user string) string   { return s.prefix + "user:" + user }
func (s *Store) tokensKey() string            { return s.prefix + "tokens" }
func (s *Store) codeKey(codeID string) string { return s.prefix + "code:" + codeID }
func (s *Store) limitKey(key string) string   { return s.prefix + "limit:" + key }
func (s *Store) jobKey(id string) string      { return s.prefix + "job:" + id }
func (s *Store) secretKey(name string) string { return s.prefix + "secret:" + name }

func (s *Store) leaseKey(owner string) string { return s.prefix + "lease:" + owner }

// queue names the queue's sorted sets.
type queue struct{ all, ready, delayed, leased, dead string }

func (s *Store) queueKeys() queue {
	p := s.prefix + "queue:"
	return queue{p + "all", p + "ready", p + "delayed", p + "leased", p + "dead"}
}

// nonce returns a fresh owner for a claim or a lease, or a request id for Allow.
func nonce() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// run runs a script unless ctx is already done; errors are wrapped with what was being done.
func (s *Store) run(ctx context.Context, what string, script *goredis.Script, keys []string, args ...any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	v, err := script.Run(ctx, s.c, keys, args...).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	return v, nil
}

// Times.

// ms encodes t for storage and scripts: Unix milliseconds.
func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// putTime appends name and t to a field list unless t is zero, which is stored as absence.
func putTime(fields []any, name string, t time.Time) []any {
	if t.IsZero() {
		return fields
	}
	return append(fields, name, ms(t))
}

// record is a stored hash being decoded; the first bad field is kept in err.
type record struct {
	key string
	m   map[string]string
	err error
}

func (r *record) time(name string) time.Time {
	v, ok := r.m[name]
	if !ok {
		return time.Time{}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		r.fail(name, v)
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

func (r *record) int(name string) int {
	v, ok := r.m[name]
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(name, v)
	}
	return n
}

func (r *record) fail(name, v string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s: field %s = %q", ErrCorrupt, r.key, name, v)
	}
}

// fieldMap turns a script's flat field/value reply into a map.
func fieldMap(key string, v []any) (map[string]string, error) {
	if len(v)%2 != 0 {
		return nil, fmt.Errorf("%w: %s: odd field list", ErrCorrupt, key)
	}
	m := make(map[string]string, len(v)/2)
	for i := 0; i < len(v); i += 2 {
		name, ok1 := v[i].(string)
		value, ok2 := v[i+1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: %s: field %v is not a string", ErrCorrupt, key, v[i])
		}
		m[name] = value
	}
	return m, nil
}

// Secrets.

// Secret returns the named secret, creating size random bytes on first use (SET NX, so that
// of replicas starting together, all end up with the first one's bytes). Asking for an
// existing secret with another size is an error rather than a silently different key. The
// caller owns the returned slice.
func (s *Store) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	what := "secret " + name
	if size <= 0 {
		return nil, fmt.Errorf("redis: %s: size %d is not positive", what, size)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	key := s.secretKey(name)
	fresh := make([]byte, size)
	rand.Read(fresh)
	created, err := s.c.SetNX(ctx, key, fresh, 0).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	if created {
		return fresh, nil
	}
	stored, err := s.c.Get(ctx, key).Bytes()
	if err != nil {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	if len(stored) != size {
		return nil, fmt.Errorf("redis: %s: stored secret has %d bytes, not %d", what, len(stored), size)
	}
	return stored, nil
}
