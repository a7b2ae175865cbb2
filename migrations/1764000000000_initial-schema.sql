-- Up Migration
-- The durable record. Events and categories are written by the gateway (admin routes); reservations and
-- bookings only by the persister, from the Kafka snapshots, guarded by `version`.

CREATE TABLE events (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  date            timestamptz NOT NULL,
  max_per_user    integer NOT NULL DEFAULT 4 CHECK (max_per_user >= 1),
  sales_open_at   timestamptz,
  sales_close_at  timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  CHECK (sales_close_at IS NULL OR sales_open_at IS NULL OR sales_close_at > sales_open_at)
);
CREATE INDEX events_created_at_id ON events (created_at DESC, id DESC);

CREATE TABLE ticket_categories (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  event_id     uuid NOT NULL REFERENCES events (id),
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  -- name_key is the name as matched: trimmed, NFKC, lower-cased (Unicode-aware) by the gateway; one
  -- name per event whatever its case.
  name_key     text NOT NULL,
  total_stock  integer NOT NULL CHECK (total_stock >= 1),
  price        bigint NOT NULL CHECK (price >= 0),
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (event_id, name_key)
);

CREATE TABLE reservations (
  id            text PRIMARY KEY,
  event_id      uuid NOT NULL REFERENCES events (id),
  category_id   uuid NOT NULL REFERENCES ticket_categories (id),
  user_id       text NOT NULL,
  qty           integer NOT NULL CHECK (qty >= 1),
  status        text NOT NULL CHECK (status IN ('queued', 'reserved', 'rejected', 'confirmed', 'expired', 'cancelled')),
  reason        text,
  seq_arrival   bigint NOT NULL,
  seq_decision  bigint,
  expires_at    timestamptz,
  decided_at    timestamptz,
  booking_id    text,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  version       integer NOT NULL CHECK (version >= 1),
  CHECK (status <> 'rejected' OR reason IS NOT NULL)
);
CREATE INDEX reservations_user_event ON reservations (user_id, event_id, created_at DESC);
CREATE INDEX reservations_event_seq ON reservations (event_id, seq_arrival);

CREATE TABLE bookings (
  id              text PRIMARY KEY,
  reservation_id  text NOT NULL UNIQUE REFERENCES reservations (id),
  event_id        uuid NOT NULL REFERENCES events (id),
  category_id     uuid NOT NULL REFERENCES ticket_categories (id),
  user_id         text NOT NULL,
  qty             integer NOT NULL CHECK (qty >= 1),
  created_at      timestamptz NOT NULL
);

-- Down Migration
DROP TABLE bookings;
DROP TABLE reservations;
DROP TABLE ticket_categories;
DROP TABLE events;
