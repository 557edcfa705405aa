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
// Every script is safe to run twice with the same arguments (issue 20, item 4): go-redis
// sends a command again when the connection drops after it was sent, so a script may have
// run once already when its reply was lost. Enqueue carries the caller's job id (present:
// nothing to do); a claim, a lease and an Allow carry a nonce the adapter draws per call,
// which the script recognises as its own on the second run.
//
// Times are Unix milliseconds. Lua numbers are doubles, exact to 2^53 ms (year 287396), so
// comparisons are exact; values the script writes back come in ARGV as the caller's strings.

// saveTokenScript stores a token and deletes the user's other tokens, and keeps the code
// keys in step: a token's code key (its CodeID → its id) lives exactly as long as it does.
// Run twice, it stores the same token again.
//
//	KEYS  token key, the user's index set, the tokens-by-expiry zset
//	ARGV  token key prefix, user key prefix, id, user id, expiry (ms), code key prefix,
//	      CodeID (may be empty), field/value pairs…
var saveTokenScript = goredis.NewScript(`
local old = redis.call('HGET', KEYS[1], 'user')
if old and old ~= ARGV[4] then
	redis.call('SREM', ARGV[2] .. old, ARGV[3])
end
local oldcode = redis.call('HGET', KEYS[1], 'code')
if oldcode and oldcode ~= ARGV[7] then
	redis.call('DEL', ARGV[6] .. oldcode)
end
for _, other in ipairs(redis.call('SMEMBERS', KEYS[2])) do
	if other ~= ARGV[3] then
		local c = redis.call('HGET', ARGV[1] .. other, 'code')
		if c then
			redis.call('DEL', ARGV[6] .. c)
		end
		redis.call('DEL', ARGV[1] .. other)
		redis.call('ZREM', KEYS[3], other)
	end
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PEXPIREAT', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
if ARGV[7] ~= '' then
	redis.call('SET', ARGV[6] .. ARGV[7], ARGV[3], 'PXAT', ARGV[5])
end
return 1
`)

// Replies of claimTokenScript: a status, then on success the token's fields.
const (
	claimOK       = 0
	claimNotFound = 1
	claimTaken    = 2
)

// claimTokenScript claims a token that exists, is not expired at now and is not claimed at
// now by another owner. A claim by this owner is its own first run: it succeeds again.
//
//	KEYS  token key
//	ARGV  now (ms), until (ms), owner nonce
var claimTokenScript = goredis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'expires', 'claimed', 'owner')
local now = tonumber(ARGV[1])
if not f[1] or now >= tonumber(f[1]) then
	return {1}
end
if f[2] and now < tonumber(f[2]) then
	if f[3] ~= ARGV[3] then
		return {2}
	end
else
	redis.call('HSET', KEYS[1], 'claimed', ARGV[2], 'owner', ARGV[3])
end
local r = redis.call('HGETALL', KEYS[1])
table.insert(r, 1, 0)
return r
`)

// releaseTokenScript clears the claim held by owner. It replies 1 when another owner holds
// it (and changes nothing), else 0: released, or nothing to release (a second run).
//
//	KEYS  token key
//	ARGV  owner nonce
var releaseTokenScript = goredis.NewScript(`
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then
	return 0
end
if owner ~= ARGV[1] then
	return 1
end
redis.call('HDEL', KEYS[1], 'claimed', 'owner')
return 0
`)

// deleteUserTokensScript deletes the tokens in a user's index, with their code keys, and
// returns how many existed.
//
//	KEYS  the user's index set, the tokens-by-expiry zset
//	ARGV  token key prefix, code key prefix
var deleteUserTokensScript = goredis.NewScript(`
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
	local c = redis.call('HGET', ARGV[1] .. id, 'code')
	if c then
		redis.call('DEL', ARGV[2] .. c)
	end
	n = n + redis.call('DEL', ARGV[1] .. id)
	redis.call('ZREM', KEYS[2], id)
end
redis.call('DEL', KEYS[1])
return n
`)

// deleteExpiredScript deletes the tokens expiring at or before now, with their index entries
// and code keys, and returns how many were still stored.
//
//	KEYS  the tokens-by-expiry zset
//	ARGV  token key prefix, user key prefix, now (ms), code key prefix
var deleteExpiredScript = goredis.NewScript(`
local n = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])) do
	local k = ARGV[1] .. id
	local user = redis.call('HGET', k, 'user')
	if user then
		redis.call('SREM', ARGV[2] .. user, id)
	end
	local c = redis.call('HGET', k, 'code')
	if c then
		redis.call('DEL', ARGV[4] .. c)
	end
	n = n + redis.call('DEL', k)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
return n
`)

// allowScript counts an event in a fixed window that begins with the first event after the
// previous window ended. It replies {1, 0} when admitted, else {0, ms until the window ends}.
// Refused events are not counted: the answer depends only on whether n were admitted. The
// window's hash remembers the request id of each admitted event ("r:" fields, gone with the
// window), so that a second run of an admitted call admits it again without counting.
//
//	KEYS  the window's key
//	ARGV  now (ms), end of a window starting now (ms), n, extra lifetime of the key (ms),
//	      request id
var allowScript = goredis.NewScript(`
local now, n, req = tonumber(ARGV[1]), tonumber(ARGV[3]), 'r:' .. ARGV[5]
local w = redis.call('HMGET', KEYS[1], 'end', 'count')
local stop, count, fresh = w[1], tonumber(w[2]), false
if not stop or now >= tonumber(stop) then
	stop, count, fresh = ARGV[2], 0, true
elseif redis.call('HEXISTS', KEYS[1], req) == 1 then
	return {1, 0}
end
local ok = n > 0 and count < n
if fresh then
	redis.call('DEL', KEYS[1])
end
if ok then
	count = count + 1
	redis.call('HSET', KEYS[1], req, 1)
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
