package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"resetgate/reset"
)

// Session bindings (issue 11). Keys, under the prefix P:
//
//	P sess:<key>         hash: user, exp (ms); one binding, deleted by the sweep or a revoke
//	P usess:<user id>    set of the user's bound keys
//	P sessions           zset: bound keys scored by expiry, for the sweep
//	P revoked:seq        zset: revoked keys scored by their sequence number, for RevokedSince
//	P revoked:until      zset: revoked keys scored by the time they stop being refused
//	P revoked:n          the last sequence number given out (INCR)
//
// Sequence numbers come from the server, so every replica sees revocations in one order
// whatever its clock says. Lua numbers are doubles: exact to 2^53 revocations.

func (s *Store) sessKey(key string) string { return s.prefix + "sess:" + key }
func (s *Store) userSessKey(user string) string {
	return s.prefix + "usess:" + user
}

// bindSessionScript binds a key unless it is revoked. Run twice, it binds the same again.
//
//	KEYS  sess:<key>, sessions, revoked:seq
//	ARGV  key, user id, expiry (ms), usess: prefix
var bindSessionScript = goredis.NewScript(`
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
local old = redis.call('HGET', KEYS[1], 'user')
if old and old ~= ARGV[2] then redis.call('SREM', ARGV[4] .. old, ARGV[1]) end
redis.call('HSET', KEYS[1], 'user', ARGV[2], 'exp', ARGV[3])
redis.call('SADD', ARGV[4] .. ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
`)

// revokeSessionsScript turns the user's live bindings into revoked entries. Run twice, the
// second run finds nothing left (its count, which only the log sees, is then 0).
//
//	KEYS  usess:<user>, sessions, revoked:seq, revoked:until, revoked:n
//	ARGV  user id, now (ms), until (ms), sess: prefix
var revokeSessionsScript = goredis.NewScript(`
local n = 0
for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do
	local f = redis.call('HMGET', ARGV[4] .. k, 'user', 'exp')
	if f[1] == ARGV[1] then
		redis.call('DEL', ARGV[4] .. k)
		redis.call('ZREM', KEYS[2], k)
		if tonumber(f[2]) > tonumber(ARGV[2]) then
			local seq = redis.call('INCR', KEYS[5])
			redis.call('ZADD', KEYS[3], seq, k)
			redis.call('ZADD', KEYS[4], ARGV[3], k)
			n = n + 1
		end
	end
end
redis.call('DEL', KEYS[1])
return n
`)

// revokedSinceScript lists the revoked entries after a sequence number: key, seq, until.
//
//	KEYS  revoked:seq, revoked:until
//	ARGV  after
var revokedSinceScript = goredis.NewScript(`
local r = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES')
local out = {}
for i = 1, #r, 2 do
	out[#out + 1] = r[i]
	out[#out + 1] = r[i + 1]
	out[#out + 1] = redis.call('ZSCORE', KEYS[2], r[i]) or '0'
end
return out
`)

// sweepSessionsScript deletes the bindings and revoked entries that ended at or before now.
//
//	KEYS  sessions, revoked:seq, revoked:until
//	ARGV  now (ms), sess: prefix, usess: prefix
var sweepSessionsScript = goredis.NewScript(`
local n = 0
for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
	local u = redis.call('HGET', ARGV[2] .. k, 'user')
	if u then redis.call('SREM', ARGV[3] .. u, k) end
	redis.call('DEL', ARGV[2] .. k)
	redis.call('ZREM', KEYS[1], k)
	n = n + 1
end
for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])) do
	redis.call('ZREM', KEYS[2], k)
	redis.call('ZREM', KEYS[3], k)
	n = n + 1
end
return n
`)

// BindSession binds key to userID until expires, unless key is revoked.
func (s *Store) BindSession(ctx context.Context, key, userID string, expires time.Time) error {
	_, err := s.run(ctx, "bind session", bindSessionScript,
		[]string{s.sessKey(key), s.prefix + "sessions", s.prefix + "revoked:seq"},
		key, userID, ms(expires), s.prefix+"usess:")
	return err
}

// SessionUser returns the account key is bound to at now, or ErrSessionNotFound.
func (s *Store) SessionUser(ctx context.Context, key string, now time.Time) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("redis: session user: %w", err)
	}
	v, err := s.c.HMGet(ctx, s.sessKey(key), "user", "exp").Result()
	if err != nil {
		return "", fmt.Errorf("redis: session user: %w", err)
	}
	user, _ := v[0].(string)
	raw, _ := v[1].(string)
	if user == "" {
		return "", reset.ErrSessionNotFound
	}
	exp, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return "", fmt.Errorf("redis: session user: %w: %s: exp %q", ErrCorrupt, s.sessKey(key), raw)
	}
	if now.UnixMilli() >= exp {
		return "", reset.ErrSessionNotFound
	}
	return user, nil
}

// RevokeSessions turns every live binding of userID into a revoked entry, in one script.
func (s *Store) RevokeSessions(ctx context.Context, userID string, now, until time.Time) (int, error) {
	v, err := s.run(ctx, "revoke sessions", revokeSessionsScript,
		[]string{s.userSessKey(userID), s.prefix + "sessions", s.prefix + "revoked:seq", s.prefix + "revoked:until", s.prefix + "revoked:n"},
		userID, ms(now), ms(until), s.prefix+"sess:")
	if err != nil {
		return 0, err
	}
	n, _ := v.(int64)
	return int(n), nil
}

// RevokedSince returns the revoked entries numbered after the cursor, oldest first.
func (s *Store) RevokedSince(ctx context.Context, after uint64) ([]reset.RevokedSession, uint64, error) {
	v, err := s.run(ctx, "revoked sessions", revokedSinceScript,
		[]string{s.prefix + "revoked:seq", s.prefix + "revoked:until"}, strconv.FormatUint(after, 10))
	if err != nil {
		return nil, 0, err
	}
	items, _ := v.([]any)
	out := make([]reset.RevokedSession, 0, len(items)/3)
	next := after
	for i := 0; i+2 < len(items); i += 3 {
		key, _ := items[i].(string)
		seqRaw, _ := items[i+1].(string)
		untilRaw, _ := items[i+2].(string)
		seq, err1 := strconv.ParseFloat(seqRaw, 64)
		until, err2 := strconv.ParseFloat(untilRaw, 64)
		if err1 != nil || err2 != nil {
			return nil, 0, fmt.Errorf("redis: revoked sessions: %w: %s: %q, %q", ErrCorrupt, key, seqRaw, untilRaw)
		}
		out = append(out, reset.RevokedSession{Key: key, Until: time.UnixMilli(int64(until)).UTC()})
		next = uint64(seq)
	}
	return out, next, nil
}

// SweepSessions deletes expired bindings and revoked entries past their time.
func (s *Store) SweepSessions(ctx context.Context, now time.Time) (int, error) {
	v, err := s.run(ctx, "sweep sessions", sweepSessionsScript,
		[]string{s.prefix + "sessions", s.prefix + "revoked:seq", s.prefix + "revoked:until"},
		ms(now), s.prefix+"sess:", s.prefix+"usess:")
	if err != nil {
		return 0, err
	}
	n, _ := v.(int64)
	return int(n), nil
}
