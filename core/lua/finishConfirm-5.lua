-- Second step of confirm, after the (simulated) payment answered. Only the attempt that began the
-- payment may finish it.
--   paid     -> confirmed: the seats move from held to confirmed, the hold's due time is forgotten
--   declined -> back to reserved while the hold lasts (the buyer may retry), expired once it is over
--
-- KEYS[1] res        the reservation's hash
-- KEYS[2] category   the category's stock hash
-- KEYS[3] holds      sorted set of held reservation ids by due time (ms)
-- KEYS[4] users      seats held or bought per user of this event
-- KEYS[5] outbox     the event's outbox stream
-- ARGV: attempt, paid ('1' or '0'), retention_ms, schema, channel
--
-- Returns {1, 'confirmed', booking_id}   confirmed now
--         {2, 'reserved'}                declined; the hold stays
--         {3, 'expired'}                 declined and the hold is over: seats released
--         {0, status, booking_id}        this attempt no longer owns the payment (status as it stands)
local attempt, paid, retention_ms, schema, channel = ARGV[1], ARGV[2] == '1', tonumber(ARGV[3]), ARGV[4], ARGV[5]

local r = redis.call('HMGET', KEYS[1], 'status', 'payment_attempt', 'qty', 'expires_at', 'booking_id', 'reservation_id')
if r[1] ~= 'paying' or r[2] ~= attempt then return { 0, r[1] or '', r[5] or '' } end

local now = now_ms()
redis.call('HDEL', KEYS[1], 'payment_deadline')
if paid then
  local qty = tonumber(r[3])
  redis.call('HINCRBY', KEYS[2], 'held', -qty)
  redis.call('HINCRBY', KEYS[2], 'confirmed', qty)
  redis.call('ZREM', KEYS[3], r[6])
  redis.call('HSET', KEYS[1], 'status', 'confirmed')
  touch(KEYS[1], now, retention_ms)
  emit(KEYS[1], KEYS[5], channel, 'reservation.confirmed', schema)
  return { 1, 'confirmed', r[5] }
end
if now < tonumber(r[4]) then
  redis.call('HSET', KEYS[1], 'status', 'reserved')
  redis.call('ZADD', KEYS[3], tonumber(r[4]), r[6])
  touch(KEYS[1], now, retention_ms)
  redis.call('PUBLISH', channel, r[6] .. ' reserved')
  return { 2, 'reserved' }
end
release(KEYS[1], KEYS[2], KEYS[4], KEYS[3])
redis.call('HSET', KEYS[1], 'status', 'expired')
touch(KEYS[1], now, retention_ms)
emit(KEYS[1], KEYS[5], channel, 'reservation.expired', schema)
return { 3, 'expired' }
