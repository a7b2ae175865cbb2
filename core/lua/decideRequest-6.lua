-- Decides one queued reserve request: holds `qty` seats of its category if that many are available,
-- otherwise rejects it `out_of_stock`. Atomic, and idempotent by reservation id: a reservation that is
-- no longer `queued` is returned as it stands, so a job re-run after a crash returns the first decision.
-- Only the shard that owns the event runs this script (single writer, in arrival order).
--
-- KEYS[1] res        the reservation's hash
-- KEYS[2] category   the category's stock hash {total, available, held, confirmed}
-- KEYS[3] decided    decision counter (its new value is the reservation's seq_decision)
-- KEYS[4] depth      requests admitted and not yet decided
-- KEYS[5] outbox     the event's outbox stream
-- KEYS[6] holds      sorted set of held reservation ids by expiry (ms)
-- ARGV: hold_ttl_ms, retention_ms, schema
--
-- Returns {1, status, reason, seq_decision, expires_at}  decided now
--         {2, status, reason, seq_decision, expires_at}  decided before: unchanged
--         {0}                                           no such reservation
-- (reason and expires_at are '' when absent)
local hold_ttl_ms, retention_ms, schema = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]

local function answer(code)
  local r = redis.call('HMGET', KEYS[1], 'status', 'reason', 'seq_decision', 'expires_at')
  return { code, r[1], r[2] or '', tonumber(r[3] or '0'), r[4] or '' }
end

if redis.call('EXISTS', KEYS[1]) == 0 then return { 0 } end
if redis.call('HGET', KEYS[1], 'status') ~= 'queued' then return answer(2) end

local now = now_ms()
local res_id = redis.call('HGET', KEYS[1], 'reservation_id')
local qty = tonumber(redis.call('HGET', KEYS[1], 'qty'))
local seq_decision = redis.call('INCR', KEYS[3])
local left = redis.call('DECR', KEYS[4])
if left < 0 then redis.call('SET', KEYS[4], 0) end

local event_type
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[1], 'status', 'rejected', 'reason', 'internal_error')
  event_type = 'reservation.rejected'
elseif tonumber(redis.call('HGET', KEYS[2], 'available')) >= qty then
  redis.call('HINCRBY', KEYS[2], 'available', -qty)
  redis.call('HINCRBY', KEYS[2], 'held', qty)
  local expires_at = now + hold_ttl_ms
  redis.call('HSET', KEYS[1], 'status', 'reserved', 'expires_at', expires_at)
  redis.call('ZADD', KEYS[6], expires_at, res_id)
  event_type = 'reservation.reserved'
else
  redis.call('HSET', KEYS[1], 'status', 'rejected', 'reason', 'out_of_stock')
  event_type = 'reservation.rejected'
end
redis.call('HSET', KEYS[1], 'seq_decision', seq_decision, 'decided_at', now, 'updated_at', now)
redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('PEXPIRE', KEYS[1], math.max(retention_ms, hold_ttl_ms + retention_ms))
emit(KEYS[1], KEYS[5], event_type, schema)
return answer(1)
