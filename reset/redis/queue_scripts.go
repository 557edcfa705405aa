package redis

import goredis "github.com/redis/go-redis/v9"

// The queue's scripts (see the package doc's layout). A job's id is in queue:all and in
// exactly one of ready, delayed, leased and dead.

// queueKeys is the KEYS layout that every queue script but nextJobScript shares.
//
//	KEYS  job key, all, ready, delayed, leased, dead, the lease's marker key
//
// Its unfile and file take a job id out of the four state sets and put it into one: where
// is "ready", "delayed", "leased" or "dead", score the due time, lease end or time of death
// (ms).
const luaFileJob = `
local function unfile(id)
	for i = 3, 6 do
		redis.call('ZREM', KEYS[i], id)
	end
end
local function file(id, where, score)
	local set = {ready = KEYS[3], delayed = KEYS[4], leased = KEYS[5], dead = KEYS[6]}
	redis.call('ZADD', set[where], score, id)
end
`

// enqueueScript stores a job unless its id is stored already (a second run, or a caller's
// retry). It replies 1 when it stored the job, 0 when it was there.
//
//	ARGV  id, where, score, field/value pairs…
var enqueueScript = goredis.NewScript(luaFileJob + `
if redis.call('EXISTS', KEYS[1]) == 1 then
	return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
file(ARGV[1], ARGV[2], ARGV[3])
return 1
`)

// Replies of the fenced scripts.
const (
	fencedOK       = 1
	fencedNotFound = 0
	fencedLost     = 2
)

// retryJobScript replaces a job with new fields if the stored one's owner is the caller's
// (both empty for a job no one leases, such as a dead one), files it anew and marks the lease
// done for a minute. A second run finds the owner gone but the mark, and succeeds again.
//
//	ARGV  id, owner, where, score, field/value pairs…
var retryJobScript = goredis.NewScript(luaFileJob + `
if redis.call('EXISTS', KEYS[1]) == 0 then
	return 0
end
if (redis.call('HGET', KEYS[1], 'owner') or '') ~= ARGV[2] then
	if ARGV[2] ~= '' and redis.call('GET', KEYS[7]) == 'done' then
		return 1
	end
	return 2
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
unfile(ARGV[1])
file(ARGV[1], ARGV[3], ARGV[4])
if ARGV[2] ~= '' then
	redis.call('SET', KEYS[7], 'done', 'PX', 60000)
end
return 1
`)

// ackJobScript deletes a job if the stored one's owner is the caller's. A second run finds
// the job gone and replies 0, as for any job that is gone.
//
//	ARGV  id, owner
var ackJobScript = goredis.NewScript(luaFileJob + `
if redis.call('EXISTS', KEYS[1]) == 0 then
	return 0
end
if (redis.call('HGET', KEYS[1], 'owner') or '') ~= ARGV[2] then
	return 2
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
unfile(ARGV[1])
return 1
`)

// dropJobScript deletes a job in any state; it replies 0 if there was none.
//
//	ARGV  id
var dropJobScript = goredis.NewScript(luaFileJob + `
if redis.call('DEL', KEYS[1]) == 0 then
	return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
unfile(ARGV[1])
return 1
`)

// nextJobScript leases the oldest due job to owner. If owner's marker names a job that owner
// still holds, this is a second run: it replies with that job again. Otherwise it moves the
// ids due at now from delayed, and the lapsed leases from leased, to ready; takes the ready
// id that sorts first (ready jobs all score 0, so the zset orders them by id: creation
// order); files it under leased until `until`; and marks the lease. It replies with the id
// and the job's fields, or nil when none is due.
//
//	KEYS  ready, delayed, leased, the lease's marker key
//	ARGV  job key prefix, now (ms), until (ms), owner, the marker's lifetime (ms)
var nextJobScript = goredis.NewScript(`
local again = redis.call('GET', KEYS[4])
if again then
	local k = ARGV[1] .. again
	if redis.call('HGET', k, 'owner') == ARGV[4] then
		local r = redis.call('HGETALL', k)
		table.insert(r, 1, again)
		return r
	end
	return false
end
for i = 2, 3 do
	local due = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', ARGV[2])
	for _, id in ipairs(due) do
		redis.call('ZADD', KEYS[1], 0, id)
	end
	if #due > 0 then
		redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[2])
	end
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
		redis.call('HSET', k, 'leased', ARGV[3], 'owner', ARGV[4])
		redis.call('ZADD', KEYS[3], ARGV[3], id)
		redis.call('SET', KEYS[4], id, 'PX', ARGV[5])
		local r = redis.call('HGETALL', k)
		table.insert(r, 1, id)
		return r
	end
end
`)

// deleteDeadScript deletes up to limit dead jobs that died before `before` and replies how
// many; the caller repeats while it gets limit, so that no single run blocks Redis long.
//
//	KEYS  all, dead
//	ARGV  job key prefix, before (ms), limit
var deleteDeadScript = goredis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
	redis.call('DEL', ARGV[1] .. id)
	redis.call('ZREM', KEYS[1], id)
	redis.call('ZREM', KEYS[2], id)
end
return #ids
`)

// migrateScript brings a key space of the first release (format 1) to format 2 once: dead
// jobs, which were only in queue:all, join queue:dead, dated at the upgrade so that the
// retention of DeleteDead starts then. It replies how many it filed.
//
//	KEYS  format key, all, dead
//	ARGV  job key prefix, now (ms)
var migrateScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == '2' then
	return 0
end
local n = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
	local k = ARGV[1] .. id
	if redis.call('HGET', k, 'dead') == '1' then
		redis.call('HSETNX', k, 'deadat', ARGV[2])
		redis.call('ZADD', KEYS[3], redis.call('HGET', k, 'deadat'), id)
		n = n + 1
	end
end
redis.call('SET', KEYS[1], '2')
return n
`)
