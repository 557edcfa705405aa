package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"resetgate/reset"
)

// deadBatch bounds how many dead jobs one run of deleteDeadScript deletes.
const deadBatch = 1000

func jobFields(j reset.Job) []any {
	f := []any{"kind", string(j.Kind)}
	for _, kv := range [][2]string{{"email", j.Email}, {"username", j.Username}, {"lang", j.Language}, {"user", j.UserID}, {"ofp", j.OldFingerprint},
		{"nfp", j.NewFingerprint}, {"ip", j.ClientIP}, {"err", j.LastError}, {"owner", j.LeasedBy}} {
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
	f = putTime(f, "deadat", j.DeadAt)
	return putTime(f, "leased", j.LeasedUntil)
}

func decodeJob(key, id string, m map[string]string) (reset.Job, error) {
	r := record{key: key, m: m}
	j := reset.Job{
		ID: id, Kind: reset.JobKind(m["kind"]), Email: m["email"], Username: m["username"], Language: m["lang"], UserID: m["user"],
		OldFingerprint: m["ofp"], NewFingerprint: m["nfp"], ClientIP: m["ip"],
		CreatedAt: r.time("created"), Attempts: r.int("attempts"), NotBefore: r.time("nb"),
		LastError: m["err"], DeadAt: r.time("deadat"), LeasedUntil: r.time("leased"), LeasedBy: m["owner"],
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

// placement says where j is filed: "dead" at its time of death, "leased" until its lease's
// end, "delayed" until NotBefore, or "ready".
func placement(j reset.Job) (where, score string) {
	switch {
	case j.Dead:
		if j.DeadAt.IsZero() {
			return "dead", "0"
		}
		return "dead", ms(j.DeadAt)
	case !j.LeasedUntil.IsZero() && j.LeasedUntil.After(j.NotBefore):
		return "leased", ms(j.LeasedUntil)
	case !j.NotBefore.IsZero():
		return "delayed", ms(j.NotBefore)
	}
	return "ready", "0"
}

// fencedKeys are the KEYS of the queue scripts in queue_scripts.go.
func (s *Store) fencedKeys(id, owner string) []string {
	q := s.queueKeys()
	return []string{s.jobKey(id), q.all, q.ready, q.delayed, q.leased, q.dead, s.leaseKey(owner)}
}

// fencedResult turns a fenced script's reply into the contract's errors.
func fencedResult(what, id string, v any) error {
	switch n, _ := v.(int64); n {
	case fencedOK:
		return nil
	case fencedNotFound:
		return fmt.Errorf("redis: %s %q: %w", what, id, reset.ErrJobNotFound)
	case fencedLost:
		return fmt.Errorf("redis: %s %q: %w", what, id, reset.ErrLeaseLost)
	}
	return fmt.Errorf("redis: %s %q: unexpected reply %v", what, id, v)
}

// Enqueue stores j once the Redis primary has it (see the package doc on durability), unless
// a job with its id is stored already: a run resent by go-redis, or a caller's retry, stores
// one job.
func (s *Store) Enqueue(ctx context.Context, j reset.Job) error {
	if j.ID == "" {
		return errors.New("redis: enqueue job: the job has no id (see reset.NewJobID)")
	}
	where, score := placement(j)
	args := append([]any{j.ID, where, score}, jobFields(j)...)
	_, err := s.run(ctx, "enqueue job", enqueueScript, s.fencedKeys(j.ID, ""), args...)
	return err
}

// NextJob leases the oldest job due at now until `until` to a fresh owner, or returns an error
// wrapping ErrNoJob; of concurrent callers on any replicas, each job goes to one. The owner
// is drawn here, so that a run resent by go-redis returns the job its first run leased.
func (s *Store) NextJob(ctx context.Context, now, until time.Time) (reset.Job, error) {
	const what = "next job"
	q, owner := s.queueKeys(), nonce()
	marker := until.Sub(now) + time.Minute
	v, err := s.run(ctx, what, nextJobScript, []string{q.ready, q.delayed, q.leased, s.leaseKey(owner)},
		s.jobKey(""), ms(now), ms(until), owner, max(marker.Milliseconds(), 1))
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

// AckJob deletes a finished job if j's lease still holds it (else ErrLeaseLost), or returns an
// error wrapping ErrJobNotFound. A run resent by go-redis after the first deleted the job
// also reports ErrJobNotFound: either way the job is done.
func (s *Store) AckJob(ctx context.Context, j reset.Job) error {
	const what = "ack job"
	v, err := s.run(ctx, what, ackJobScript, s.fencedKeys(j.ID, j.LeasedBy), j.ID, j.LeasedBy)
	if err != nil {
		return err
	}
	return fencedResult(what, j.ID, v)
}

// RetryJob replaces the stored job j.ID with j, lease cleared, if j's lease still holds it
// (else ErrLeaseLost), or returns an error wrapping ErrJobNotFound. The job keeps its place
// in line: ready jobs are ordered by id.
func (s *Store) RetryJob(ctx context.Context, j reset.Job) error {
	const what = "retry job"
	owner := j.LeasedBy
	j.LeasedUntil, j.LeasedBy = time.Time{}, ""
	where, score := placement(j)
	args := append([]any{j.ID, owner, where, score}, jobFields(j)...)
	v, err := s.run(ctx, what, retryJobScript, s.fencedKeys(j.ID, owner), args...)
	if err != nil {
		return err
	}
	return fencedResult(what, j.ID, v)
}

// DropJob deletes a job whatever its state, or returns an error wrapping ErrJobNotFound.
func (s *Store) DropJob(ctx context.Context, id string) error {
	const what = "drop job"
	v, err := s.run(ctx, what, dropJobScript, s.fencedKeys(id, ""), id)
	if err != nil {
		return err
	}
	return fencedResult(what, id, v)
}

// Jobs lists every job, live and dead, in id (creation) order. Like Tokens it is meant for
// operators and reads the jobs pipelined, not as one snapshot.
func (s *Store) Jobs(ctx context.Context) ([]reset.Job, error) {
	const what = "list jobs"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	ids, err := s.c.ZRange(ctx, s.queueKeys().all, 0, -1).Result()
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

// Stats counts the jobs at now with ZCARD and ZCOUNT in one MULTI, listing none: a job due
// at now is in ready, or in delayed or leased with a score at most now.
func (s *Store) Stats(ctx context.Context, now time.Time) (reset.QueueStats, error) {
	const what = "queue stats"
	if err := ctx.Err(); err != nil {
		return reset.QueueStats{}, fmt.Errorf("redis: %s: %w", what, err)
	}
	q, at := s.queueKeys(), ms(now)
	var ready, delayedDue, delayed, leasedDue, leased, dead *goredis.IntCmd
	_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		ready = p.ZCard(ctx, q.ready)
		delayedDue = p.ZCount(ctx, q.delayed, "-inf", at)
		delayed = p.ZCount(ctx, q.delayed, "("+at, "+inf")
		leasedDue = p.ZCount(ctx, q.leased, "-inf", at)
		leased = p.ZCount(ctx, q.leased, "("+at, "+inf")
		dead = p.ZCard(ctx, q.dead)
		return nil
	})
	if err != nil {
		return reset.QueueStats{}, fmt.Errorf("redis: %s: %w", what, err)
	}
	return reset.QueueStats{
		Due:     int(ready.Val() + delayedDue.Val() + leasedDue.Val()),
		Delayed: int(delayed.Val()),
		Leased:  int(leased.Val()),
		Dead:    int(dead.Val()),
	}, nil
}

// DeleteDead deletes the dead jobs that died before `before`, deadBatch per script run, and
// returns how many.
func (s *Store) DeleteDead(ctx context.Context, before time.Time) (int, error) {
	q, total := s.queueKeys(), 0
	for {
		v, err := s.run(ctx, "delete dead jobs", deleteDeadScript, []string{q.all, q.dead},
			s.jobKey(""), ms(before), deadBatch)
		if err != nil {
			return total, err
		}
		n, _ := v.(int64)
		total += int(n)
		if n < deadBatch {
			return total, nil
		}
	}
}
