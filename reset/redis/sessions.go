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
//	P sess:<key>         hash: user id → expiry (ms); the key's bindings
//	P usess:<user id>    set of the user's bound keys
//	P sessions           zset: "<len(key)>:<key><user id>" scored by the binding's expiry,
//	                     for the sweep
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

// bindSessionScript binds a key to a user unless the key is revoked. Run twice, it binds
// the same again.
//
//	KEYS  sess:<key>, sessions, revoked:seq, usess:<user>
//	ARGV  key, user id, expiry (ms)
var bindSessionScript = goredis.NewScript(`
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], string.len(ARGV[1]) .. ':' .. ARGV[1] .. ARGV[2])
return 1
`)

// revokeSessionsScript revokes every key with a live binding to the user, with all of the
// key's bindings. Run twice, the second run finds nothing left (its count, which only the
// log sees, is then 0).
//
//	KEYS  usess:<user>, sessions, revoked:seq, revoked:until, revoked:n
//	ARGV  user id, now (ms), until (ms), sess: prefix, usess: prefix
var revokeSessionsScript = goredis.NewScript(`
local n = 0
for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do
	local hk = ARGV[4] .. k
	local exp = redis.call('HGET', hk, ARGV[1])
	if exp and tonumber(exp) > tonumber(ARGV[2]) then
		local pairs = redis.call('HGETALL', hk)
		for i = 1, #pairs, 2 do
			redis.call('SREM', ARGV[5] .. pairs[i], k)
			redis.call('ZREM', KEYS[2], string.len(k) .. ':' .. k .. pairs[i])
		end
		redis.call('DEL', hk)
		local seq = redis.call('INCR', KEYS[5])
		redis.call('ZADD', KEYS[3], seq, k)
		redis.call('ZADD', KEYS[4], ARGV[3], k)
		n = n + 1
	end
end
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
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
	local c = string.find(m, ':', 1, true)
	local len = tonumber(string.sub(m, 1, c - 1))
	local k = string.sub(m, c + 1, c + len)
	local u = string.sub(m, c + len + 1)
	redis.call('HDEL', ARGV[2] .. k, u)
	redis.call('SREM', ARGV[3] .. u, k)
	redis.call('ZREM', KEYS[1], m)
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
		[]string{s.sessKey(key), s.prefix + "sessions", s.prefix + "revoked:seq", s.userSessKey(userID)},
		key, userID, ms(expires))
	return err
}

// SessionUsers returns the accounts key is bound to at now, or ErrSessionNotFound.
func (s *Store) SessionUsers(ctx context.Context, key string, now time.Time) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redis: session users: %w", err)
	}
	m, err := s.c.HGetAll(ctx, s.sessKey(key)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: session users: %w", err)
	}
	var users []string
	for u, raw := range m {
		exp, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("redis: session users: %w: %s: %q", ErrCorrupt, s.sessKey(key), raw)
		}
		if now.UnixMilli() < exp {
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		return nil, reset.ErrSessionNotFound
	}
	return users, nil
}

// RevokeSessions revokes every key with a live binding to userID, in one script.
func (s *Store) RevokeSessions(ctx context.Context, userID string, now, until time.Time) (int, error) {
	v, err := s.run(ctx, "revoke sessions", revokeSessionsScript,
		[]string{s.userSessKey(userID), s.prefix + "sessions", s.prefix + "revoked:seq", s.prefix + "revoked:until", s.prefix + "revoked:n"},
		userID, ms(now), ms(until), s.prefix+"sess:", s.prefix+"usess:")
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
