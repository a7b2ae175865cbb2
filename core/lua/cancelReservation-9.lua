-- Cancels a reservation for its owner.
--   reserved  -> cancelled, the seats sellable at once
--   queued    -> cancelled; it leaves the queue count and will take no seat (its job, when run, finds it
--                no longer queued and changes nothing)
--   cancelled -> unchanged (a repeat gets the same answer)
--
-- KEYS[1] res        the reservation's hash
-- KEYS[2] category   the category's stock hash
-- KEYS[3] holds      sorted set of held reservation ids by due time (ms)
-- KEYS[4] users      seats held or bought per user of this event
-- KEYS[5] outbox     the event's outbox stream
-- KEYS[6] depth      requests admitted and not yet decided
-- KEYS[7] decided    decision counter (a cancelled queued request no longer counts as ahead of others)
-- KEYS[8] queued     requests queued per user of this event
-- KEYS[9] pending    admitted, undecided reservation ids (a cancelled queued one leaves it)
-- ARGV: user_id, retention_ms, schema, channel
--
-- Returns {1}          cancelled now
--         {2}          was cancelled already
--         {3, status}  not cancellable: confirmed, expired, rejected, or paying (a payment in flight)
--         {0}          no such reservation, or another user's
local user_id, retention_ms, schema, channel = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]

local r = redis.call('HMGET', KEYS[1], 'user_id', 'status')
if not r[1] or r[1] ~= user_id then return { 0 } end
local status = r[2]
if status == 'cancelled' then return { 2 } end
if status ~= 'reserved' and status ~= 'queued' then return { 3, status } end

local now = now_ms()
if status == 'reserved' then
  release(KEYS[1], KEYS[2], KEYS[4], KEYS[3])
else
  if redis.call('DECR', KEYS[6]) < 0 then redis.call('SET', KEYS[6], 0) end
  redis.call('INCR', KEYS[7])
  if redis.call('HINCRBY', KEYS[8], user_id, -1) <= 0 then redis.call('HDEL', KEYS[8], user_id) end
  redis.call('ZREM', KEYS[9], redis.call('HGET', KEYS[1], 'reservation_id'))
end
redis.call('HSET', KEYS[1], 'status', 'cancelled')
touch(KEYS[1], now, retention_ms)
emit(KEYS[1], KEYS[5], channel, 'reservation.cancelled', schema)
return { 1 }
