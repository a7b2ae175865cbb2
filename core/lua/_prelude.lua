-- Shared by every script (prepended when the scripts are loaded; see core/redis.ts).
--   now_ms()       Redis's own clock in epoch milliseconds, the only time used inside transitions.
--   emit(...)      appends the reservation's full snapshot to the outbox stream and announces the change
--                  on the event's channel (the gateways' long-polls listen there).
--   release(...)   returns a hold's seats to `available`, lowers the user's count, forgets the due time.
--   sale_state(...) the sale's state now, from the admin switch or else the sale window.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local SNAPSHOT_NUMBERS = { qty = true, seq_arrival = true, seq_decision = true, expires_at = true,
  decided_at = true, created_at = true, updated_at = true, version = true, draw_no = true }
local SNAPSHOT_STRINGS = { reservation_id = true, event_id = true, category_id = true, category = true,
  user_id = true, status = true, reason = true, booking_id = true, request_id = true }

-- Appends a snapshot (a table of the reservation's fields) to the outbox and announces the change.
local function emit_snapshot(snap, outbox_key, channel, event_type, schema)
  snap.schema, snap.type = tonumber(schema), event_type
  redis.call('XADD', outbox_key, '*', 'type', event_type, 'snapshot', cjson.encode(snap))
  if channel ~= '' then redis.call('PUBLISH', channel, snap.reservation_id .. ' ' .. snap.status) end
end

local function emit(res_key, outbox_key, channel, event_type, schema)
  local flat = redis.call('HGETALL', res_key)
  local snap = {}
  for i = 1, #flat, 2 do
    local k, v = flat[i], flat[i + 1]
    if SNAPSHOT_NUMBERS[k] then snap[k] = tonumber(v) elseif SNAPSHOT_STRINGS[k] then snap[k] = v end
  end
  emit_snapshot(snap, outbox_key, channel, event_type, schema)
end

local function release(res_key, cat_key, users_key, holds_key)
  local r = redis.call('HMGET', res_key, 'reservation_id', 'user_id', 'qty')
  local qty = tonumber(r[3])
  redis.call('HINCRBY', cat_key, 'available', qty)
  redis.call('HINCRBY', cat_key, 'held', -qty)
  if redis.call('HINCRBY', users_key, r[2], -qty) <= 0 then redis.call('HDEL', users_key, r[2]) end
  redis.call('ZREM', holds_key, r[1])
end

-- Bumps version and updated_at, and keeps the reservation readable `retention_ms` after this change
-- (longer while a hold is open).
local function touch(res_key, now, retention_ms)
  redis.call('HINCRBY', res_key, 'version', 1)
  redis.call('HSET', res_key, 'updated_at', now)
  local expires_at = tonumber(redis.call('HGET', res_key, 'expires_at') or '0')
  redis.call('PEXPIREAT', res_key, math.max(now, expires_at) + retention_ms)
end

-- The sale's state at `now`: the admin switch (`sale_state`: open, paused, closed) wins at once; without
-- one, the window decides: `scheduled` before sales_open_at (with the ms left), `closed` from
-- sales_close_at, else `open`.
local function sale_state(meta_key, now)
  local m = redis.call('HMGET', meta_key, 'sale_state', 'sales_open_at', 'sales_close_at')
  if m[1] == 'open' or m[1] == 'paused' or m[1] == 'closed' then return m[1], 0 end
  local open_at, close_at = tonumber(m[2] or ''), tonumber(m[3] or '')
  if open_at and now < open_at then return 'scheduled', open_at - now end
  if close_at and now >= close_at then return 'closed', 0 end
  return 'open', 0
end

-- The fields of a reservation a decision reads (all of its snapshot: no second read to emit it).
local DECIDE_FIELDS = { 'status', 'reservation_id', 'event_id', 'category_id', 'category', 'user_id',
  'qty', 'seq_arrival', 'created_at', 'version', 'booking_id', 'draw_no', 'request_id' }

-- Decides one reservation whose fields `f` (read with DECIDE_FIELDS, status `queued`) the caller has,
-- as the `seq_decision`-th decision. `ctx` (from new_decisions) holds what a call reads once:
-- ctx.now, ctx.hold_ttl_ms, ctx.retention_ms, ctx.schema, ctx.channel, ctx.max_per_user, ctx.closed
-- (the sale is closed), ctx.avail (category key -> seats available, read once per call and kept
-- current), and the keys ctx.outbox, ctx.holds, ctx.users, ctx.queued; and what the call does once at
-- its end (finish_decisions): the snapshots (one outbox entry), the announcements of the changes (one
-- PUBLISH) and the users whose queued count reached 0 (one HDEL). The caller moves the decided, depth and pending counters (once per call).
-- The rules, in order: a reservation or stock that cannot be read (no stock hash, no max_per_user, a
-- field that is not a number) -> rejected internal_error; sale closed -> rejected sales_closed; the
-- user's seats plus qty above max_per_user -> rejected limit_exceeded; `qty` seats available ->
-- reserved (a hold until now + hold_ttl_ms); else rejected out_of_stock.
-- Everything is read and checked before the first write, because Redis does not undo a script's
-- writes when it fails halfway. One HSET writes the decision; its snapshot goes to the outbox with the
-- call's others (finish_decisions).
local function decide_one(res_key, cat_key, f, seq_decision, ctx)
  local res_id, user_id, qty = f[2], f[6], tonumber(f[7] or '')
  local available = ctx.avail[cat_key]
  if available == nil then
    available = tonumber(redis.call('HGET', cat_key, 'available') or '') or false
    ctx.avail[cat_key] = available
  end
  local user_seats = user_id and tonumber(redis.call('HGET', ctx.users, user_id) or '0')

  local status, reason = 'rejected', nil
  if not qty or not user_id or not available or not user_seats or ctx.max_per_user == 0 then
    reason = 'internal_error'
  elseif ctx.closed then
    reason = 'sales_closed'
  elseif user_seats + qty > ctx.max_per_user then
    reason = 'limit_exceeded'
  elseif available >= qty then
    status = 'reserved'
  else
    reason = 'out_of_stock'
  end

  local now = ctx.now
  local version = (tonumber(f[10] or '0') or 0) + 1
  local snap = { reservation_id = res_id, event_id = f[3], category_id = f[4], category = f[5], user_id = user_id,
    qty = qty, seq_arrival = tonumber(f[8] or ''), created_at = tonumber(f[9] or ''),
    status = status, seq_decision = seq_decision, decided_at = now, updated_at = now, version = version }
  if f[11] then snap.booking_id = f[11] end
  if f[12] then snap.draw_no = tonumber(f[12]) end
  if f[13] then snap.request_id = f[13] end
  if user_id and redis.call('HINCRBY', ctx.queued, user_id, -1) <= 0 then ctx.drained[#ctx.drained + 1] = user_id end
  local event_type = 'reservation.rejected'
  if status == 'reserved' then
    ctx.avail[cat_key] = available - qty
    redis.call('HINCRBY', cat_key, 'available', -qty)
    redis.call('HINCRBY', cat_key, 'held', qty)
    redis.call('HINCRBY', ctx.users, user_id, qty)
    local expires_at = now + ctx.hold_ttl_ms
    redis.call('ZADD', ctx.holds, expires_at, res_id)
    redis.call('HSET', res_key, 'status', 'reserved', 'expires_at', expires_at, 'seq_decision', seq_decision,
      'decided_at', now, 'updated_at', now, 'version', version)
    snap.expires_at, event_type = expires_at, 'reservation.reserved'
    -- Readable `retention_ms` after the hold's end.
    redis.call('PEXPIREAT', res_key, expires_at + ctx.retention_ms)
  else
    -- A rejection keeps the expiry set at admission (`retention_ms` after it): readable as long as the
    -- request's idempotency key, and one command fewer per decision.
    redis.call('HSET', res_key, 'status', 'rejected', 'reason', reason, 'seq_decision', seq_decision,
      'decided_at', now, 'updated_at', now, 'version', version)
    snap.reason = reason
  end
  snap.schema, snap.type = tonumber(ctx.schema), event_type
  ctx.snapshots[#ctx.snapshots + 1] = cjson.encode(snap)
  ctx.announce[#ctx.announce + 1] = res_id .. ' ' .. status
end

-- The context of one call's decisions (see decide_one); `settings` gives now, hold_ttl_ms,
-- retention_ms, schema, channel, max_per_user, closed and the keys.
local function new_decisions(settings)
  settings.avail, settings.announce, settings.drained, settings.snapshots = {}, {}, {}, {}
  return settings
end

-- What a call's decisions do once at the end: one outbox entry carrying every snapshot (field
-- `snapshots`, one JSON per line; the relay publishes a Kafka message per line), one announcement of
-- every change on the event's channel (lines `<reservation id> <status>`), and one HDEL of the users
-- with nothing queued any more.
local function finish_decisions(ctx)
  if #ctx.snapshots > 0 then
    redis.call('XADD', ctx.outbox, '*', 'type', 'batch', 'snapshots', table.concat(ctx.snapshots, '\n'))
  end
  if #ctx.announce > 0 and ctx.channel ~= '' then redis.call('PUBLISH', ctx.channel, table.concat(ctx.announce, '\n')) end
  for i = 1, #ctx.drained, 1000 do
    redis.call('HDEL', ctx.queued, unpack(ctx.drained, i, math.min(i + 999, #ctx.drained)))
  end
end
