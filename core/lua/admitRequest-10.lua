-- Admits one reserve request, or refuses it at the door, in one step:
--   the sale is not open          -> refused (sales_not_open with the seconds until it opens,
--                                    sales_paused, sales_closed)
--   fewer seats are left than qty -> refused out_of_stock without queueing (the "sold-out mark" is the
--                                    category's `available` itself: whatever returns a seat raises it in
--                                    the same script, so there is no false sold-out)
--   the user has max_queued queued -> refused rate_limited (one client cannot fill the queue)
--   the queue is at its depth     -> shed (queue_full) with a Retry-After from the observed drain rate
--   else                          -> arrival number, `queued`, depth + 1, `queued` snapshot to the outbox
-- Requests that reach the stock check take an arrival number whether admitted or not; a refused one
-- leaves a `request.refused` record in the outbox (with the reservation id it would have had).
-- The gateway enqueues the job after this returns and answers 202 only once the job is in the queue.
--
-- KEYS[1] seq        per-event arrival sequencer
-- KEYS[2] admitted   admitted-request counter (gives the admitted number used for `position`)
-- KEYS[3] decided    decision counter
-- KEYS[4] depth      requests admitted and not yet decided
-- KEYS[5] res        the reservation's hash (must not exist yet)
-- KEYS[6] outbox     the event's outbox stream
-- KEYS[7] category   the category's stock hash (must exist: the gateway initialises it from Postgres)
-- KEYS[8] meta       the event's settings {sale_state, sales_open_at, sales_close_at, max_depth, drain_*,
--                    lottery_window_ms, lottery_last_seq}
-- KEYS[9] queued     requests queued per user of this event
-- KEYS[10] pending   admitted, undecided reservation ids scored by arrival number (decideBatch's order)
-- ARGV: reservation_id, user_id, event_id, category_id, category name, qty, retention_ms, schema,
--       default_max_depth, max_queued_per_user (0: no limit), request_id (the HTTP request's correlation
--       id, kept with the reservation and in its snapshots; '' for none)
--
-- Returns {1, seq_arrival, position, created_at}  admitted (position -1: in a lottery window, not drawn yet)
--         {2, seq_arrival, position, created_at}  a reservation with this id exists already (unchanged)
--         {3}                                     the category's stock is not initialised in Redis
--         {4, retry_after_s}                      sales_not_open
--         {5}                                     sales_paused
--         {6}                                     sales_closed
--         {7, seq_arrival}                        out_of_stock (not queued)
--         {8, seq_arrival, retry_after_s}         queue_full (shed)
--         {9, seq_arrival}                        rate_limited: the user's requests queued at once
local res_id, user_id, event_id, cat_id, cat_name = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local qty, retention_ms, schema, default_max_depth = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9])
local max_queued = tonumber(ARGV[10])
local request_id = ARGV[11] ~= '' and ARGV[11] or nil

if redis.call('EXISTS', KEYS[5]) == 1 then
  local r = redis.call('HMGET', KEYS[5], 'seq_arrival', 'admitted_no', 'created_at', 'lottery')
  local decided = tonumber(redis.call('GET', KEYS[3]) or '0')
  return { 2, tonumber(r[1]), r[4] and -1 or math.max(0, tonumber(r[2]) - decided - 1), tonumber(r[3]) }
end
if redis.call('EXISTS', KEYS[7]) == 0 then return { 3 } end

local now = now_ms()
local state, opens_in_ms = sale_state(KEYS[8], now)
if state == 'scheduled' then return { 4, math.max(1, math.ceil(opens_in_ms / 1000)) } end
if state == 'paused' then return { 5 } end
if state == 'closed' then return { 6 } end

-- The drain rate (decisions per second), re-sampled at most once a second.
local decided = tonumber(redis.call('GET', KEYS[3]) or '0')
local d = redis.call('HMGET', KEYS[8], 'drain_at', 'drain_decided', 'drain_rate', 'lottery_window_ms', 'sales_open_at')
local drain_at, drain_rate = tonumber(d[1] or '0'), tonumber(d[3] or '0')
if now - drain_at >= 1000 then
  if drain_at > 0 then drain_rate = (decided - tonumber(d[2] or '0')) * 1000 / (now - drain_at) end
  redis.call('HSET', KEYS[8], 'drain_at', now, 'drain_decided', decided, 'drain_rate', string.format('%.3f', drain_rate))
end

-- A request refused here after taking its arrival number is recorded too (docs/fairness.md): a
-- `request.refused` entry in the outbox, so the fairness report sees every arrival.
local seq = redis.call('INCR', KEYS[1])
local function refuse(reason)
  local record = { schema = tonumber(schema), type = 'request.refused', reservation_id = res_id, request_id = request_id, event_id = event_id,
    category_id = cat_id, user_id = user_id, qty = qty, seq_arrival = seq, reason = reason, received_at = now }
  redis.call('XADD', KEYS[6], '*', 'type', 'request.refused', 'snapshot', cjson.encode(record))
end
if tonumber(redis.call('HGET', KEYS[7], 'available')) < qty then
  refuse('out_of_stock')
  return { 7, seq }
end
if max_queued > 0 and tonumber(redis.call('HGET', KEYS[9], user_id) or '0') >= max_queued then
  refuse('rate_limited')
  return { 9, seq }
end
local depth = tonumber(redis.call('GET', KEYS[4]) or '0')
local max_depth = tonumber(redis.call('HGET', KEYS[8], 'max_depth') or '') or default_max_depth
if depth >= max_depth then
  refuse('queue_full')
  return { 8, seq, math.min(60, math.max(1, math.ceil(depth / math.max(drain_rate, 1)))) }
end

-- A lottery event's request in the window (sales_open_at + window): decided in the drawn order once the
-- window closes (drawLottery); its place is unknown until then (position -1).
local in_lottery = d[4] and now < tonumber(d[5] or '0') + tonumber(d[4])
if in_lottery then redis.call('HSET', KEYS[8], 'lottery_last_seq', seq) end

local admitted_no = redis.call('INCR', KEYS[2])
redis.call('INCR', KEYS[4])
redis.call('HINCRBY', KEYS[9], user_id, 1)
redis.call('ZADD', KEYS[10], seq, res_id)
redis.call('HSET', KEYS[5],
  'reservation_id', res_id, 'user_id', user_id, 'event_id', event_id, 'category_id', cat_id,
  'category', cat_name, 'qty', qty, 'status', 'queued', 'seq_arrival', seq, 'admitted_no', admitted_no,
  'created_at', now, 'updated_at', now, 'version', 1)
if in_lottery then redis.call('HSET', KEYS[5], 'lottery', 1) end
if request_id then redis.call('HSET', KEYS[5], 'request_id', request_id) end
redis.call('PEXPIRE', KEYS[5], retention_ms)
emit_snapshot({ reservation_id = res_id, event_id = event_id, category_id = cat_id, category = cat_name,
  user_id = user_id, qty = qty, status = 'queued', seq_arrival = seq, created_at = now, updated_at = now, version = 1,
  request_id = request_id },
  KEYS[6], '', 'reservation.queued', schema)
return { 1, seq, in_lottery and -1 or math.max(0, admitted_no - decided - 1), now }
