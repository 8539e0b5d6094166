-- Webhook deliveries sent straight from their event (issue 16's benchmark:
-- with three endpoints, deliveries cost session starts 13-24 %).
--
-- Before, the deliverer made each event into one pending row per endpoint,
-- claimed the rows, then recorded each outcome: three writes of a delivery
-- row, each with its partial-index entries, for every delivery. Now it
-- claims the event itself (one write for all its endpoints), sends, and
-- writes each delivery's row once, with its outcome, in the transaction
-- that marks the event queued. Only failures (retried) and deliveries
-- waiting behind an earlier pending one of the same endpoint and ordering
-- key stay pending rows.
--
-- locked_until is the claim's lease (a crash frees the event after it);
-- claims counts claims, so that the result of a claim whose lease ran out
-- and was taken over is dropped. The order index finds an earlier
-- unqueued event with the same ordering key: the claim takes an event only
-- when there is none (events of one session go out in order).

-- +goose Up
ALTER TABLE webhook_events ADD COLUMN locked_until DATETIME;
ALTER TABLE webhook_events ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;
CREATE INDEX webhook_events_order ON webhook_events (ordering_key, seq) WHERE NOT queued;

-- +goose Down
DROP INDEX webhook_events_order;
ALTER TABLE webhook_events DROP COLUMN claims;
ALTER TABLE webhook_events DROP COLUMN locked_until;
