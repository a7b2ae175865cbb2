-- Up Migration
-- Correlation (docs/operations.md): the request id of the HTTP request that created a reservation, or
-- that was refused at the door, kept with it. A refusal's key is now named for what it is: the
-- reservation id the request would have had.
ALTER TABLE refusals RENAME COLUMN request_id TO reservation_id;
ALTER TABLE refusals ADD COLUMN request_id text;
ALTER TABLE reservations ADD COLUMN request_id text;

-- Down Migration
ALTER TABLE reservations DROP COLUMN request_id;
ALTER TABLE refusals DROP COLUMN request_id;
ALTER TABLE refusals RENAME COLUMN reservation_id TO request_id;
