-- Expires the holds of one event whose time has come, up to `limit` of them. Run by the event's owning
-- shard (its reaper) from the sorted set of due times, so expiry needs no keyspace notifications and
-- still happens after every process restarted: the due times live in Redis.
--
-- Per due reservation, guarded by its status and by Redis TIME:
--   reserved, now >= expires_at          -> expired, seats released, snapshot emitted
--   paying,   now >= payment_deadline    -> (the payment was abandoned) expired if past expires_at,
--                                           else back to reserved, due again at expires_at
--   paying or reserved, not due yet      -> due time corrected (nothing else)
--   anything else                        -> forgotten (removed from the set)
-- The keys of each reservation and category are built from `base` (they share the event's hash tag,
-- so the script stays in one Redis Cluster slot).
--
-- KEYS[1] holds      sorted set of held reservation ids by due time (ms)
-- KEYS[2] users      seats held or bought per user of this event
-- KEYS[3] outbox     the event's outbox stream
-- ARGV: base (e.g. "wt:{evt-<id>}"), limit, retention_ms, schema, channel
--
-- Returns {expired_count, next_due_ms or -1}
local base, limit, retention_ms, schema, channel = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
local now = now_ms()
local expired = 0

for _, res_id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)) do
  local res_key = base .. ':res:' .. res_id
  local r = redis.call('HMGET', res_key, 'status', 'expires_at', 'payment_deadline', 'category_id')
  local status, expires_at, deadline = r[1], tonumber(r[2] or '0'), tonumber(r[3] or '0')
  if status == 'paying' and now < deadline then
    redis.call('ZADD', KEYS[1], deadline, res_id)
  elseif (status == 'reserved' or status == 'paying') and now < expires_at then
    if status == 'paying' then
      redis.call('HSET', res_key, 'status', 'reserved')
      redis.call('HDEL', res_key, 'payment_deadline')
      touch(res_key, now, retention_ms)
      redis.call('PUBLISH', channel, res_id .. ' reserved')
    end
    redis.call('ZADD', KEYS[1], expires_at, res_id)
  elseif status == 'reserved' or status == 'paying' then
    release(res_key, base .. ':cat:' .. r[4], KEYS[2], KEYS[1])
    redis.call('HSET', res_key, 'status', 'expired')
    redis.call('HDEL', res_key, 'payment_deadline')
    touch(res_key, now, retention_ms)
    emit(res_key, KEYS[3], channel, 'reservation.expired', schema)
    expired = expired + 1
  else
    redis.call('ZREM', KEYS[1], res_id)
  end
end

local next_due = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { expired, next_due[2] and tonumber(next_due[2]) or -1 }
