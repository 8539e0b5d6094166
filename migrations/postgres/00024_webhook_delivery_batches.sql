-- Webhook deliveries recorded in batches (issue 16's benchmark: the three
-- delivery rows written for every event were the largest part of what
-- webhooks cost the single writer, about 15 µs each on SQLite).
--
-- The deliveries sent straight from their event whose first attempt
-- succeeded (nearly all of them) are recorded per endpoint and per batch
-- of results in one row, its entries a JSON array, one object per
-- delivery:
--
--   {"seq": event seq, "id": message id (webhook-id), "type": event type,
--    "at": the event's time, "status": HTTP status, "ms": latency,
--    "response": response excerpt (omitted when empty)}
--
-- Such a row is delivered: the claim never reads it. Its created_at is its
-- newest event's time (the purge keeps it as long as that event) and its
-- next_attempt_at its oldest event's; message_id, event_type and payload
-- are empty. The delivery log lists each entry as a delivery. Failures
-- (retried), deliveries waiting behind a pending one, deliveries of events
-- with a dedupe key (expiring soon) and redeliveries keep a row each.

-- +goose Up
ALTER TABLE webhook_deliveries ADD COLUMN entries TEXT;

-- +goose Down
-- Each entry becomes a delivery row again (with its event's time while the
-- event is kept), so the log loses nothing.
INSERT INTO webhook_deliveries (id, message_id, endpoint_id, event_type, payload, state, attempts, created_at,
  next_attempt_at, last_attempt_at, last_status, last_latency_ms, last_response, delivered_at, event_seq)
SELECT (j.value ->> 'id') || '_' || d.endpoint_id, j.value ->> 'id', d.endpoint_id, j.value ->> 'type', '', 'delivered', 1,
  COALESCE(e.created_at, d.created_at), COALESCE(e.created_at, d.created_at), d.last_attempt_at,
  (j.value ->> 'status')::int, (j.value ->> 'ms')::int, COALESCE(j.value ->> 'response', ''), d.delivered_at,
  (j.value ->> 'seq')::bigint
FROM webhook_deliveries d
CROSS JOIN LATERAL jsonb_array_elements(d.entries::jsonb) AS j(value)
LEFT JOIN webhook_events e ON e.seq = (j.value ->> 'seq')::bigint
WHERE d.entries IS NOT NULL
ORDER BY d.seq, (j.value ->> 'seq')::bigint;
DELETE FROM webhook_deliveries WHERE entries IS NOT NULL;
ALTER TABLE webhook_deliveries DROP COLUMN entries;
