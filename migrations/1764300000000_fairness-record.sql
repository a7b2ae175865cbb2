-- Up Migration
-- The fairness record (docs/fairness.md): every request that took an arrival number is a row, either of
-- `reservations` (admitted; its created_at is when it was received) or of `refusals` (refused at the door
-- after taking the number: sold out, queue full, too many queued by its user). Written by the persister
-- from `request.refused` messages; request_id is the reservation id the request would have had.
CREATE TABLE refusals (
  request_id   text PRIMARY KEY,
  event_id     uuid NOT NULL REFERENCES events (id),
  category_id  uuid NOT NULL REFERENCES ticket_categories (id),
  user_id      text NOT NULL,
  qty          integer NOT NULL CHECK (qty >= 1),
  seq_arrival  bigint NOT NULL,
  reason       text NOT NULL CHECK (reason IN ('out_of_stock', 'queue_full', 'rate_limited')),
  received_at  timestamptz NOT NULL
);
CREATE INDEX refusals_event_seq ON refusals (event_id, seq_arrival);

-- The lottery pre-queue: requests of the first lottery_window_s seconds after sales_open_at are decided
-- in an order drawn once with lottery_seed (a 32-bit unsigned integer); draw_no is a request's place in
-- that draw (1..k), null for requests decided in arrival order.
ALTER TABLE events
  ADD COLUMN admission_mode text NOT NULL DEFAULT 'fifo' CHECK (admission_mode IN ('fifo', 'lottery')),
  ADD COLUMN lottery_window_s integer CHECK (lottery_window_s BETWEEN 1 AND 3600),
  ADD COLUMN lottery_seed bigint CHECK (lottery_seed BETWEEN 0 AND 4294967295),
  ADD CONSTRAINT events_lottery_settings CHECK (
    admission_mode = 'fifo' OR (lottery_window_s IS NOT NULL AND lottery_seed IS NOT NULL AND sales_open_at IS NOT NULL));
ALTER TABLE reservations ADD COLUMN draw_no integer CHECK (draw_no >= 1);

-- Down Migration
ALTER TABLE reservations DROP COLUMN draw_no;
ALTER TABLE events DROP CONSTRAINT events_lottery_settings, DROP COLUMN lottery_seed,
  DROP COLUMN lottery_window_s, DROP COLUMN admission_mode;
DROP TABLE refusals;
