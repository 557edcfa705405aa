package redis

import goredis "github.com/redis/go-redis/v9"

// The Lua scripts below are each one atomic step: Redis runs a script to completion before it
// serves any other command, from any client, so a check and the write that depends on it
// cannot interleave with another replica's. Scripts never read the server's clock: every time
// they compare comes from the caller, as the reset.Store contract wants. Keys that a script
// computes from a prefix (the tokens of a user, the job it picks) lie in the same hash slot
// as the ones it declares when the key prefix carries a hash tag, which Open demands in
// Cluster mode.
//
// Times are Unix milliseconds. Lua numbers are doubles, exact to 2^53 ms (year 287396), so
// comparisons are exact; values the script writes back come in ARGV as the caller's strings.

// saveTokenScript stores a token and deletes the user's other tokens.
//
//	KEYS  token key, the user's index set, the tokens-by-expiry zset
//	ARGV  token key prefix, user key prefix, id, user id, expiry (ms), field/value pairs…
var saveTokenScript = goredis.NewScript(`
local old = redis.call('HGET', KEYS[1], 'user')
if old and old ~= ARGV[4] then
	redis.call('SREM', ARGV[2] .. old, ARGV[3])
end
for _, other in ipairs(redis.call('SMEMBERS', KEYS[2])) do
	if other ~= ARGV[3] then
		redis.call('DEL', ARGV[1] .. other)
		redis.call('ZREM', KEYS[3], other)
	end
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PEXPIREAT', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
return 1
`)

// Replies of claimTokenScript: a status, then on success the token's fields.
const (
	claimOK       = 0
	claimNotFound = 1
	claimTaken    = 2
)

// claimTokenScript claims a token that exists, is not expired at now and is not claimed at now.
//
//	KEYS  token key
//	ARGV  now (ms), until (ms)
var claimTokenScript = goredis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'expires', 'claimed')
local now = tonumber(ARGV[1])
if not f[1] or now >= tonumber(f[1]) then
	return {1}
end
if f[2] and now < tonumber(f[2]) then
	return {2}
end
redis.call('HSET', KEYS[1], 'claimed', ARGV[2])
local r = redis.call('HGETALL', KEYS[1])
table.insert(r, 1, 0)
return r
`)

// deleteUserTokensScript deletes the tokens in a user's index and returns how many existed.
//
//	KEYS  the user's index set, the tokens-by-expiry zset
//	ARGV  token key prefix
var deleteUserTokensScript = goredis.NewScript(`
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
	n = n + redis.call('DEL', ARGV[1] .. id)
	redis.call('ZREM', KEYS[2], id)
end
redis.call('DEL', KEYS[1])
return n
`)

// deleteExpiredScript deletes the tokens expiring at or before now, with their index entries,
// and returns how many were still stored.
//
//	KEYS  the tokens-by-expiry zset
//	ARGV  token key prefix, user key prefix, now (ms)
var deleteExpiredScript = goredis.NewScript(`
local n = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])) do
	local k = ARGV[1] .. id
	local user = redis.call('HGET', k, 'user')
	if user then
		redis.call('SREM', ARGV[2] .. user, id)
	end
	n = n + redis.call('DEL', k)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
return n
`)

// allowScript counts an event in a fixed window that begins with the first event after the
// previous window ended. It replies {1, 0} when admitted, else {0, ms until the window ends}.
// Refused events are not counted: the answer depends only on whether n were admitted.
//
//	KEYS  the window's key
//	ARGV  now (ms), end of a window starting now (ms), n, extra lifetime of the key (ms)
var allowScript = goredis.NewScript(`
local now, n = tonumber(ARGV[1]), tonumber(ARGV[3])
local w = redis.call('HMGET', KEYS[1], 'end', 'count')
local stop, count, fresh = w[1], tonumber(w[2]), false
if not stop or now >= tonumber(stop) then
	stop, count, fresh = ARGV[2], 0, true
end
local ok = n > 0 and count < n
if ok then
	count = count + 1
end
if ok or fresh then
	redis.call('HSET', KEYS[1], 'end', stop, 'count', count)
end
if fresh then
	redis.call('PEXPIREAT', KEYS[1], tonumber(stop) + tonumber(ARGV[4]))
end
if ok then
	return {1, 0}
end
return {0, tonumber(stop) - now}
`)

// putJobScript stores a job, assigning the next id when none is given, and files it under
// ready, delayed or neither (dead). It replies with the id, or nil when mustExist is set and
// the job does not exist.
//
//	KEYS  id counter, all-jobs zset, ready zset, delayed zset
//	ARGV  job key prefix, id or "", "1" if the job must exist, placement ("ready", "dead" or
//	      the due time in ms), field/value pairs…
var putJobScript = goredis.NewScript(`
local id = ARGV[2]
if id == '' then
	id = string.format('%016x', redis.call('INCR', KEYS[1]))
end
local k = ARGV[1] .. id
if ARGV[3] == '1' and redis.call('EXISTS', k) == 0 then
	return false
end
redis.call('DEL', k)
redis.call('HSET', k, unpack(ARGV, 5))
redis.call('ZADD', KEYS[2], 0, id)
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], id)
if ARGV[4] == 'ready' then
	redis.call('ZADD', KEYS[3], 0, id)
elseif ARGV[4] ~= 'dead' then
	redis.call('ZADD', KEYS[4], ARGV[4], id)
end
return id
`)

// nextJobScript moves the jobs due at now from delayed to ready, leases the ready job with the
// lowest id until `until` and replies with its id and fields, or nil when none is ready.
// Ready jobs all score 0, so the zset orders them by id: enqueue order.
//
//	KEYS  ready zset, delayed zset
//	ARGV  job key prefix, now (ms), until (ms)
var nextJobScript = goredis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
for _, id in ipairs(due) do
	redis.call('ZADD', KEYS[1], 0, id)
end
if #due > 0 then
	redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
end
while true do
	local first = redis.call('ZRANGE', KEYS[1], 0, 0)
	if #first == 0 then
		return false
	end
	local id = first[1]
	redis.call('ZREM', KEYS[1], id)
	local k = ARGV[1] .. id
	if redis.call('EXISTS', k) == 1 then
		redis.call('HSET', k, 'leased', ARGV[3])
		redis.call('ZADD', KEYS[2], ARGV[3], id)
		local r = redis.call('HGETALL', k)
		table.insert(r, 1, id)
		return r
	end
end
`)

// deleteJobScript deletes a job in any state; it replies 0 if there was none.
//
//	KEYS  job key, all-jobs zset, ready zset, delayed zset
//	ARGV  id
var deleteJobScript = goredis.NewScript(`
if redis.call('DEL', KEYS[1]) == 0 then
	return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
`)
