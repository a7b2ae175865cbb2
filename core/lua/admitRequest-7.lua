-- Admits one reserve request: takes its arrival sequence number, records it as `queued`, counts it in
-- the event's depth and appends the `queued` snapshot to the outbox, all at once. The gateway enqueues
-- the job after this returns and answers 202 only once the job is in the queue.
--
-- KEYS[1] seq        per-event arrival sequencer
-- KEYS[2] admitted   admitted-request counter (gives the admitted number used for `position`)
-- KEYS[3] decided    decision counter
-- KEYS[4] depth      requests admitted and not yet decided
-- KEYS[5] res        the reservation's hash (must not exist yet)
-- KEYS[6] outbox     the event's outbox stream
-- KEYS[7] category   the category's stock hash (must exist: the gateway initialises it from Postgres)
-- ARGV: reservation_id, user_id, event_id, category_id, category name, qty, retention_ms, schema
--
-- Returns {1, seq_arrival, position, created_at}  admitted
--         {2, seq_arrival, position, created_at}  a reservation with this id exists already (unchanged)
--         {3}                                     the category's stock is not initialised in Redis
local res_id, user_id, event_id, cat_id, cat_name = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local qty, retention_ms, schema = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]

if redis.call('EXISTS', KEYS[5]) == 1 then
  local r = redis.call('HMGET', KEYS[5], 'seq_arrival', 'admitted_no', 'created_at')
  local decided = tonumber(redis.call('GET', KEYS[3]) or '0')
  return { 2, tonumber(r[1]), math.max(0, tonumber(r[2]) - decided - 1), tonumber(r[3]) }
end
if redis.call('EXISTS', KEYS[7]) == 0 then return { 3 } end

local now = now_ms()
local seq = redis.call('INCR', KEYS[1])
local admitted_no = redis.call('INCR', KEYS[2])
local decided = tonumber(redis.call('GET', KEYS[3]) or '0')
redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[5],
  'reservation_id', res_id, 'user_id', user_id, 'event_id', event_id, 'category_id', cat_id,
  'category', cat_name, 'qty', qty, 'status', 'queued', 'seq_arrival', seq, 'admitted_no', admitted_no,
  'created_at', now, 'updated_at', now, 'version', 1)
redis.call('PEXPIRE', KEYS[5], retention_ms)
emit(KEYS[5], KEYS[6], '', 'reservation.queued', schema)
return { 1, seq, math.max(0, admitted_no - decided - 1), now }
