package redis_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"resetgate/internal/testenv"
	"resetgate/reset"
	"resetgate/reset/redis"
	"resetgate/reset/resettest"
)

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
		{"AckJob", s.AckJob(ctx, reset.Job{ID: "x"}), reset.ErrJobNotFound, "redis: ack job "},
		{"ReleaseToken", s.ReleaseToken(ctx, tok.ID, "stranger"), reset.ErrLeaseLost, "redis: release token: "},
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
		"Enqueue": s.Enqueue(t.Context(), reset.Job{ID: resettest.NewJobID(time.Now()), Kind: reset.JobReset}),
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
	if err := s.Enqueue(ctx, reset.Job{ID: resettest.NewJobID(time.Now()), Kind: reset.JobReset}); !errors.Is(err, context.Canceled) {
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
