package redis_test

import (
	"bytes"
	"context"
	"errors"
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

// TestPrefixesAreIsolated: two deployments on one Redis with different prefixes see none of
// each other's state.
func TestPrefixesAreIsolated(t *testing.T) {
	addr := testenv.Redis(t)
	a := mustOpen(t, addr, newPrefix(t, addr))
	b := mustOpen(t, addr, newPrefix(t, addr))
	ctx, at := t.Context(), now()
	tok := newToken("u1", at, time.Hour)
	mustSaveToken(t, a, tok)
	if err := a.Enqueue(ctx, reset.Job{ID: resettest.NewJobID(time.Now()), Kind: reset.JobReset, Email: "a@example.com", CreatedAt: at}); err != nil {
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
	if err := s.Enqueue(t.Context(), reset.Job{ID: resettest.NewJobID(time.Now()), Kind: reset.JobReset, Email: "a@example.com", CreatedAt: at}); err != nil {
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
