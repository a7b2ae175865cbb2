-- Admits one reserve request, or refuses it at the door, in one step:
--   the sale is not open          -> refused (sales_not_open with the seconds until it opens,
--                                    sales_paused, sales_closed)
--   fewer seats are left than qty -> refused out_of_stock without queueing (the "sold-out mark" is the
--                                    category's `available` itself: whatever returns a seat raises it in
--                                    the same script, so there is no false sold-out)
--   the user has max_queued queued -> refused rate_limited (one client cannot fill the queue)
--   the queue is at its depth     -> shed (queue_full) with a Retry-After from the observed drain rate
--   else                          -> arrival number, `queued`, depth + 1, `queued` snapshot to the outbox
-- Requests that reach the stock check take an arrival number whether admitted or not; a refused one
-- leaves a `request.refused` record in the outbox (with the reservation id it would have had).
-- The rules are the prelude's admission_context and admit_one (admitBatch runs the same for many).
-- The gateway enqueues the job after this returns and answers 202 only once the job is in the queue.
--
-- KEYS[1] seq        per-event arrival sequencer
-- KEYS[2] admitted   admitted-request counter (gives the admitted number used for `position`)
-- KEYS[3] decided    decision counter
-- KEYS[4] depth      requests admitted and not yet decided
-- KEYS[5] res        the reservation's hash (must not exist yet)
-- KEYS[6] outbox     the event's outbox stream
-- KEYS[7] category   the category's stock hash (must exist: the gateway initialises it from Postgres)
-- KEYS[8] meta       the event's settings {sale_state, sales_open_at, sales_close_at, max_depth, drain_*,
--                    lottery_window_ms, lottery_last_seq}
-- KEYS[9] queued     requests queued per user of this event
-- KEYS[10] pending   admitted, undecided reservation ids scored by arrival number (decideBatch's order)
-- ARGV: reservation_id, user_id, event_id, category_id, category name, qty, retention_ms, schema,
--       default_max_depth, max_queued_per_user (0: no limit), request_id (the HTTP request's correlation
--       id, kept with the reservation and in its snapshots; '' for none)
--
-- Returns {1, seq_arrival, position, created_at}  admitted (position -1: in a lottery window, not drawn yet)
--         {2, seq_arrival, position, created_at}  a reservation with this id exists already (unchanged)
--         {3}                                     the category's stock is not initialised in Redis
--         {4, retry_after_s}                      sales_not_open
--         {5}                                     sales_paused
--         {6}                                     sales_closed
--         {7, seq_arrival}                        out_of_stock (not queued)
--         {8, seq_arrival, retry_after_s}         queue_full (shed)
--         {9, seq_arrival}                        rate_limited: the user's requests queued at once
local ctx = admission_context(
  { seq = KEYS[1], admitted = KEYS[2], decided = KEYS[3], depth = KEYS[4], outbox = KEYS[6], meta = KEYS[8], queued = KEYS[9], pending = KEYS[10] },
  ARGV[3], tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10]))
local reply = admit_one(ctx, KEYS[5], KEYS[7], { res_id = ARGV[1], user_id = ARGV[2], cat_id = ARGV[4], cat_name = ARGV[5],
  qty = tonumber(ARGV[6]), request_id = ARGV[11] ~= '' and ARGV[11] or nil })
finish_admissions(ctx)
return reply
