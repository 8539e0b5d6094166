-- Webhook queue: events stored once, and a claim that reads only pending
-- rows (issue 16's benchmark: session starts with three endpoints on "*"
-- were 20-36 % slower on SQLite).
--
-- webhook_events holds each event once, written in the transaction of the
-- change it reports (so a crash loses none), with its payload. The
-- deliverer turns events into per-endpoint deliveries in batches (queued
-- set once they are): a session start writes one narrow-indexed row instead
-- of one row per endpoint, each with the whole payload and five index
-- entries.
--
-- The claim takes the oldest pending deliveries in seq order. With only an
-- index on next_attempt_at, SQLite walked the whole table in seq order
-- (delivered rows included) on every claim. An index of the pending rows in
-- seq order gives the claim its order and its filter.

-- +goose Up
CREATE TABLE webhook_events (
  -- No AUTOINCREMENT: events are never deleted, and it would write
  -- sqlite_sequence in every transaction that queues one.
  seq          INTEGER PRIMARY KEY,
  message_id   TEXT NOT NULL,
  event_type   TEXT NOT NULL,
  -- The type's family ("session" of "session.started"), for "session.*".
  family       TEXT NOT NULL,
  ordering_key TEXT NOT NULL DEFAULT '',
  dedupe_key   TEXT,
  -- Only this endpoint (session.expiring_soon, by each endpoint's lead);
  -- NULL: every enabled endpoint subscribed to event_type.
  endpoint_id  TEXT,
  payload      TEXT NOT NULL,
  created_at   DATETIME NOT NULL,
  queued       BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX webhook_events_unqueued ON webhook_events (seq) WHERE NOT queued;

-- The event a delivery was made from (its payload); NULL for deliveries
-- queued before this migration, whose payload is in the row.
ALTER TABLE webhook_deliveries ADD COLUMN event_seq INTEGER;

DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (seq) WHERE state = 'pending';

-- +goose Down
DROP INDEX webhook_deliveries_pending;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
-- Deliveries made from events take their payload back (events not yet
-- made into deliveries are lost with the table).
UPDATE webhook_deliveries SET payload = (SELECT e.payload FROM webhook_events e WHERE e.seq = webhook_deliveries.event_seq)
  WHERE event_seq IS NOT NULL;
ALTER TABLE webhook_deliveries DROP COLUMN event_seq;
DROP TABLE webhook_events;
