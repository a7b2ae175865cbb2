-- Counts rate-limit hits for several clients at once (one gateway's batch; gateway/http/rate-limit-store.ts).
-- Each key is a client's counter for its current window: the first hits of a window set it, with the
-- window's expiry; later hits add to it. rate-limit-redis's logic, for many counters in one call.
--
-- KEYS[i]    a client's counter (every rate-limit key shares one hash tag: one slot)
-- ARGV: hits_1, window_ms_1, hits_2, window_ms_2, … (one pair per key)
--
-- Returns {total_1, ttl_ms_1, total_2, ttl_ms_2, …}: each counter after its hits, and the ms its window
-- has left.
local out = {}
for i, key in ipairs(KEYS) do
  local hits, window_ms = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local ttl = redis.call('PTTL', key)
  local total
  if ttl <= 0 then
    redis.call('SET', key, hits, 'PX', window_ms)
    total, ttl = hits, window_ms
  else
    total = redis.call('INCRBY', key, hits)
  end
  out[2 * i - 1], out[2 * i] = total, ttl
end
return out
