-- Records a lottery event's draw (docs/fairness.md): the requests admitted in the window, given in
-- arrival order with the draw number the shard computed from the event's seed (core/fairness/lottery.ts),
-- are re-scored in the `pending` set by draw number (1..k, all below the later arrivals' numbers), so
-- decideBatch decides them in draw order before every later arrival. Each keeps its `draw_no`; its
-- decision snapshot carries it to PostgreSQL. Once only, by the event's owner, after the window closed.
--
-- KEYS[1] lease     the event's owner lease
-- KEYS[2] meta      the event's settings {lottery_window_ms, sales_open_at, lottery_last_seq, lottery_drawn}
-- KEYS[3] pending   admitted, undecided reservation ids scored by arrival number
-- KEYS[4] decided   decision counter (its value at the draw gives the drawn requests' positions)
-- ARGV: lease_value, base ("wt:{evt-<id>}"), then reservation_id, draw_no pairs in arrival order
--
-- Returns {1, k}   drawn
--         {2}      drawn already (nothing changed)
--         {-1}     fenced: the lease is not the caller's
--         {-2}     the window is still open
--         {-4}     the window's pending requests are not exactly the ones given (one was cancelled
--                  meanwhile): read them again and retry
--         {-5}     not a lottery event
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return { -1 } end
local m = redis.call('HMGET', KEYS[2], 'lottery_window_ms', 'sales_open_at', 'lottery_drawn', 'lottery_last_seq')
if not m[1] then return { -5 } end
if m[3] == '1' then return { 2 } end
local now = now_ms()
if now < tonumber(m[2] or '0') + tonumber(m[1]) then return { -2 } end

local base, k = ARGV[2], (#ARGV - 2) / 2
local last_seq = tonumber(m[4] or '0')
if redis.call('ZCOUNT', KEYS[3], '-inf', last_seq) ~= k then return { -4 } end
-- Every id given must be pending from the window, in arrival order (checked before the first write).
local previous = 0
for i = 0, k - 1 do
  local score = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[3 + 2 * i]) or '')
  if not score or score > last_seq or score <= previous then return { -4 } end
  previous = score
end
for i = 0, k - 1 do
  local id, draw_no = ARGV[3 + 2 * i], ARGV[4 + 2 * i]
  redis.call('ZADD', KEYS[3], 'XX', draw_no, id)
  redis.call('HSET', base .. ':res:' .. id, 'draw_no', draw_no)
end
redis.call('HSET', KEYS[2], 'lottery_drawn', '1', 'lottery_drawn_at', now, 'lottery_drawn_count', k,
  'lottery_decided_at_draw', redis.call('GET', KEYS[4]) or '0')
return { 1, k }
