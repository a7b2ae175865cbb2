-- Initialises a category's stock once: a no-op when the hash exists, so it can run again at any time
-- (after a crash between the Postgres insert and this call, on first use, at start-up).
--
-- KEYS[1] category   the category's stock hash
-- ARGV: total_stock
-- Returns 1 when it created the stock, 0 when it was there already.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local total = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'total', total, 'available', total, 'held', 0, 'confirmed', 0)
return 1
