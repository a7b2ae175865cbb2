-- Initialises a category's stock once, and the event's settings: a no-op for what exists, so it can
-- run again at any time (after a crash between the Postgres insert and this call, on first use).
--
-- KEYS[1] category   the category's stock hash
-- KEYS[2] meta       the event's settings hash
-- ARGV: total_stock, max_per_user
-- Returns 1 when it created the stock, 0 when it was there already.
redis.call('HSETNX', KEYS[2], 'max_per_user', ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local total = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'total', total, 'available', total, 'held', 0, 'confirmed', 0)
return 1
