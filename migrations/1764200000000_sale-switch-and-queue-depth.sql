-- Up Migration
-- The admin's sale switch (null: the sale window decides) and the event's own queue depth limit (null:
-- QUEUE_MAX_DEPTH). Redis holds the live copies the admission script reads; these survive Redis.
ALTER TABLE events
  ADD COLUMN sale_state text CHECK (sale_state IN ('open', 'paused', 'closed')),
  ADD COLUMN max_depth integer CHECK (max_depth >= 1);

-- Down Migration
ALTER TABLE events DROP COLUMN sale_state, DROP COLUMN max_depth;
