-- Decides one queued reserve request: refuses it `sales_closed` once the sale is closed (closing a
-- sale rejects what is still queued; a paused sale's queue is still decided), `limit_exceeded` if the
-- user's holds and bookings for the event plus `qty` would pass the event's max_per_user, otherwise
-- holds `qty` seats if that many are available, otherwise refuses it `out_of_stock`. Atomic, and idempotent by reservation id: a
-- reservation that is no longer `queued` is returned as it stands, so a job re-run after a crash
-- returns the first decision. Only the shard that owns the event runs this (single writer, in order).
--
-- KEYS[1] res        the reservation's hash
-- KEYS[2] category   the category's stock hash {total, available, held, confirmed}
-- KEYS[3] decided    decision counter (its new value is the reservation's seq_decision)
-- KEYS[4] depth      requests admitted and not yet decided
-- KEYS[5] outbox     the event's outbox stream
-- KEYS[6] holds      sorted set of held reservation ids by due time (ms)
-- KEYS[7] meta       the event's settings hash {max_per_user, sale_state, sales_open_at, sales_close_at}
-- KEYS[8] users      seats held or bought per user of this event
-- KEYS[9] queued     requests queued per user of this event
-- KEYS[10] pending   admitted, undecided reservation ids (this one leaves it)
-- ARGV: hold_ttl_ms, retention_ms, schema, channel
--
-- Returns {1, status, reason, seq_decision, expires_at}  decided now
--         {2, status, reason, seq_decision, expires_at}  decided before: unchanged
--         {0}                                           no such reservation
-- (reason and expires_at are '' when absent)
local hold_ttl_ms, retention_ms, schema, channel = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]

local function answer(code)
  local r = redis.call('HMGET', KEYS[1], 'status', 'reason', 'seq_decision', 'expires_at')
  return { code, r[1], r[2] or '', tonumber(r[3] or '0'), r[4] or '' }
end

if redis.call('EXISTS', KEYS[1]) == 0 then return { 0 } end
if redis.call('HGET', KEYS[1], 'status') ~= 'queued' then return answer(2) end

local now = now_ms()
local r = redis.call('HMGET', KEYS[1], 'reservation_id', 'user_id', 'qty')
local res_id, user_id, qty = r[1], r[2], tonumber(r[3])
local seq_decision = redis.call('INCR', KEYS[3])
if redis.call('DECR', KEYS[4]) < 0 then redis.call('SET', KEYS[4], 0) end
if redis.call('HINCRBY', KEYS[9], user_id, -1) <= 0 then redis.call('HDEL', KEYS[9], user_id) end
redis.call('ZREM', KEYS[10], res_id)

local event_type = 'reservation.rejected'
local max_per_user = tonumber(redis.call('HGET', KEYS[7], 'max_per_user') or '0')
if redis.call('EXISTS', KEYS[2]) == 0 or max_per_user == 0 then
  redis.call('HSET', KEYS[1], 'status', 'rejected', 'reason', 'internal_error')
elseif sale_state(KEYS[7], now) == 'closed' then
  redis.call('HSET', KEYS[1], 'status', 'rejected', 'reason', 'sales_closed')
elseif tonumber(redis.call('HGET', KEYS[8], user_id) or '0') + qty > max_per_user then
  redis.call('HSET', KEYS[1], 'status', 'rejected', 'reason', 'limit_exceeded')
elseif tonumber(redis.call('HGET', KEYS[2], 'available')) >= qty then
  redis.call('HINCRBY', KEYS[2], 'available', -qty)
  redis.call('HINCRBY', KEYS[2], 'held', qty)
  redis.call('HINCRBY', KEYS[8], user_id, qty)
  local expires_at = now + hold_ttl_ms
  redis.call('HSET', KEYS[1], 'status', 'reserved', 'expires_at', expires_at)
  redis.call('ZADD', KEYS[6], expires_at, res_id)
  event_type = 'reservation.reserved'
else
  redis.call('HSET', KEYS[1], 'status', 'rejected', 'reason', 'out_of_stock')
end
redis.call('HSET', KEYS[1], 'seq_decision', seq_decision, 'decided_at', now)
touch(KEYS[1], now, retention_ms)
emit(KEYS[1], KEYS[5], channel, event_type, schema)
return answer(1)
