-- Instances (serve and dev processes, each embedding a worker) and the one
-- relaying each connection. Every instance marks itself seen every few
-- seconds; one not seen for the grace period (--instance-grace) is dead, and
-- the session loop of any live instance closes its open connections
-- (`system error`), so the sessions it held finish instead of staying
-- `canceling` (or "open") until they expire. Connections admitted before
-- this migration have no instance and are left to expiry as before.
-- +goose Up
CREATE TABLE worker_instances (
  id         TEXT PRIMARY KEY,
  started_at TIMESTAMPTZ NOT NULL,
  seen_at    TIMESTAMPTZ NOT NULL
);
ALTER TABLE session_connections ADD COLUMN instance_id TEXT;
CREATE INDEX session_connections_instance_open ON session_connections (instance_id) WHERE closed_at IS NULL;

-- +goose Down
DROP INDEX session_connections_instance_open;
ALTER TABLE session_connections DROP COLUMN instance_id;
DROP TABLE worker_instances;
