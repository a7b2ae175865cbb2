-- Shared by every script (prepended when the scripts are loaded; see core/scripts.ts).
-- now_ms(): Redis's own clock in epoch milliseconds, the only time used inside decisions.
-- emit(res_key, outbox_key, type, schema): appends the reservation's full snapshot to the outbox stream.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local SNAPSHOT_NUMBERS = { qty = true, seq_arrival = true, seq_decision = true, expires_at = true,
  decided_at = true, created_at = true, updated_at = true, version = true }
local SNAPSHOT_STRINGS = { reservation_id = true, event_id = true, category_id = true, category = true,
  user_id = true, status = true, reason = true, booking_id = true }

local function emit(res_key, outbox_key, event_type, schema)
  local flat = redis.call('HGETALL', res_key)
  local snap = { schema = tonumber(schema), type = event_type }
  for i = 1, #flat, 2 do
    local k, v = flat[i], flat[i + 1]
    if SNAPSHOT_NUMBERS[k] then snap[k] = tonumber(v) elseif SNAPSHOT_STRINGS[k] then snap[k] = v end
  end
  redis.call('XADD', outbox_key, '*', 'type', event_type, 'snapshot', cjson.encode(snap))
end
