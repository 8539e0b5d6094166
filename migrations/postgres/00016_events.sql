-- The change log (every administrative change, login and logout, written in
-- the transaction of the change; never deleted or rewritten) and webhooks:
-- endpoints and their durable delivery queue (one row per event and
-- endpoint, written in the transaction of the event).
-- +goose Up
CREATE TABLE change_events (
  seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id            TEXT NOT NULL UNIQUE,
  at            TIMESTAMPTZ NOT NULL,
  actor_id      TEXT NOT NULL DEFAULT '',
  actor_name    TEXT NOT NULL DEFAULT '',
  login_id      TEXT NOT NULL DEFAULT '',
  client_ip     TEXT NOT NULL DEFAULT '',
  request_id    TEXT NOT NULL DEFAULT '',
  action        TEXT NOT NULL CHECK (action <> ''),
  resource_type TEXT NOT NULL CHECK (resource_type <> ''),
  resource_id   TEXT NOT NULL DEFAULT '',
  resource_name TEXT NOT NULL DEFAULT '',
  scope_id      TEXT NOT NULL,
  before_json   TEXT NOT NULL DEFAULT '',
  after_json    TEXT NOT NULL DEFAULT '',
  search_text   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX change_events_at ON change_events (at DESC, seq DESC);
CREATE INDEX change_events_resource ON change_events (resource_id, seq DESC);
CREATE INDEX change_events_actor ON change_events (actor_id, seq DESC);
CREATE INDEX change_events_scope ON change_events (scope_id, seq DESC);

-- +goose StatementBegin
CREATE FUNCTION change_events_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the change log is never deleted or rewritten (% on %)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;
-- +goose StatementEnd
CREATE TRIGGER change_events_no_delete BEFORE DELETE ON change_events
  FOR EACH ROW EXECUTE FUNCTION change_events_refuse();
CREATE TRIGGER change_events_no_update BEFORE UPDATE ON change_events
  FOR EACH ROW EXECUTE FUNCTION change_events_refuse();
CREATE TRIGGER change_events_no_truncate BEFORE TRUNCATE ON change_events
  FOR EACH STATEMENT EXECUTE FUNCTION change_events_refuse();

CREATE TABLE webhook_endpoints (
  id              TEXT PRIMARY KEY,
  name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  url             TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
  event_types     TEXT NOT NULL CHECK (event_types <> ''),
  format          TEXT NOT NULL DEFAULT 'standard' CHECK (format IN ('standard', 'slack')),
  expiring_lead   INTEGER NOT NULL DEFAULT 900 CHECK (expiring_lead BETWEEN 60 AND 86400),
  -- AES-256-GCM under the root key, aad = endpoint id.
  secret          TEXT NOT NULL CHECK (secret <> ''),
  enabled         BOOLEAN NOT NULL DEFAULT TRUE,
  disabled_reason TEXT NOT NULL DEFAULT '',
  failing_since   TIMESTAMPTZ,
  created_at      TIMESTAMPTZ NOT NULL,
  updated_at      TIMESTAMPTZ NOT NULL,
  version         INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX webhook_endpoints_name ON webhook_endpoints (lower(name));

CREATE TABLE webhook_deliveries (
  seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id              TEXT NOT NULL UNIQUE,
  -- The webhook-id header: the same for every attempt and redelivery.
  message_id      TEXT NOT NULL,
  endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  event_type      TEXT NOT NULL,
  -- Deliveries of one endpoint with the same key go out in seq order.
  ordering_key    TEXT NOT NULL DEFAULT '',
  -- Events made by a sweep (expiring soon) are queued once per endpoint.
  dedupe_key      TEXT,
  payload         TEXT NOT NULL,
  state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  created_at      TIMESTAMPTZ NOT NULL,
  next_attempt_at TIMESTAMPTZ NOT NULL,
  locked_until    TIMESTAMPTZ,
  last_attempt_at TIMESTAMPTZ,
  last_status     INTEGER NOT NULL DEFAULT 0,
  last_latency_ms INTEGER NOT NULL DEFAULT 0,
  last_response   TEXT NOT NULL DEFAULT '',
  last_error      TEXT NOT NULL DEFAULT '',
  delivered_at    TIMESTAMPTZ
);
CREATE UNIQUE INDEX webhook_deliveries_dedupe ON webhook_deliveries (endpoint_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, ordering_key, seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, seq DESC);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP TABLE change_events;
DROP FUNCTION change_events_refuse();
