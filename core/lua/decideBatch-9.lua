-- Decides an event's admitted requests in arrival order: the `limit` pending requests with the lowest
-- arrival numbers, each by the rules of `decide_one` (in the prelude). The caller needs every request
-- up to `max_seq` (the highest of its job's batch) decided and calls again while `more` says some are
-- left; a call also goes past `max_seq` when the queue is deeper (lowest first, so always in arrival
-- order), and the jobs of those later requests then find them decided (`through`) and need no call.
-- Requests of other gateways' batches that arrived earlier are decided before this batch's, so batching
-- never decides a later arrival before an earlier admitted one.
--
-- Fenced: nothing happens unless the event's lease still holds the caller's value (`<token>:<shard>`);
-- a shard that lost its lease (paused, partitioned, slow) cannot take seats.
--
-- KEYS[1] decided    decision counter
-- KEYS[2] depth      requests admitted and not yet decided
-- KEYS[3] outbox     the event's outbox stream
-- KEYS[4] holds      sorted set of held reservation ids by due time (ms)
-- KEYS[5] meta       the event's settings hash {max_per_user, sale_state, sales_open_at, sales_close_at, lottery_*}
-- KEYS[6] users      seats held or bought per user of this event
-- KEYS[7] queued     requests queued per user of this event
-- KEYS[8] pending    admitted, undecided reservation ids scored by arrival number
-- KEYS[9] lease      the event's owner lease
-- ARGV: lease_value, max_seq, limit, base (e.g. "wt:{evt-<id>}"), hold_ttl_ms, retention_ms, schema, channel
-- The reservation and category keys are built from `base` (same hash tag, so one Redis Cluster slot).
--
-- Returns {-1}                 fenced: the lease is not the caller's (nothing changed)
--         {-2, wait_ms}        a lottery window is open: nothing is decided for wait_ms
--         {-3}                 the lottery window closed and its requests are not drawn yet (drawLottery)
--         {1, decided, more, through}  decided `decided` requests; more = 1 if requests up to max_seq
--                              remain; through = the highest arrival number decided (every admitted
--                              request up to it is decided), 0 for a lottery event (scores are draws)
local lease_value, max_seq, limit, base = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
if redis.call('GET', KEYS[9]) ~= lease_value then return { -1 } end

local now = now_ms()
-- A lottery (docs/fairness.md): nothing is decided before the window closes; then the window's requests
-- must be drawn first (drawLottery, by the shard) unless there are none.
local lot = redis.call('HMGET', KEYS[5], 'lottery_window_ms', 'sales_open_at', 'lottery_drawn', 'lottery_last_seq')
if lot[1] and lot[3] ~= '1' then
  local window_end = tonumber(lot[2] or '0') + tonumber(lot[1])
  if now < window_end then return { -2, window_end - now } end
  if lot[4] and redis.call('ZCOUNT', KEYS[8], '-inf', lot[4]) > 0 then return { -3 } end
  redis.call('HSET', KEYS[5], 'lottery_drawn', '1', 'lottery_drawn_at', now, 'lottery_drawn_count', 0,
    'lottery_decided_at_draw', redis.call('GET', KEYS[1]) or '0')
end

local ctx = new_decisions({
  now = now, hold_ttl_ms = tonumber(ARGV[5]), retention_ms = tonumber(ARGV[6]), schema = ARGV[7], channel = ARGV[8],
  max_per_user = tonumber(redis.call('HGET', KEYS[5], 'max_per_user') or '0'),
  closed = sale_state(KEYS[5], now) == 'closed',
  outbox = KEYS[3], holds = KEYS[4], users = KEYS[6], queued = KEYS[7],
})

-- The lowest arrival numbers first; they leave the pending set together at the end (by rank). Every
-- reservation is read first, then its users (load_users), then each is decided in order.
local ids = redis.call('ZRANGEBYSCORE', KEYS[8], '-inf', '+inf', 'LIMIT', 0, limit)
local seq_decision = tonumber(redis.call('GET', KEYS[1]) or '0')
local queued, users, gone = {}, {}, 0
for _, res_id in ipairs(ids) do
  local res_key = base .. ':res:' .. res_id
  local f = redis.call('HMGET', res_key, unpack(DECIDE_FIELDS))
  if f[1] == 'queued' then
    queued[#queued + 1] = res_key
    queued[#queued + 1] = f
    if f[6] then users[#users + 1] = f[6] end
  elseif not f[1] then
    -- Its hash outlived by the pending entry: it was counted in the depth.
    gone = gone + 1
  end
end
load_users(ctx, users)
for i = 1, #queued, 2 do
  local f = queued[i + 1]
  seq_decision = seq_decision + 1
  decide_one(queued[i], base .. ':cat:' .. (f[4] or ''), f, seq_decision, ctx)
end
local decided = #queued / 2
local through = 0
if #ids > 0 then
  if not lot[1] then through = redis.call('ZSCORE', KEYS[8], ids[#ids]) end
  redis.call('ZREMRANGEBYRANK', KEYS[8], 0, #ids - 1)
end
finish_decisions(ctx)
if decided > 0 then redis.call('SET', KEYS[1], seq_decision) end
if decided + gone > 0 and redis.call('DECRBY', KEYS[2], decided + gone) < 0 then redis.call('SET', KEYS[2], 0) end
local more = 0
if #ids == limit and redis.call('ZCOUNT', KEYS[8], '-inf', max_seq) > 0 then more = 1 end
return { 1, decided, more, tonumber(through) }
