-- First step of confirm: moves a live hold to `paying` with a payment deadline of its own, and makes the
-- booking id, before any money moves. While `paying`, the reaper does not expire the hold (until the
-- payment deadline), and a second confirm sees the payment in flight instead of charging again.
--
-- KEYS[1] res        the reservation's hash
-- KEYS[2] holds      sorted set of held reservation ids by due time (ms)
-- ARGV: user_id, booking_id (used if the reservation has none yet), payment_timeout_ms
--
-- Returns {1, booking_id, attempt}   now paying: charge, then call finishConfirm with `attempt`
--         {2, booking_id}            already confirmed (nothing changes)
--         {3, booking_id}            a payment is in flight (wait for it to finish)
--         {4}                        the hold has expired (past expires_at, even if not reaped yet)
--         {5, status}                not confirmable (queued, rejected, cancelled)
--         {0}                        no such reservation, or another user's
local user_id, booking_id, payment_timeout_ms = ARGV[1], ARGV[2], tonumber(ARGV[3])

local r = redis.call('HMGET', KEYS[1], 'user_id', 'status', 'expires_at', 'booking_id', 'reservation_id')
if not r[1] or r[1] ~= user_id then return { 0 } end
local status = r[2]
if status == 'confirmed' then return { 2, r[4] } end
if status == 'paying' then return { 3, r[4] } end
if status == 'expired' then return { 4 } end
if status ~= 'reserved' then return { 5, status } end

local now = now_ms()
if now >= tonumber(r[3]) then return { 4 } end
local deadline = now + payment_timeout_ms
booking_id = r[4] or booking_id
local attempt = redis.call('HINCRBY', KEYS[1], 'payment_attempt', 1)
redis.call('HSET', KEYS[1], 'status', 'paying', 'payment_deadline', deadline, 'booking_id', booking_id)
redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('ZADD', KEYS[2], math.max(deadline, tonumber(r[3])), r[5])
return { 1, booking_id, attempt }
