-- Admits or refuses several reserve requests of one event, in the order given, exactly as that many
-- admitRequest calls in a row would (same rules: the prelude's admission_context and admit_one), in
-- one call: a gateway sends the requests that arrived while its previous call was in flight together.
--
-- KEYS[1] seq, KEYS[2] admitted, KEYS[3] decided, KEYS[4] depth, KEYS[5] outbox, KEYS[6] meta,
-- KEYS[7] queued, KEYS[8] pending (as in admitRequest)
-- ARGV: base (e.g. "wt:{evt-<id>}": the reservation and category keys are built from it, same hash
--       tag, so one Redis Cluster slot), event_id, retention_ms, schema, default_max_depth,
--       max_queued_per_user (0: no limit), then 6 values per request: reservation_id, user_id,
--       category_id, category name, qty, request_id ('' for none)
-- Returns one admitRequest reply per request, in the same order.
local base = ARGV[1]
local ctx = admission_context(
  { seq = KEYS[1], admitted = KEYS[2], decided = KEYS[3], depth = KEYS[4], outbox = KEYS[5], meta = KEYS[6], queued = KEYS[7], pending = KEYS[8] },
  ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]))
local replies = {}
for i = 7, #ARGV, 6 do
  local r = { res_id = ARGV[i], user_id = ARGV[i + 1], cat_id = ARGV[i + 2], cat_name = ARGV[i + 3],
    qty = tonumber(ARGV[i + 4]), request_id = ARGV[i + 5] ~= '' and ARGV[i + 5] or nil }
  replies[#replies + 1] = admit_one(ctx, base .. ':res:' .. r.res_id, base .. ':cat:' .. r.cat_id, r)
end
finish_admissions(ctx)
return replies
