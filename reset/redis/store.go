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
//	P token:<id>      hash: user, email, fp, issued, expires, claimed; expires by Redis at ExpiresAt
//	P user:<user id>  set of the user's token ids; expires with the user's token
//	P tokens          zset: token id scored by ExpiresAt, for Tokens and DeleteExpired
//	P limit:<key>     hash: end, count; one rate-limit window, expiring shortly after it ends
//	P job:<id>        hash: kind, email, user, ip, created, attempts, nb, err, dead, leased
//	P queue:all       zset: every job id, live or dead, all scored 0 so that ids sort by name
//	P queue:ready     zset: the ids of jobs that are due, scored 0
//	P queue:delayed   zset: the ids of jobs that wait for NotBefore or a lease, scored by due time
//	P queue:seq       counter behind generated job ids
//	P secret:<name>   string: the secret's bytes
//
// Times are stored as Unix milliseconds, so a [reset.Token] or [reset.Job] comes back to the
// millisecond (the conformance suite's precision), in UTC.
// Operations that check and then write (SaveToken, ClaimToken, Allow, the queue) are each one
// Lua script, atomic across every client of the server.
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
// and dropped by id (LREM is O(n)). Instead each job is a hash, and its id sits in one of two
// sorted sets: ready (every member scored 0, so Redis orders them by id, which is enqueue
// order) or delayed (scored by when it is next due). NextJob is one script: it moves the
// delayed jobs due at now to ready, then leases the ready job with the lowest id by putting
// it back under delayed, scored by its lease's end. Each job costs O(log n) per step, n
// being the queue's length. A dead job is in neither set, only in queue:all, which lists every job. Generated
// ids are an INCR counter in 16 hex digits, so they sort in enqueue order across replicas and
// restarts.
//
// Jobs become due by the `now` of whichever replica asks: once one replica's clock has passed
// a job's due time, the job is ready for all of them.
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
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
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

// Options configure Open. Give either URL or Addrs.
type Options struct {
	// URL addresses a single node: redis://[user:password@]host:port/db, rediss://… for TLS,
	// or unix://[user:password@]/path/to/socket?db=N. Query parameters set go-redis options
	// (e.g. ?dial_timeout=3s); see go-redis' ParseURL.
	URL string
	// Addrs are, instead of URL: the Sentinel addresses when MasterName is set, else the
	// seed nodes of a Cluster when there are several (or Cluster is set), else one node.
	Addrs []string
	// MasterName names the Sentinel-monitored primary, and selects Sentinel (failover) mode.
	MasterName string
	// Cluster selects Cluster mode with a single seed address, such as a managed service's
	// configuration endpoint.
	Cluster bool

	// Username and Password authenticate to Redis; when set, they override those in URL, so
	// that the password can come from a secret file rather than the URL.
	Username, Password string
	// SentinelUsername and SentinelPassword authenticate to the Sentinels, when they
	// require it.
	SentinelUsername, SentinelPassword string
	// DB selects the database (not in Cluster mode). With URL, a nonzero DB overrides the
	// URL's.
	DB int
	// TLS, when set, encrypts connections with this configuration (with URL, overriding
	// the one rediss:// implies).
	TLS *tls.Config

	// KeyPrefix starts every key; empty means DefaultKeyPrefix. Replicas sharing state use
	// the same prefix; different prefixes keep deployments (or tests) apart in one database.
	// In Cluster mode it must contain a hash tag, e.g. "{resetgate}:" (see the package doc).
	KeyPrefix string

	// DialTimeout, ReadTimeout and WriteTimeout bound connecting, reading and writing; zero
	// means go-redis' defaults (5 s for dialing and reads, writes as reads). A context's
	// deadline also bounds every call.
	DialTimeout, ReadTimeout, WriteTimeout time.Duration
	// PoolSize is the number of connections per node; zero means go-redis' default (10 per
	// CPU).
	PoolSize int
}

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
	return &Store{c: c, prefix: prefix, addr: addr}, nil
}

// newClient makes the go-redis client for o without connecting, and describes its address.
func newClient(o Options) (c goredis.UniversalClient, addr string, cluster bool, err error) {
	switch {
	case o.URL != "" && len(o.Addrs) > 0:
		return nil, "", false, errors.New("give either a URL or addresses, not both")
	case o.URL != "":
		opt, err := parseURL(o.URL)
		if err != nil {
			return nil, "", false, err
		}
		if o.Username != "" {
			opt.Username = o.Username
		}
		if o.Password != "" {
			opt.Password = o.Password
		}
		if o.DB != 0 {
			opt.DB = o.DB
		}
		if o.TLS != nil {
			opt.TLSConfig = o.TLS
		}
		if o.DialTimeout != 0 {
			opt.DialTimeout = o.DialTimeout
		}
		if o.ReadTimeout != 0 {
			opt.ReadTimeout = o.ReadTimeout
		}
		if o.WriteTimeout != 0 {
			opt.WriteTimeout = o.WriteTimeout
		}
		if o.PoolSize != 0 {
			opt.PoolSize = o.PoolSize
		}
		opt.ContextTimeoutEnabled = true
		return goredis.NewClient(opt), opt.Addr, false, nil
	case len(o.Addrs) == 0:
		return nil, "", false, errors.New("no URL and no addresses")
	}
	uo := &goredis.UniversalOptions{
		Addrs:                 o.Addrs,
		MasterName:            o.MasterName,
		IsClusterMode:         o.Cluster,
		Username:              o.Username,
		Password:              o.Password,
		SentinelUsername:      o.SentinelUsername,
		SentinelPassword:      o.SentinelPassword,
		DB:                    o.DB,
		TLSConfig:             o.TLS,
		DialTimeout:           o.DialTimeout,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          o.WriteTimeout,
		PoolSize:              o.PoolSize,
		ContextTimeoutEnabled: true,
	}
	addr = strings.Join(o.Addrs, ",")
	switch {
	case o.MasterName != "":
		addr = fmt.Sprintf("primary %q via sentinels %s", o.MasterName, addr)
	case o.Cluster || len(o.Addrs) > 1:
		cluster = true
	}
	return goredis.NewUniversalClient(uo), addr, cluster, nil
}

// probeSentinels asks each Sentinel in turn for the address of o.MasterName, once each, and
// returns nil at the first answer, else every Sentinel's error.
func probeSentinels(ctx context.Context, o Options) error {
	var errs []error
	for _, a := range o.Addrs {
		sc := goredis.NewSentinelClient(&goredis.Options{
			Addr: a, Username: o.SentinelUsername, Password: o.SentinelPassword, TLSConfig: o.TLS,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			MaxRetries: -1, DialerRetries: 1, ContextTimeoutEnabled: true,
		})
		_, err := sc.GetMasterAddrByName(ctx, o.MasterName).Result()
		sc.Close()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, goredis.Nil):
			err = fmt.Errorf("sentinel %s: monitors no primary named %q", a, o.MasterName)
		default:
			err = fmt.Errorf("sentinel %s: %w", a, err)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// parseURL is goredis.ParseURL without the URL in its errors: net/url quotes the whole
// string, password included.
func parseURL(raw string) (*goredis.Options, error) {
	if _, err := url.Parse(raw); err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid URL: %w", err)
	}
	opt, err := goredis.ParseURL(raw)
	if err != nil {
		// go-redis' messages name neither the password nor the host; drop their "redis: ".
		return nil, fmt.Errorf("invalid URL: %s", strings.TrimPrefix(err.Error(), "redis: "))
	}
	return opt, nil
}

// hasHashTag reports whether every key starting with prefix hashes by a tag within prefix:
// Redis hashes the part between the first "{" and the next "}" when it is not empty.
func hasHashTag(prefix string) bool {
	i := strings.IndexByte(prefix, '{')
	if i < 0 {
		return false
	}
	j := strings.IndexByte(prefix[i+1:], '}')
	return j > 0
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

// Info returns the server's version, e.g. "7.2.4", or "valkey 8.0.1" for Valkey (which also
// reports a Redis-compatible redis_version), for `resetgate check`.
func (s *Store) Info(ctx context.Context) (version string, err error) {
	info, err := s.c.Info(ctx, "server").Result()
	if err != nil {
		return "", fmt.Errorf("redis: info %s: %w", s.addr, err)
	}
	if v := infoField(info, "valkey_version"); v != "" {
		return "valkey " + v, nil
	}
	if v := infoField(info, "redis_version"); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("redis: info %s: no redis_version in the reply", s.addr)
}

// Warnings returns what, in the server's configuration, puts resetgate's state at risk, each
// a sentence for `resetgate check`: a maxmemory-policy other than noeviction, under which
// Redis may drop tokens, queued mail and the shared secrets to free memory, and persistence
// without the append-only file. None means the configuration is as the package doc asks.
func (s *Store) Warnings(ctx context.Context) ([]string, error) {
	info, err := s.c.Info(ctx, "memory", "persistence").Result()
	if err != nil {
		return nil, fmt.Errorf("redis: info %s: %w", s.addr, err)
	}
	var warnings []string
	if p := infoField(info, "maxmemory_policy"); p != "" && p != "noeviction" {
		warnings = append(warnings, fmt.Sprintf("maxmemory-policy is %s, not noeviction: under memory pressure Redis may evict tokens, queued mail and the session secret", p))
	}
	if infoField(info, "aof_enabled") == "0" {
		warnings = append(warnings, "appendonly is off: a restart of Redis loses every write since its last snapshot, queued mail included (set appendonly yes, appendfsync everysec)")
	}
	return warnings, nil
}

// infoField returns a field of an INFO reply ("name:value" lines), or "".
func infoField(info, name string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// Keys.

func (s *Store) tokenKey(id string) string    { return s.prefix + "token:" + id }
func (s *Store) userKey(user string) string   { return s.prefix + "user:" + user }
func (s *Store) tokensKey() string            { return s.prefix + "tokens" }
func (s *Store) limitKey(key string) string   { return s.prefix + "limit:" + key }
func (s *Store) jobKey(id string) string      { return s.prefix + "job:" + id }
func (s *Store) secretKey(name string) string { return s.prefix + "secret:" + name }

func (s *Store) queueKeys() (all, ready, delayed string) {
	return s.prefix + "queue:all", s.prefix + "queue:ready", s.prefix + "queue:delayed"
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

// Tokens.

func tokenFields(t reset.Token) []any {
	f := []any{"user", t.UserID, "email", t.Email, "fp", t.Fingerprint}
	f = putTime(f, "issued", t.IssuedAt)
	f = putTime(f, "expires", t.ExpiresAt)
	return putTime(f, "claimed", t.ClaimedUntil)
}

func decodeToken(key, id string, m map[string]string) (reset.Token, error) {
	r := record{key: key, m: m}
	t := reset.Token{
		ID: id, UserID: m["user"], Email: m["email"], Fingerprint: m["fp"],
		IssuedAt: r.time("issued"), ExpiresAt: r.time("expires"), ClaimedUntil: r.time("claimed"),
	}
	if _, ok := m["user"]; !ok {
		r.fail("user", "")
	}
	return t, r.err
}

// SaveToken stores t, to expire by Redis' clock at t.ExpiresAt, and deletes every other token
// of t.UserID, in one script.
func (s *Store) SaveToken(ctx context.Context, t reset.Token) error {
	args := append([]any{s.tokenKey(""), s.userKey(""), t.ID, t.UserID, ms(t.ExpiresAt)}, tokenFields(t)...)
	_, err := s.run(ctx, "save token", saveTokenScript,
		[]string{s.tokenKey(t.ID), s.userKey(t.UserID), s.tokensKey()}, args...)
	return err
}

// Token returns the token with the given id, or an error wrapping ErrTokenNotFound. An
// expired token is returned until Redis evicts it, at its expiry by Redis' clock.
func (s *Store) Token(ctx context.Context, id string) (reset.Token, error) {
	if err := ctx.Err(); err != nil {
		return reset.Token{}, fmt.Errorf("redis: read token: %w", err)
	}
	key := s.tokenKey(id)
	m, err := s.c.HGetAll(ctx, key).Result()
	if err != nil {
		return reset.Token{}, fmt.Errorf("redis: read token: %w", err)
	}
	if len(m) == 0 {
		return reset.Token{}, fmt.Errorf("redis: read token: %w", reset.ErrTokenNotFound)
	}
	t, err := decodeToken(key, id, m)
	if err != nil {
		return reset.Token{}, fmt.Errorf("redis: read token: %w", err)
	}
	return t, nil
}

// ClaimToken marks the token claimed until `until` if, at now, it exists, has not expired and
// is not claimed; check and set are one script, so of concurrent claims from any number of
// replicas exactly one wins (SECURITY.md RQ-TOK-03).
func (s *Store) ClaimToken(ctx context.Context, id string, now, until time.Time) (reset.Token, error) {
	const what = "claim token"
	key := s.tokenKey(id)
	v, err := s.run(ctx, what, claimTokenScript, []string{key}, ms(now), ms(until))
	if err != nil {
		return reset.Token{}, err
	}
	reply, ok := v.([]any)
	if !ok || len(reply) == 0 {
		return reset.Token{}, fmt.Errorf("redis: %s: unexpected reply %v", what, v)
	}
	switch status, _ := reply[0].(int64); status {
	case claimOK:
	case claimNotFound:
		return reset.Token{}, fmt.Errorf("redis: %s: %w", what, reset.ErrTokenNotFound)
	case claimTaken:
		return reset.Token{}, fmt.Errorf("redis: %s: %w", what, reset.ErrTokenClaimed)
	default:
		return reset.Token{}, fmt.Errorf("redis: %s: unexpected reply %v", what, v)
	}
	m, err := fieldMap(key, reply[1:])
	if err == nil {
		var t reset.Token
		if t, err = decodeToken(key, id, m); err == nil {
			return t, nil
		}
	}
	return reset.Token{}, fmt.Errorf("redis: %s: %w", what, err)
}

// ReleaseToken clears the token's claim. A token that is gone is not an error.
func (s *Store) ReleaseToken(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redis: release token: %w", err)
	}
	// HDEL of a missing key or field changes nothing and creates nothing.
	if err := s.c.HDel(ctx, s.tokenKey(id), "claimed").Err(); err != nil {
		return fmt.Errorf("redis: release token: %w", err)
	}
	return nil
}

// DeleteUserTokens deletes every token of the account and returns how many were stored.
func (s *Store) DeleteUserTokens(ctx context.Context, userID string) (int, error) {
	v, err := s.run(ctx, "delete user tokens", deleteUserTokensScript,
		[]string{s.userKey(userID), s.tokensKey()}, s.tokenKey(""))
	if err != nil {
		return 0, err
	}
	n, _ := v.(int64)
	return int(n), nil
}

// Tokens lists every stored token, oldest (by IssuedAt) first. It is meant for operators:
// it reads the tokens one by one (pipelined), so a token saved or deleted meanwhile may or
// may not be listed.
func (s *Store) Tokens(ctx context.Context) ([]reset.Token, error) {
	const what = "list tokens"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	ids, err := s.c.ZRange(ctx, s.tokensKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	maps, err := s.hashes(ctx, ids, s.tokenKey)
	if err != nil {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	var ts []reset.Token
	for i, m := range maps {
		if len(m) == 0 {
			continue // evicted by its TTL, not yet swept from the index
		}
		t, err := decodeToken(s.tokenKey(ids[i]), ids[i], m)
		if err != nil {
			return nil, fmt.Errorf("redis: %s: %w", what, err)
		}
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b reset.Token) int {
		if c := a.IssuedAt.Compare(b.IssuedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ts, nil
}

// hashes reads the hash of each id in one pipeline; a missing hash is an empty map.
func (s *Store) hashes(ctx context.Context, ids []string, key func(string) string) ([]map[string]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*goredis.MapStringStringCmd, len(ids))
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, key(id))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	maps := make([]map[string]string, len(ids))
	for i, c := range cmds {
		maps[i] = c.Val()
	}
	return maps, nil
}

// DeleteExpired deletes the tokens that expired at or before now and returns how many were
// still stored (Redis evicts expired tokens by itself, so this is often zero); it also
// clears the index entries of evicted ones. Rate-limit windows need no sweep: they expire.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	v, err := s.run(ctx, "delete expired", deleteExpiredScript,
		[]string{s.tokensKey()}, s.tokenKey(""), s.userKey(""), ms(now))
	if err != nil {
		return 0, err
	}
	n, _ := v.(int64)
	return int(n), nil
}

// Rate limits.

// Allow counts one event against key and reports whether at most n happened in the current
// window. A window starts with the first event after the previous one ended and lasts win,
// as in reset/bolt, so that both backends limit alike and no window boundary lets a burst of
// 2n through. Check and count are one script: the limit holds across replicas.
func (s *Store) Allow(ctx context.Context, key string, n int, win time.Duration, now time.Time) (bool, time.Duration, error) {
	const what = "allow"
	if win < time.Millisecond {
		return false, 0, fmt.Errorf("redis: %s %q: window %v is shorter than a millisecond", what, key, win)
	}
	v, err := s.run(ctx, what, allowScript, []string{s.limitKey(key)},
		ms(now), ms(now.Add(win)), n, limitGrace.Milliseconds())
	if err != nil {
		return false, 0, err
	}
	reply, _ := v.([]any)
	if len(reply) != 2 {
		return false, 0, fmt.Errorf("redis: %s: unexpected reply %v", what, v)
	}
	ok, _ := reply[0].(int64)
	retry, _ := reply[1].(int64)
	return ok == 1, time.Duration(retry) * time.Millisecond, nil
}

// Jobs.

func jobFields(j reset.Job) []any {
	f := []any{"kind", string(j.Kind)}
	for _, kv := range [][2]string{{"email", j.Email}, {"user", j.UserID}, {"ip", j.ClientIP}, {"err", j.LastError}} {
		if kv[1] != "" {
			f = append(f, kv[0], kv[1])
		}
	}
	f = putTime(f, "created", j.CreatedAt)
	if j.Attempts != 0 {
		f = append(f, "attempts", strconv.Itoa(j.Attempts))
	}
	f = putTime(f, "nb", j.NotBefore)
	if j.Dead {
		f = append(f, "dead", "1")
	}
	return putTime(f, "leased", j.LeasedUntil)
}

func decodeJob(key, id string, m map[string]string) (reset.Job, error) {
	r := record{key: key, m: m}
	j := reset.Job{
		ID: id, Kind: reset.JobKind(m["kind"]), Email: m["email"], UserID: m["user"], ClientIP: m["ip"],
		CreatedAt: r.time("created"), Attempts: r.int("attempts"), NotBefore: r.time("nb"),
		LastError: m["err"], LeasedUntil: r.time("leased"),
	}
	switch d := m["dead"]; d {
	case "":
	case "1":
		j.Dead = true
	default:
		r.fail("dead", d)
	}
	if _, ok := m["kind"]; !ok {
		r.fail("kind", "")
	}
	return j, r.err
}

// placement says where putJobScript files j: "dead" (in no queue), "ready", or the time it
// becomes due (the later of NotBefore and its lease) for the delayed set.
func placement(j reset.Job) string {
	due := j.NotBefore
	if j.LeasedUntil.After(due) {
		due = j.LeasedUntil
	}
	switch {
	case j.Dead:
		return "dead"
	case due.IsZero():
		return "ready"
	}
	return ms(due)
}

func (s *Store) putJob(ctx context.Context, what string, j reset.Job, mustExist bool) (string, error) {
	all, ready, delayed := s.queueKeys()
	exist := ""
	if mustExist {
		exist = "1"
	}
	args := append([]any{s.jobKey(""), j.ID, exist, placement(j)}, jobFields(j)...)
	v, err := s.run(ctx, what, putJobScript, []string{s.prefix + "queue:seq", all, ready, delayed}, args...)
	if err != nil {
		return "", err
	}
	if v == nil {
		return "", fmt.Errorf("redis: %s %q: %w", what, j.ID, reset.ErrJobNotFound)
	}
	id, _ := v.(string)
	return id, nil
}

// Enqueue stores j once the Redis primary has it (see the package doc on durability). An
// empty j.ID becomes the next value of a shared counter in 16 hex digits, so ids sort in
// enqueue order across replicas.
func (s *Store) Enqueue(ctx context.Context, j reset.Job) error {
	_, err := s.putJob(ctx, "enqueue job", j, false)
	return err
}

// NextJob leases the oldest job due at now until `until`, or returns an error wrapping
// ErrNoJob; of concurrent callers on any replicas, each job goes to one.
func (s *Store) NextJob(ctx context.Context, now, until time.Time) (reset.Job, error) {
	const what = "next job"
	_, ready, delayed := s.queueKeys()
	v, err := s.run(ctx, what, nextJobScript, []string{ready, delayed}, s.jobKey(""), ms(now), ms(until))
	if err != nil {
		return reset.Job{}, err
	}
	if v == nil {
		return reset.Job{}, fmt.Errorf("redis: %s: %w", what, reset.ErrNoJob)
	}
	reply, _ := v.([]any)
	if len(reply) == 0 {
		return reset.Job{}, fmt.Errorf("redis: %s: unexpected reply %v", what, v)
	}
	id, _ := reply[0].(string)
	key := s.jobKey(id)
	m, err := fieldMap(key, reply[1:])
	if err == nil {
		var j reset.Job
		if j, err = decodeJob(key, id, m); err == nil {
			return j, nil
		}
	}
	return reset.Job{}, fmt.Errorf("redis: %s: %w", what, err)
}

// AckJob deletes a finished job, or returns an error wrapping ErrJobNotFound.
func (s *Store) AckJob(ctx context.Context, id string) error {
	return s.deleteJob(ctx, "ack job", id)
}

// DropJob deletes a job whatever its state, or returns an error wrapping ErrJobNotFound.
func (s *Store) DropJob(ctx context.Context, id string) error {
	return s.deleteJob(ctx, "drop job", id)
}

func (s *Store) deleteJob(ctx context.Context, what, id string) error {
	all, ready, delayed := s.queueKeys()
	v, err := s.run(ctx, what, deleteJobScript, []string{s.jobKey(id), all, ready, delayed}, id)
	if err != nil {
		return err
	}
	if n, _ := v.(int64); n == 0 {
		return fmt.Errorf("redis: %s %q: %w", what, id, reset.ErrJobNotFound)
	}
	return nil
}

// RetryJob replaces the stored job j.ID with j, lease cleared, or returns an error wrapping
// ErrJobNotFound. The job keeps its place in line: ready jobs are ordered by id.
func (s *Store) RetryJob(ctx context.Context, j reset.Job) error {
	j.LeasedUntil = time.Time{}
	_, err := s.putJob(ctx, "retry job", j, true)
	return err
}

// Jobs lists every job, live and dead, in id (enqueue) order. Like Tokens it is meant for
// operators and reads the jobs pipelined, not as one snapshot.
func (s *Store) Jobs(ctx context.Context) ([]reset.Job, error) {
	const what = "list jobs"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	all, _, _ := s.queueKeys()
	ids, err := s.c.ZRange(ctx, all, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	maps, err := s.hashes(ctx, ids, s.jobKey)
	if err != nil {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	var js []reset.Job
	for i, m := range maps {
		if len(m) == 0 {
			continue // acked or dropped since the ids were read
		}
		j, err := decodeJob(s.jobKey(ids[i]), ids[i], m)
		if err != nil {
			return nil, fmt.Errorf("redis: %s: %w", what, err)
		}
		js = append(js, j)
	}
	return js, nil
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
