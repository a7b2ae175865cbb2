-- Decides one queued reserve request by the rules of `decide_one` (in the prelude): refused
-- `sales_closed` once the sale is closed (a paused sale's queue is still decided), `limit_exceeded`
-- past the user's cap, else a hold if `qty` seats are available, else `out_of_stock`. Atomic, and
-- idempotent by reservation id: a reservation that is no longer `queued` is returned as it stands.
-- The shards decide with decideBatch (in arrival order, fenced by the lease); this one-request form
-- serves the gateway's undo of an admission it could not enqueue (`abandon`, with a category key that
-- does not exist, so the request is rejected internal_error) and the one-job-per-request baseline of
-- bench:shard.
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

local f = redis.call('HMGET', KEYS[1], unpack(DECIDE_FIELDS))
if not f[1] then return { 0 } end
if f[1] ~= 'queued' then return answer(2) end

local now = now_ms()
local seq_decision = redis.call('INCR', KEYS[3])
if redis.call('DECR', KEYS[4]) < 0 then redis.call('SET', KEYS[4], 0) end
redis.call('ZREM', KEYS[10], f[2])
local ctx = new_decisions({
  now = now, hold_ttl_ms = hold_ttl_ms, retention_ms = retention_ms, schema = schema, channel = channel,
  max_per_user = tonumber(redis.call('HGET', KEYS[7], 'max_per_user') or '0'),
  closed = sale_state(KEYS[7], now) == 'closed',
  outbox = KEYS[5], holds = KEYS[6], users = KEYS[8], queued = KEYS[9],
})
load_users(ctx, { f[6] })
decide_one(KEYS[1], KEYS[2], f, seq_decision, ctx)
finish_decisions(ctx)
return answer(1)
