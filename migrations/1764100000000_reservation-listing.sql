-- Up Migration
-- GET /reservations lists a user's reservations newest first across events.
CREATE INDEX reservations_user_created ON reservations (user_id, created_at DESC, id DESC);

-- Down Migration
DROP INDEX reservations_user_created;
