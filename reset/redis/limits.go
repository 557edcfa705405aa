package redis

import (
	"context"
	"fmt"
	"time"
)

// Allow counts one event against key and reports whether at most n happened in the current
// window. A window starts with the first event after the previous one ended and lasts win,
// as in reset/bolt, so that both backends limit alike and no window boundary lets a burst of
// 2n through. Check and count are one script: the limit holds across replicas. A request id
// drawn per call lets a run resent by go-redis find its event admitted, not count it again.
func (s *Store) Allow(ctx context.Context, key string, n int, win time.Duration, now time.Time) (bool, time.Duration, error) {
	const what = "allow"
	if win < time.Millisecond {
		return false, 0, fmt.Errorf("redis: %s %q: window %v is shorter than a millisecond", what, key, win)
	}
	v, err := s.run(ctx, what, allowScript, []string{s.limitKey(key)},
		ms(now), ms(now.Add(win)), n, limitGrace.Milliseconds(), nonce())
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

// Peek reports whether Allow would admit one more event for key at now; it reads the window
// with one HMGET and writes nothing.
func (s *Store) Peek(ctx context.Context, key string, n int, now time.Time) (bool, time.Duration, error) {
	const what = "peek"
	if err := ctx.Err(); err != nil {
		return false, 0, fmt.Errorf("redis: %s: %w", what, err)
	}
	k := s.limitKey(key)
	v, err := s.c.HMGet(ctx, k, "end", "count").Result()
	if err != nil {
		return false, 0, fmt.Errorf("redis: %s: %w", what, err)
	}
	end, _ := v[0].(string)
	count, _ := v[1].(string)
	if end == "" {
		return true, 0, nil
	}
	r := record{key: k, m: map[string]string{"end": end, "count": count}}
	stop, c := r.time("end"), r.int("count")
	if r.err != nil {
		return false, 0, fmt.Errorf("redis: %s: %w", what, r.err)
	}
	if !now.Before(stop) || c < n {
		return true, 0, nil
	}
	return false, stop.Sub(now), nil
}
