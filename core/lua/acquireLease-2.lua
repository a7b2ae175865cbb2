-- Takes an event's owner lease if it is free, or renews it if the caller holds it. The lease's value is
-- `<token>:<shard id>`, the token a fencing number from the event's own counter, so every new owner's
-- token is higher than every earlier owner's. The decision script runs only for the current value.
--
-- KEYS[1] lease   the event's owner lease (expires after ttl_ms unless renewed)
-- KEYS[2] fence   the event's fencing counter (never expires)
-- ARGV: shard_id, ttl_ms, held_value ('' when the caller holds no lease for this event)
--
-- Returns {1, value}         taken now (a new token)
--         {2, value}         the caller's lease, renewed
--         {0, value, pttl}   owned by another shard (or the caller lost it: value is not held_value)
local shard_id, ttl_ms, held = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local current = redis.call('GET', KEYS[1])
if current then
  if current == held then
    redis.call('PEXPIRE', KEYS[1], ttl_ms)
    return { 2, current }
  end
  return { 0, current, redis.call('PTTL', KEYS[1]) }
end
if held ~= '' then
  -- The caller's lease expired: it may not silently take the event back under its old token.
  return { 0, '', 0 }
end
local value = redis.call('INCR', KEYS[2]) .. ':' .. shard_id
redis.call('SET', KEYS[1], value, 'PX', ttl_ms)
return { 1, value }
