package redis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"resetgate/internal/testenv"
	"resetgate/reset"
	"resetgate/reset/redis"
	"resetgate/reset/resettest"
)

// newPrefix returns a key prefix no other test uses, and deletes its keys when the test ends.
func newPrefix(t testing.TB, addr string) string {
	t.Helper()
	prefix := testenv.Name("rgtest_") + ":"
	t.Cleanup(func() { deleteKeys(t, addr, prefix) })
	return prefix
}

// deleteKeys deletes every key under prefix, with a connection of its own: the stores are
// closed by then.
func deleteKeys(t testing.TB, addr, prefix string) {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keys, err := scanKeys(ctx, c, prefix)
	if err == nil && len(keys) > 0 {
		err = c.Del(ctx, keys...).Err()
	}
	if err != nil {
		t.Errorf("delete the keys under %q: %v", prefix, err)
	}
}

// scanKeys lists the keys under prefix.
func scanKeys(ctx context.Context, c goredis.UniversalClient, prefix string) ([]string, error) {
	var keys []string
	iter := c.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	return keys, iter.Err()
}

// globEscape quotes the characters that SCAN MATCH treats as a pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// rawClient is a plain connection to the test Redis, for looking behind a store's back.
func rawClient(t testing.TB, addr string) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// openStore opens a store for the conformance suite, which closes it itself.
func openStore(t *testing.T, o redis.Options) reset.Store {
	t.Helper()
	s, err := redis.Open(t.Context(), o)
	if err != nil {
		t.Fatalf("Open(%+v) = %v, want nil", o, err)
	}
	return s
}

// mustOpen opens a store on the test Redis under prefix and closes it when the test ends.
func mustOpen(t testing.TB, addr, prefix string) *redis.Store {
	t.Helper()
	s, err := redis.Open(context.Background(), redis.Options{Addrs: []string{addr}, KeyPrefix: prefix})
	if err != nil {
		t.Fatalf("Open(%s, %q) = %v, want nil", addr, prefix, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v, want nil", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	addr := testenv.Redis(t)
	resettest.TestStore(t, resettest.Factory{
		Open: func(t *testing.T) reset.Store {
			return openStore(t, redis.Options{URL: "redis://" + addr + "/0", KeyPrefix: newPrefix(t, addr)})
		},
		Reopen: func(t *testing.T, closed reset.Store) reset.Store {
			return openStore(t, redis.Options{URL: "redis://" + addr + "/0", KeyPrefix: closed.(*redis.Store).KeyPrefix()})
		},
		WallClockExpiry: true,
	})
}

// now returns the wall clock to the millisecond, the store's precision. Redis expires keys
// by its own clock, so tests that save tokens start from the real time.
func now() time.Time { return time.Now().Truncate(time.Millisecond) }

func newToken(userID string, issued time.Time, ttl time.Duration) reset.Token {
	_, id := reset.NewToken()
	return reset.Token{
		ID: id, UserID: userID, Email: userID + "@example.com",
		IssuedAt: issued, ExpiresAt: issued.Add(ttl),
	}
}

func mustSaveToken(t *testing.T, s reset.Store, tok reset.Token) {
	t.Helper()
	if err := s.SaveToken(t.Context(), tok); err != nil {
		t.Fatalf("SaveToken(%q) = %v, want nil", tok.ID, err)
	}
}

// waitFor polls cond every 50 ms until it holds or limit passes, and fails the test then.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("still waiting for %s after %v", what, limit)
		}
	}
}

// TestExpiryUsesRedisTTL checks what Redis itself holds: the token and the user's index
// expire at ExpiresAt by Redis' clock, a rate-limit window shortly after it ends, and the
// expiry index is swept by DeleteExpired once Redis has evicted the token.
func TestExpiryUsesRedisTTL(t *testing.T) {
	addr := testenv.Redis(t)
	prefix := newPrefix(t, addr)
	s := mustOpen(t, addr, prefix)
	raw := rawClient(t, addr)
	ctx := t.Context()

	long := newToken("long", now(), time.Hour)
	mustSaveToken(t, s, long)
	for _, key := range []string{prefix + "token:" + long.ID, prefix + "user:long"} {
		got, err := raw.PExpireTime(ctx, key).Result()
		if err != nil {
			t.Fatalf("PEXPIRETIME %s = %v", key, err)
		}
		if want := time.Duration(long.ExpiresAt.UnixMilli()) * time.Millisecond; got != want {
			t.Errorf("PEXPIRETIME %s = %v, want %v (the token's ExpiresAt)", key, got, want)
		}
	}

	if _, _, err := s.Allow(ctx, "k", 3, time.Minute, now()); err != nil {
		t.Fatalf("Allow() = %v, want nil", err)
	}
	if ttl, err := raw.PTTL(ctx, prefix+"limit:k").Result(); err != nil || ttl <= time.Minute || ttl > 2*time.Minute {
		t.Errorf("PTTL of a one-minute window = %v, %v; want just over a minute", ttl, err)
	}

	short := newToken("short", now(), 500*time.Millisecond)
	mustSaveToken(t, s, short)
	waitFor(t, 30*time.Second, "Redis to evict the token and its index", func() (bool, error) {
		n, err := raw.Exists(ctx, prefix+"token:"+short.ID, prefix+"user:short").Result()
		return n == 0, err
	})
	if _, err := s.Token(ctx, short.ID); !errors.Is(err, reset.ErrTokenNotFound) {
		t.Errorf("Token(%q) after eviction = %v, want %v", short.ID, err, reset.ErrTokenNotFound)
	}
	// Evicted tokens are not listed, though the expiry index still names them until the sweep.
	if ts, err := s.Tokens(ctx); err != nil || len(ts) != 1 || ts[0].ID != long.ID {
		t.Errorf("Tokens() = %+v, %v, want only %q", ts, err, long.ID)
	}
	if n, err := s.DeleteExpired(ctx, now()); err != nil || n != 0 {
		t.Errorf("DeleteExpired() = %d, %v, want 0 (Redis had evicted it), nil", n, err)
	}
	if ids, err := raw.ZRange(ctx, prefix+"tokens", 0, -1).Result(); err != nil || len(ids) != 1 || ids[0] != long.ID {
		t.Errorf("expiry index after the sweep = %q, %v, want only %q", ids, err, long.ID)
	}
}

// replicas opens n stores sharing one key prefix, as n resetgate processes would, each with
// its own connections, configured in the ways an operator may write it.
func replicas(t *testing.T, n int) []*redis.Store {
	t.Helper()
	addr := testenv.Redis(t)
	prefix := newPrefix(t, addr)
	ss := make([]*redis.Store, n)
	for i := range ss {
		o := redis.Options{Addrs: []string{addr}, KeyPrefix: prefix}
		if i%2 == 1 {
			o = redis.Options{URL: "redis://" + addr, KeyPrefix: prefix}
		}
		s, err := redis.Open(t.Context(), o)
		if err != nil {
			t.Fatalf("Open(%+v) = %v, want nil", o, err)
		}
		t.Cleanup(func() { s.Close() })
		ss[i] = s
	}
	return ss
}

func TestReplicasShareTokens(t *testing.T) {
	rs := replicas(t, 3)
	at := now()
	tok := newToken("u1", at, time.Hour)
	mustSaveToken(t, rs[0], tok)
	if got, err := rs[1].Token(t.Context(), tok.ID); err != nil || got.UserID != "u1" {
		t.Fatalf("Token(%q) on another replica = %+v, %v, want the token", tok.ID, got, err)
	}

	// A newer link requested through another replica voids this one everywhere.
	newer := newToken("u1", at.Add(time.Second), time.Hour)
	mustSaveToken(t, rs[2], newer)
	if _, err := rs[0].Token(t.Context(), tok.ID); !errors.Is(err, reset.ErrTokenNotFound) {
		t.Errorf("Token(%q) after a newer link on another replica = %v, want %v", tok.ID, err, reset.ErrTokenNotFound)
	}

	const n = 20
	until := at.Add(time.Minute)
	errs := make([]error, n)
	resettest.Concurrently(n, func(i int) {
		_, errs[i] = rs[i%len(rs)].ClaimToken(t.Context(), newer.ID, at, until)
	})
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, reset.ErrTokenClaimed):
			t.Errorf("ClaimToken #%d on replica %d = %v, want nil or %v", i, i%len(rs), err, reset.ErrTokenClaimed)
		}
	}
	if wins != 1 {
		t.Errorf("%d claims spread over %d replicas: %d succeeded, want exactly 1", n, len(rs), wins)
	}

	// The winner's replica fails to write the password and releases; another completes.
	if err := rs[1].ReleaseToken(t.Context(), newer.ID); err != nil {
		t.Fatalf("ReleaseToken(%q) = %v, want nil", newer.ID, err)
	}
	if _, err := rs[2].ClaimToken(t.Context(), newer.ID, at, until); err != nil {
		t.Errorf("ClaimToken(%q) after release on another replica = %v, want nil", newer.ID, err)
	}
	if n, err := rs[0].DeleteUserTokens(t.Context(), "u1"); err != nil || n != 1 {
		t.Errorf("DeleteUserTokens(%q) = %d, %v, want 1, nil", "u1", n, err)
	}
}

func TestReplicasShareLimits(t *testing.T) {
	rs := replicas(t, 3)
	at := now()
	const callers, limit = 30, 5
	oks := make([]bool, callers)
	errs := make([]error, callers)
	resettest.Concurrently(callers, func(i int) {
		oks[i], _, errs[i] = rs[i%len(rs)].Allow(t.Context(), "req-email:a@example.com", limit, time.Hour, at)
	})
	allowed := 0
	for i := range callers {
		if errs[i] != nil {
			t.Errorf("Allow #%d = %v, want nil", i, errs[i])
		}
		if oks[i] {
			allowed++
		}
	}
	if allowed != limit {
		t.Errorf("%d Allow(n=%d) calls over %d replicas: %d allowed, want %d", callers, limit, len(rs), allowed, limit)
	}
	// Every replica agrees on when the window ends.
	var ends []time.Time
	for _, r := range rs {
		ok, retry, err := r.Allow(t.Context(), "req-email:a@example.com", limit, time.Hour, at.Add(time.Second))
		if err != nil || ok {
			t.Fatalf("Allow after the limit = %t, %v, want false, nil", ok, err)
		}
		ends = append(ends, at.Add(time.Second).Add(retry))
	}
	for _, end := range ends[1:] {
		if !end.Equal(ends[0]) {
			t.Errorf("replicas see the window end at %v, want all at %v", ends, ends[0])
		}
	}
}

func TestReplicasShareQueue(t *testing.T) {
	rs := replicas(t, 3)
	at := now()
	// Enqueued in turn on different replicas, the ids still sort in enqueue order.
	var emails []string
	for i := range 6 {
		e := fmt.Sprintf("u%d@example.com", i)
		emails = append(emails, e)
		if err := rs[i%len(rs)].Enqueue(t.Context(), reset.Job{Kind: reset.JobReset, Email: e, CreatedAt: at}); err != nil {
			t.Fatalf("Enqueue(%q) = %v, want nil", e, err)
		}
	}
	js, err := rs[2].Jobs(t.Context())
	if err != nil || len(js) != len(emails) {
		t.Fatalf("Jobs() = %d jobs, %v, want %d", len(js), err, len(emails))
	}
	for i, j := range js {
		if j.Email != emails[i] || (i > 0 && j.ID <= js[i-1].ID) {
			t.Errorf("Jobs()[%d] = %q (id %q), want %q with an id above the previous one", i, j.Email, j.ID, emails[i])
		}
	}

	// Workers on every replica drain the queue; each job goes to exactly one.
	const workers = 12
	got := make([]reset.Job, workers)
	errs := make([]error, workers)
	resettest.Concurrently(workers, func(i int) {
		got[i], errs[i] = rs[i%len(rs)].NextJob(t.Context(), at, at.Add(time.Minute))
	})
	delivered := make(map[string]int)
	for i, err := range errs {
		switch {
		case err == nil:
			delivered[got[i].Email]++
		case !errors.Is(err, reset.ErrNoJob):
			t.Errorf("NextJob #%d = %v, want nil or %v", i, err, reset.ErrNoJob)
		}
	}
	for _, e := range emails {
		if delivered[e] != 1 {
			t.Errorf("job for %s was delivered %d times over %d replicas, want once", e, delivered[e], len(rs))
		}
	}
}

// TestReplicaDiesMidJob: a replica leases a job and dies without acking it; once the lease
// runs out another replica gets the job, so no mail is lost.
func TestReplicaDiesMidJob(t *testing.T) {
	rs := replicas(t, 2)
	at := now()
	if err := rs[0].Enqueue(t.Context(), reset.Job{Kind: reset.JobNotice, UserID: "42", CreatedAt: at}); err != nil {
		t.Fatalf("Enqueue() = %v, want nil", err)
	}
	until := at.Add(time.Minute)
	leased, err := rs[1].NextJob(t.Context(), at, until)
	if err != nil {
		t.Fatalf("NextJob() = %v, want the job", err)
	}
	if err := rs[1].Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	if j, err := rs[0].NextJob(t.Context(), until.Add(-time.Millisecond), until.Add(time.Minute)); !errors.Is(err, reset.ErrNoJob) {
		t.Errorf("NextJob() during the dead replica's lease = %+v, %v, want %v", j, err, reset.ErrNoJob)
	}
	again, err := rs[0].NextJob(t.Context(), until, until.Add(time.Minute))
	if err != nil || again.ID != leased.ID || again.Attempts != leased.Attempts {
		t.Fatalf("NextJob() after the lease ran out = %+v, %v, want job %q again, attempts unchanged", again, err, leased.ID)
	}
	if err := rs[0].AckJob(t.Context(), again.ID); err != nil {
		t.Errorf("AckJob(%q) = %v, want nil", again.ID, err)
	}
}

func TestReplicasShareSecrets(t *testing.T) {
	rs := replicas(t, 3)
	const n = 12
	got := make([][]byte, n)
	errs := make([]error, n)
	resettest.Concurrently(n, func(i int) {
		got[i], errs[i] = rs[i%len(rs)].Secret(t.Context(), "cookie-hash", 32)
	})
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Secret #%d = %v, want nil", i, errs[i])
		}
		if !bytes.Equal(got[i], got[0]) {
			t.Errorf("Secret #%d on replica %d = %x, want %x as on replica 0", i, i%len(rs), got[i], got[0])
		}
	}
}

// TestPrefixesAreIsolated: two deployments on one Redis with different prefixes see none of
// each other's state.
func TestPrefixesAreIsolated(t *testing.T) {
	addr := testenv.Redis(t)
	a := mustOpen(t, addr, newPrefix(t, addr))
	b := mustOpen(t, addr, newPrefix(t, addr))
	ctx, at := t.Context(), now()
	tok := newToken("u1", at, time.Hour)
	mustSaveToken(t, a, tok)
	if err := a.Enqueue(ctx, reset.Job{Kind: reset.JobReset, Email: "a@example.com", CreatedAt: at}); err != nil {
		t.Fatalf("Enqueue() = %v, want nil", err)
	}
	if ok, _, err := a.Allow(ctx, "k", 1, time.Hour, at); !ok || err != nil {
		t.Fatalf("Allow() = %t, %v, want true, nil", ok, err)
	}
	secretA, err := a.Secret(ctx, "s", 32)
	if err != nil {
		t.Fatalf("Secret() = %v, want nil", err)
	}

	if _, err := b.Token(ctx, tok.ID); !errors.Is(err, reset.ErrTokenNotFound) {
		t.Errorf("Token(%q) under another prefix = %v, want %v", tok.ID, err, reset.ErrTokenNotFound)
	}
	if n, err := b.DeleteUserTokens(ctx, "u1"); err != nil || n != 0 {
		t.Errorf("DeleteUserTokens(%q) under another prefix = %d, %v, want 0, nil", "u1", n, err)
	}
	if _, err := b.NextJob(ctx, at, at.Add(time.Minute)); !errors.Is(err, reset.ErrNoJob) {
		t.Errorf("NextJob() under another prefix = %v, want %v", err, reset.ErrNoJob)
	}
	if ok, _, err := b.Allow(ctx, "k", 1, time.Hour, at); !ok || err != nil {
		t.Errorf("Allow() under another prefix = %t, %v, want true, nil", ok, err)
	}
	if secretB, err := b.Secret(ctx, "s", 32); err != nil || bytes.Equal(secretA, secretB) {
		t.Errorf("Secret() under another prefix = %x, %v, want a different secret", secretB, err)
	}
	// a is untouched.
	if _, err := a.Token(ctx, tok.ID); err != nil {
		t.Errorf("Token(%q) = %v, want the token", tok.ID, err)
	}
}

func TestDefaultKeyPrefix(t *testing.T) {
	addr := testenv.Redis(t)
	s, err := redis.Open(t.Context(), redis.Options{Addrs: []string{addr}})
	if err != nil {
		t.Fatalf("Open() = %v, want nil", err)
	}
	defer s.Close()
	if got := s.KeyPrefix(); got != redis.DefaultKeyPrefix {
		t.Errorf("KeyPrefix() = %q, want %q", got, redis.DefaultKeyPrefix)
	}
}

// closedAddr returns a local address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestOpenErrors(t *testing.T) {
	const password = "s3cret-pa55"
	up, down := testenv.Redis(t), closedAddr(t)
	tests := []struct {
		name     string
		o        redis.Options
		want     []string // substrings of the error
		wantErr  error
		unwanted string
	}{
		{"nothing listens", redis.Options{URL: "redis://resetgate:" + password + "@" + down + "/0"},
			[]string{"redis: connect to " + down, "refused"}, nil, password},
		{"nothing listens, addresses", redis.Options{Addrs: []string{down}, Password: password},
			[]string{"redis: connect to " + down}, nil, password},
		{"sentinels down", redis.Options{Addrs: []string{down}, MasterName: "mymaster", SentinelPassword: password},
			[]string{"redis: connect to ", `"mymaster"`, "sentinel " + down, "refused"}, nil, password},
		{"password the server does not expect", redis.Options{URL: "redis://resetgate:" + password + "@" + up + "/0"},
			[]string{"redis: connect to " + up}, nil, password},
		{"URL that does not parse", redis.Options{URL: "redis://resetgate:" + password + "@" + down + ":x:y/0"},
			[]string{"redis: invalid URL"}, nil, password},
		{"unknown scheme", redis.Options{URL: "http://resetgate:" + password + "@" + down},
			[]string{"redis: invalid URL", "scheme"}, nil, password},
		{"URL and addresses", redis.Options{URL: "redis://" + down, Addrs: []string{down}},
			[]string{"either a URL or addresses"}, nil, ""},
		{"nothing to connect to", redis.Options{}, []string{"no URL"}, nil, ""},
		// Refused before dialing: the addresses are closed, so a connect error would show.
		{"cluster without a hash tag", redis.Options{Addrs: []string{down, down}, KeyPrefix: "resetgate:"},
			[]string{`"resetgate:"`, down}, redis.ErrNoHashTag, ""},
		{"cluster with an empty hash tag", redis.Options{Addrs: []string{down}, Cluster: true, KeyPrefix: "{}{x}:"},
			nil, redis.ErrNoHashTag, ""},
		{"cluster with a tag left open", redis.Options{Addrs: []string{down}, Cluster: true, KeyPrefix: "{resetgate:"},
			nil, redis.ErrNoHashTag, ""},
		{"cluster with the default prefix", redis.Options{Addrs: []string{down}, Cluster: true},
			nil, redis.ErrNoHashTag, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			s, err := redis.Open(ctx, tt.o)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%+v) = nil, want an error", tt.o)
			}
			t.Logf("Open() = %v", err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open() = %q, want it to contain %q", err, w)
				}
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Open() = %v, want %v", err, tt.wantErr)
			}
			if tt.unwanted != "" && strings.Contains(err.Error(), tt.unwanted) {
				t.Errorf("Open() = %q, which reveals the password", err)
			}
		})
	}
}

func TestOpenWithHashTagOnSingleNode(t *testing.T) {
	addr := testenv.Redis(t)
	prefix := "{" + strings.TrimSuffix(newPrefix(t, addr), ":") + "}:"
	t.Cleanup(func() { deleteKeys(t, addr, prefix) })
	s := mustOpen(t, addr, prefix)
	at := now()
	if err := s.Enqueue(t.Context(), reset.Job{Kind: reset.JobReset, Email: "a@example.com", CreatedAt: at}); err != nil {
		t.Fatalf("Enqueue() = %v, want nil", err)
	}
	if j, err := s.NextJob(t.Context(), at, at.Add(time.Minute)); err != nil || j.Email != "a@example.com" {
		t.Errorf("NextJob() = %+v, %v, want the job", j, err)
	}
}

func TestInfo(t *testing.T) {
	addr := testenv.Redis(t)
	s := mustOpen(t, addr, newPrefix(t, addr))
	v, err := s.Info(t.Context())
	if err != nil {
		t.Fatalf("Info() = %v, want nil", err)
	}
	if v == "" || !strings.ContainsAny(v[len(v)-1:], "0123456789") || !strings.Contains(v, ".") {
		t.Errorf("Info() = %q, want a version such as 7.2.4", v)
	}
	raw := rawClient(t, addr)
	info, err := raw.Info(t.Context(), "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, ":"+strings.TrimPrefix(v, "valkey ")+"\r\n") {
		t.Errorf("Info() = %q, which INFO server does not report", v)
	}
}

func TestCorruptRecords(t *testing.T) {
	addr := testenv.Redis(t)
	prefix := newPrefix(t, addr)
	s := mustOpen(t, addr, prefix)
	raw := rawClient(t, addr)
	ctx, at := t.Context(), now()
	_, tokenID := reset.NewToken()
	tests := []struct {
		name   string
		key    string
		fields []any
		call   func() error
	}{
		{"token with a bad time", "token:" + tokenID, []any{"user", "u1", "issued", "yesterday", "expires", "1"}, func() error {
			_, err := s.Token(ctx, tokenID)
			return err
		}},
		{"token without a user", "token:" + tokenID, []any{"email", "a@example.com", "expires", "1"}, func() error {
			_, err := s.Token(ctx, tokenID)
			return err
		}},
		{"job with bad attempts", "job:0000000000000001", []any{"kind", "reset", "attempts", "many"}, func() error {
			if err := raw.ZAdd(ctx, prefix+"queue:all", goredis.Z{Member: "0000000000000001"}).Err(); err != nil {
				return err
			}
			_, err := s.Jobs(ctx)
			return err
		}},
		{"due job without a kind", "job:0000000000000002", []any{"email", "a@example.com"}, func() error {
			if err := raw.ZAdd(ctx, prefix+"queue:ready", goredis.Z{Member: "0000000000000002"}).Err(); err != nil {
				return err
			}
			_, err := s.NextJob(ctx, at, at.Add(time.Minute))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := prefix + tt.key
			if err := raw.Del(ctx, key).Err(); err != nil {
				t.Fatal(err)
			}
			if err := raw.HSet(ctx, key, tt.fields...).Err(); err != nil {
				t.Fatal(err)
			}
			err := tt.call()
			if !errors.Is(err, redis.ErrCorrupt) {
				t.Fatalf("reading a corrupt %s = %v, want %v", tt.key, err, redis.ErrCorrupt)
			}
			if !strings.Contains(err.Error(), key) {
				t.Errorf("error %q does not name the key %q", err, key)
			}
		})
	}
}

func TestErrorsAreWrapped(t *testing.T) {
	addr := testenv.Redis(t)
	s := mustOpen(t, addr, newPrefix(t, addr))
	ctx, at := t.Context(), now()
	_, id := reset.NewToken()
	tok := newToken("u1", at, time.Hour)
	mustSaveToken(t, s, tok)
	if _, err := s.ClaimToken(ctx, tok.ID, at, at.Add(time.Minute)); err != nil {
		t.Fatalf("ClaimToken() = %v, want nil", err)
	}
	for _, c := range []struct {
		name string
		err  error
		want error
		text string
	}{
		{"Token", func() error { _, err := s.Token(ctx, id); return err }(), reset.ErrTokenNotFound, "redis: read token: "},
		{"ClaimToken unknown", func() error { _, err := s.ClaimToken(ctx, id, at, at); return err }(), reset.ErrTokenNotFound, "redis: claim token: "},
		{"ClaimToken claimed", func() error { _, err := s.ClaimToken(ctx, tok.ID, at, at); return err }(), reset.ErrTokenClaimed, "redis: claim token: "},
		{"NextJob", func() error { _, err := s.NextJob(ctx, at, at); return err }(), reset.ErrNoJob, "redis: next job: "},
		{"AckJob", s.AckJob(ctx, "x"), reset.ErrJobNotFound, "redis: ack job "},
		{"DropJob", s.DropJob(ctx, "x"), reset.ErrJobNotFound, "redis: drop job "},
		{"RetryJob", s.RetryJob(ctx, reset.Job{ID: "x"}), reset.ErrJobNotFound, "redis: retry job "},
	} {
		if !errors.Is(c.err, c.want) || !strings.HasPrefix(c.err.Error(), c.text) {
			t.Errorf("%s = %v, want %v wrapped as %q…", c.name, c.err, c.want, c.text)
		}
	}
}

func TestClosedStoreFails(t *testing.T) {
	addr := testenv.Redis(t)
	s, err := redis.Open(t.Context(), redis.Options{Addrs: []string{addr}, KeyPrefix: newPrefix(t, addr)})
	if err != nil {
		t.Fatalf("Open() = %v, want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	at := now()
	for name, err := range map[string]error{
		"Ping":    s.Ping(t.Context()),
		"Enqueue": s.Enqueue(t.Context(), reset.Job{Kind: reset.JobReset}),
		"Allow": func() error {
			_, _, err := s.Allow(t.Context(), "k", 1, time.Minute, at)
			return err
		}(),
		"ClaimToken": func() error {
			_, err := s.ClaimToken(t.Context(), "id", at, at)
			return err
		}(),
		"Token": func() error {
			_, err := s.Token(t.Context(), "id")
			return err
		}(),
	} {
		if err == nil || !strings.HasPrefix(err.Error(), "redis: ") {
			t.Errorf("%s after Close = %v, want a redis: error", name, err)
		}
	}
}

func TestCancelledContextWritesNothing(t *testing.T) {
	addr := testenv.Redis(t)
	s := mustOpen(t, addr, newPrefix(t, addr))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Enqueue(ctx, reset.Job{Kind: reset.JobReset}); !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue(cancelled) = %v, want %v", err, context.Canceled)
	}
	if err := s.SaveToken(ctx, newToken("u1", now(), time.Hour)); !errors.Is(err, context.Canceled) {
		t.Errorf("SaveToken(cancelled) = %v, want %v", err, context.Canceled)
	}
	if js, err := s.Jobs(t.Context()); err != nil || len(js) != 0 {
		t.Errorf("Jobs() after a cancelled Enqueue = %+v, %v, want none", js, err)
	}
	if ts, err := s.Tokens(t.Context()); err != nil || len(ts) != 0 {
		t.Errorf("Tokens() after a cancelled SaveToken = %+v, %v, want none", ts, err)
	}
}

func TestBadArguments(t *testing.T) {
	addr := testenv.Redis(t)
	s := mustOpen(t, addr, newPrefix(t, addr))
	for _, win := range []time.Duration{0, -time.Second, time.Microsecond} {
		if _, _, err := s.Allow(t.Context(), "k", 1, win, now()); err == nil {
			t.Errorf("Allow(window %v) = nil error, want one", win)
		}
	}
	if _, err := s.Secret(t.Context(), "k", 32); err != nil {
		t.Fatalf("Secret(%q, 32) = %v, want nil", "k", err)
	}
	for _, size := range []int{16, 0} {
		if _, err := s.Secret(t.Context(), "k", size); err == nil {
			t.Errorf("Secret(%q, %d) of a 32-byte secret = nil error, want one", "k", size)
		}
	}
}
