-- Shared by the scripts: when they are loaded, each gets the definitions below that it uses, and
-- those these use, in front of its own text (preludeFor in core/redis.ts). So each top-level
-- definition here starts a line with `local function name(` or `local NAME =`, its comment lines right
-- above it, and nothing else runs at the top level.
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

-- Whether a record's free-text values can go in a compact outbox line (no tab, no newline): each
-- category name checked once per call (`cache`), the user id and request id (nil for none) each time.
local function plain_values(cache, category, user_id, request_id)
  local plain = cache[category]
  if plain == nil then
    plain = not string.find(category, '[\t\n]')
    cache[category] = plain
  end
  return plain and not string.find(user_id, '[\t\n]') and not (request_id and string.find(request_id, '[\t\n]'))
end

-- A decision's outbox record. Usually a compact line (the relay makes the snapshot's JSON from it:
-- decisionLineSnapshot in core/contracts.ts): `d1`, then tab-separated, absent values empty:
--   schema reservation_id event_id category_id category user_id qty seq_arrival created_at status
--   reason seq_decision decided_at version expires_at booking_id draw_no request_id
-- (updated_at is decided_at). Concatenating strings the script already holds costs a fraction of a
-- cjson.encode, and this script is the one serial step of a hot event. The snapshot's JSON is written
-- instead when a value could break the line (a category name, user id or request id with a tab or a
-- newline: they come from outside) or the reservation could not be read (internal_error).
local function decision_record(ctx, f, status, reason, seq_s, version_s, expires_s)
  local category, user_id, request_id = f[5], f[6], f[13]
  if category and reason ~= 'internal_error' and f[2] and f[3] and f[4] and f[8] and f[9]
    and plain_values(ctx.plain_categories, category, user_id, request_id) then
    return 'd1\t' .. ctx.schema .. '\t' .. f[2] .. '\t' .. f[3] .. '\t' .. f[4] .. '\t' .. category .. '\t' .. user_id ..
      '\t' .. f[7] .. '\t' .. f[8] .. '\t' .. f[9] .. '\t' .. status .. '\t' .. (reason or '') .. '\t' .. seq_s ..
      '\t' .. ctx.now_s .. '\t' .. version_s .. '\t' .. (expires_s or '') .. '\t' .. (f[11] or '') .. '\t' .. (f[12] or '') ..
      '\t' .. (request_id or '')
  end
  return cjson.encode({ schema = tonumber(ctx.schema), type = 'reservation.' .. status,
    reservation_id = f[2] or nil, event_id = f[3] or nil, category_id = f[4] or nil, category = category or nil, user_id = user_id or nil,
    qty = tonumber(f[7] or ''), seq_arrival = tonumber(f[8] or ''), created_at = tonumber(f[9] or ''),
    status = status, reason = reason, seq_decision = tonumber(seq_s), decided_at = ctx.now, updated_at = ctx.now,
    version = tonumber(version_s), expires_at = tonumber(expires_s or ''), booking_id = f[11] or nil,
    draw_no = tonumber(f[12] or ''), request_id = request_id or nil })
end

-- The context of one call's decisions; `settings` gives now, hold_ttl_ms, retention_ms, schema, channel,
-- max_per_user, closed (the sale is closed) and the keys outbox, holds, users, queued. A call reads
-- once what its decisions share (load_users, and each category's `available` on first use), keeps it
-- current in Lua as it decides, and writes the shared counters once at the end (finish_decisions).
local function new_decisions(settings)
  settings.now_s = tostring(settings.now)
  settings.avail, settings.taken, settings.categories = {}, {}, {}
  settings.seats, settings.queued_n, settings.user_list, settings.seated = {}, {}, {}, {}
  settings.holds_args, settings.records, settings.announce, settings.plain_categories = {}, {}, {}, {}
  return settings
end

-- Reads the seats and the queued count of every user in `users` (a list, repeats allowed): two HMGETs
-- per thousand users instead of two commands per decision.
local function load_users(ctx, users)
  local list, seen = ctx.user_list, {}
  for i = 1, #users do
    local u = users[i]
    if not seen[u] then seen[u] = true; list[#list + 1] = u end
  end
  for i = 1, #list, 1000 do
    local j = math.min(i + 999, #list)
    local seats = redis.call('HMGET', ctx.users, unpack(list, i, j))
    local queued = redis.call('HMGET', ctx.queued, unpack(list, i, j))
    for k = i, j do
      ctx.seats[list[k]] = tonumber(seats[k - i + 1] or '0')
      ctx.queued_n[list[k]] = tonumber(queued[k - i + 1] or '0') or 0
    end
  end
end

-- Decides one reservation whose fields `f` (read with DECIDE_FIELDS, status `queued`) the caller has,
-- as the `seq_decision`-th decision, in the context `ctx` (new_decisions; its user loaded with
-- load_users). The rules, in order: a reservation or stock that cannot be read (no stock hash, no
-- max_per_user, a field that is not a number, a user not loaded) -> rejected internal_error; sale
-- closed -> rejected sales_closed; the user's seats plus qty above max_per_user -> rejected
-- limit_exceeded; `qty` seats available -> reserved (a hold until now + hold_ttl_ms); else rejected
-- out_of_stock. Everything a decision needs is read before its first write, because Redis does not
-- undo a script's writes when it fails halfway. One HSET writes the decision; the seats, holds, user
-- counts, outbox record and announcement go out with the call's others (finish_decisions).
local function decide_one(res_key, cat_key, f, seq_decision, ctx)
  local user_id, qty = f[6], tonumber(f[7] or '')
  local available = ctx.avail[cat_key]
  if available == nil then
    available = tonumber(redis.call('HGET', cat_key, 'available') or '') or false
    ctx.avail[cat_key] = available
  end
  local user_seats = user_id and ctx.seats[user_id]

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

  local now_s = ctx.now_s
  local seq_s = tostring(seq_decision)
  local version_s = tostring((tonumber(f[10] or '0') or 0) + 1)
  local expires_s = nil
  if user_id and ctx.queued_n[user_id] then ctx.queued_n[user_id] = ctx.queued_n[user_id] - 1 end
  if status == 'reserved' then
    ctx.avail[cat_key] = available - qty
    if not ctx.taken[cat_key] then ctx.taken[cat_key] = 0; ctx.categories[#ctx.categories + 1] = cat_key end
    ctx.taken[cat_key] = ctx.taken[cat_key] + qty
    ctx.seats[user_id] = user_seats + qty
    ctx.seated[#ctx.seated + 1] = user_id
    local expires_at = ctx.now + ctx.hold_ttl_ms
    expires_s = tostring(expires_at)
    ctx.holds_args[#ctx.holds_args + 1] = expires_s
    ctx.holds_args[#ctx.holds_args + 1] = f[2]
    redis.call('HSET', res_key, 'status', 'reserved', 'expires_at', expires_s, 'seq_decision', seq_s,
      'decided_at', now_s, 'updated_at', now_s, 'version', version_s)
    -- Readable `retention_ms` after the hold's end.
    redis.call('PEXPIREAT', res_key, expires_at + ctx.retention_ms)
  else
    -- A rejection keeps the expiry set at admission (`retention_ms` after it): readable as long as the
    -- request's idempotency key, and one command fewer per decision.
    redis.call('HSET', res_key, 'status', 'rejected', 'reason', reason, 'seq_decision', seq_s,
      'decided_at', now_s, 'updated_at', now_s, 'version', version_s)
  end
  ctx.records[#ctx.records + 1] = decision_record(ctx, f, status, reason, seq_s, version_s, expires_s)
  ctx.announce[#ctx.announce + 1] = f[2] .. ' ' .. status
end

-- Runs `command` on `key` with `args` in chunks of at most 1000 arguments (Lua's unpack limit) of
-- `step`-sized groups.
local function call_chunked(command, key, args, step)
  local per = 1000 - 1000 % step
  for i = 1, #args, per do redis.call(command, key, unpack(args, i, math.min(i + per - 1, #args))) end
end

-- What a call's decisions write once at the end: each category's seats taken (available, held), the
-- new holds' due times, the users' seats and queued counts (a user with nothing queued any more is
-- removed), one outbox entry carrying every decision's record (field `snapshots`, one per line; the
-- relay publishes a Kafka message per line), and one announcement of every change on the event's
-- channel (lines `<reservation id> <status>`).
local function finish_decisions(ctx)
  for _, cat_key in ipairs(ctx.categories) do
    redis.call('HINCRBY', cat_key, 'available', -ctx.taken[cat_key])
    redis.call('HINCRBY', cat_key, 'held', ctx.taken[cat_key])
  end
  call_chunked('ZADD', ctx.holds, ctx.holds_args, 2)
  local seats, seen = {}, {}
  for _, u in ipairs(ctx.seated) do
    if not seen[u] then seen[u] = true; seats[#seats + 1] = u; seats[#seats + 1] = ctx.seats[u] end
  end
  call_chunked('HSET', ctx.users, seats, 2)
  local queued, drained = {}, {}
  for _, u in ipairs(ctx.user_list) do
    local n = ctx.queued_n[u]
    if n > 0 then queued[#queued + 1] = u; queued[#queued + 1] = n else drained[#drained + 1] = u end
  end
  call_chunked('HSET', ctx.queued, queued, 2)
  call_chunked('HDEL', ctx.queued, drained, 1)
  if #ctx.records > 0 then
    redis.call('XADD', ctx.outbox, '*', 'type', 'batch', 'snapshots', table.concat(ctx.records, '\n'))
  end
  if #ctx.announce > 0 and ctx.channel ~= '' then redis.call('PUBLISH', ctx.channel, table.concat(ctx.announce, '\n')) end
end

-- Admission (admitRequest, admitBatch): what every request of one call shares is read once by
-- admission_context; admit_one then admits or refuses one request. A script runs alone, so those facts
-- hold for the whole call, and a batch admits its requests exactly as that many calls in a row would.
-- K: { seq, admitted, decided, depth, outbox, meta, queued, pending } (the event's keys).
-- A request refused after taking its arrival number is recorded too (docs/fairness.md): a
-- `request.refused` entry in the outbox, so the fairness report sees every arrival.
local function admission_context(K, event_id, retention_ms, schema, default_max_depth, max_queued)
  local now = now_ms()
  local ctx = { K = K, event_id = event_id, retention_ms = retention_ms, schema = schema, max_queued = max_queued, now = now,
    now_s = tostring(now), available = {}, records = {}, plain_categories = {} }
  ctx.state, ctx.opens_in_ms = sale_state(K.meta, now)
  if ctx.state ~= 'open' then return ctx end
  -- The drain rate (decisions per second), re-sampled at most once a second.
  ctx.decided = tonumber(redis.call('GET', K.decided) or '0')
  local d = redis.call('HMGET', K.meta, 'drain_at', 'drain_decided', 'drain_rate', 'lottery_window_ms', 'sales_open_at', 'max_depth')
  local drain_at, drain_rate = tonumber(d[1] or '0'), tonumber(d[3] or '0')
  if now - drain_at >= 1000 then
    if drain_at > 0 then drain_rate = (ctx.decided - tonumber(d[2] or '0')) * 1000 / (now - drain_at) end
    redis.call('HSET', K.meta, 'drain_at', now, 'drain_decided', ctx.decided, 'drain_rate', string.format('%.3f', drain_rate))
  end
  ctx.drain_rate = drain_rate
  -- A lottery event's request in the window (sales_open_at + window): decided in the drawn order once
  -- the window closes (drawLottery); its place is unknown until then (position -1).
  ctx.in_lottery = d[4] and now < tonumber(d[5] or '0') + tonumber(d[4]) or false
  ctx.max_depth = tonumber(d[6] or '') or default_max_depth
  ctx.depth = tonumber(redis.call('GET', K.depth) or '0')
  return ctx
end

-- The outbox records of admission, as compact tab-separated lines (`q1`: a `reservation.queued`
-- snapshot, `r1`: a `request.refused` record; QUEUED_LINE_FIELDS and REFUSAL_LINE_FIELDS in
-- core/contracts.ts) that the relay turns into the same JSON, as decision_record does for decisions: a
-- line costs a fraction of a cjson.encode, and admission writes one for every arriving request. A
-- request whose category name, user id or request id holds a tab or a newline is written as JSON.
local function plain_request(ctx, r)
  return plain_values(ctx.plain_categories, r.cat_name, r.user_id, r.request_id)
end

local function queued_record(ctx, r, seq)
  if plain_request(ctx, r) then
    return 'q1\t' .. ctx.schema .. '\t' .. r.res_id .. '\t' .. ctx.event_id .. '\t' .. r.cat_id .. '\t' .. r.cat_name .. '\t' ..
      r.user_id .. '\t' .. r.qty .. '\t' .. seq .. '\t' .. ctx.now_s .. '\t' .. (r.request_id or '')
  end
  return cjson.encode({ schema = tonumber(ctx.schema), type = 'reservation.queued', reservation_id = r.res_id,
    event_id = ctx.event_id, category_id = r.cat_id, category = r.cat_name, user_id = r.user_id, qty = r.qty, status = 'queued',
    seq_arrival = seq, created_at = ctx.now, updated_at = ctx.now, version = 1, request_id = r.request_id })
end

local function refusal_record(ctx, r, seq, reason)
  if plain_request(ctx, r) then
    return 'r1\t' .. ctx.schema .. '\t' .. r.res_id .. '\t' .. ctx.event_id .. '\t' .. r.cat_id .. '\t' .. r.user_id .. '\t' ..
      r.qty .. '\t' .. seq .. '\t' .. reason .. '\t' .. ctx.now_s .. '\t' .. (r.request_id or '')
  end
  return cjson.encode({ schema = tonumber(ctx.schema), type = 'request.refused', reservation_id = r.res_id, request_id = r.request_id,
    event_id = ctx.event_id, category_id = r.cat_id, user_id = r.user_id, qty = r.qty, seq_arrival = seq, reason = reason, received_at = ctx.now })
end

-- One request: r = { res_id, user_id, cat_id, cat_name, qty, request_id (nil for none) }; res_key and
-- cat_key are its reservation's and category's keys. Returns admitRequest's reply (see there).
local function admit_one(ctx, res_key, cat_key, r)
  local K, now = ctx.K, ctx.now
  if redis.call('EXISTS', res_key) == 1 then
    local f = redis.call('HMGET', res_key, 'seq_arrival', 'admitted_no', 'created_at', 'lottery')
    local decided = tonumber(redis.call('GET', K.decided) or '0')
    return { 2, tonumber(f[1]), f[4] and -1 or math.max(0, tonumber(f[2]) - decided - 1), tonumber(f[3]) }
  end
  -- A category's seats available, read once per call (admission never changes them); false: no stock hash.
  local available = ctx.available[cat_key]
  if available == nil then
    available = tonumber(redis.call('HGET', cat_key, 'available') or '') or false
    ctx.available[cat_key] = available
  end
  if not available then return { 3 } end
  if ctx.state == 'scheduled' then return { 4, math.max(1, math.ceil(ctx.opens_in_ms / 1000)) } end
  if ctx.state == 'paused' then return { 5 } end
  if ctx.state == 'closed' then return { 6 } end

  local seq = redis.call('INCR', K.seq)
  local function refuse(reason)
    ctx.records[#ctx.records + 1] = refusal_record(ctx, r, seq, reason)
  end
  if available < r.qty then
    refuse('out_of_stock')
    return { 7, seq }
  end
  if ctx.max_queued > 0 and tonumber(redis.call('HGET', K.queued, r.user_id) or '0') >= ctx.max_queued then
    refuse('rate_limited')
    return { 9, seq }
  end
  if ctx.depth >= ctx.max_depth then
    refuse('queue_full')
    return { 8, seq, math.min(60, math.max(1, math.ceil(ctx.depth / math.max(ctx.drain_rate, 1)))) }
  end

  if ctx.in_lottery then redis.call('HSET', K.meta, 'lottery_last_seq', seq) end
  local admitted_no = redis.call('INCR', K.admitted)
  redis.call('INCR', K.depth)
  ctx.depth = ctx.depth + 1
  redis.call('HINCRBY', K.queued, r.user_id, 1)
  redis.call('ZADD', K.pending, seq, r.res_id)
  local fields = { 'reservation_id', r.res_id, 'user_id', r.user_id, 'event_id', ctx.event_id, 'category_id', r.cat_id,
    'category', r.cat_name, 'qty', r.qty, 'status', 'queued', 'seq_arrival', seq, 'admitted_no', admitted_no,
    'created_at', now, 'updated_at', now, 'version', 1 }
  if ctx.in_lottery then fields[#fields + 1] = 'lottery'; fields[#fields + 1] = 1 end
  if r.request_id then fields[#fields + 1] = 'request_id'; fields[#fields + 1] = r.request_id end
  redis.call('HSET', res_key, unpack(fields))
  redis.call('PEXPIRE', res_key, ctx.retention_ms)
  ctx.records[#ctx.records + 1] = queued_record(ctx, r, seq)
  return { 1, seq, ctx.in_lottery and -1 or math.max(0, admitted_no - ctx.decided - 1), now }
end

-- The call's outbox records (a `reservation.queued` snapshot per admission, a `request.refused` record
-- per refusal after an arrival number), in order, in one outbox entry (field `snapshots`, one JSON
-- per line, as a decision call writes them): one XADD per call instead of one per request.
local function finish_admissions(ctx)
  if #ctx.records > 0 then
    redis.call('XADD', ctx.K.outbox, '*', 'type', 'batch', 'snapshots', table.concat(ctx.records, '\n'))
  end
end
