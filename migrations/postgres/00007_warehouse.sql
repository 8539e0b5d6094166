-- Session warehouse: the history of every session, never deleted.
-- warehouse_sessions holds one row per session: its snapshot (everything that
-- authorized it, as it was then; never updated) and its accumulating facts
-- (state times, termination reason, connection count, bytes; updated as the
-- session lives). warehouse_session_states is the state timeline and
-- warehouse_connections the facts per connection. No foreign key points at
-- an operational table, so deleting users, targets or scopes leaves them intact.
-- +goose Up
CREATE TABLE warehouse_sessions (
  session_id                 TEXT PRIMARY KEY,
  created_at                 TIMESTAMPTZ NOT NULL,
  expires_at                 TIMESTAMPTZ NOT NULL,
  connection_limit           INTEGER NOT NULL,
  user_id                    TEXT NOT NULL,
  user_name                  TEXT NOT NULL,
  user_full_name             TEXT NOT NULL,
  user_email                 TEXT NOT NULL,
  account_id                 TEXT NOT NULL,
  auth_method_id             TEXT NOT NULL,
  auth_method_name           TEXT NOT NULL,
  auth_method_type           TEXT NOT NULL,
  groups_json                TEXT NOT NULL,
  managed_groups_json        TEXT NOT NULL,
  grants_json                TEXT NOT NULL,
  target_id                  TEXT NOT NULL,
  target_name                TEXT NOT NULL,
  target_type                TEXT NOT NULL,
  target_description         TEXT NOT NULL,
  target_port                INTEGER NOT NULL,
  target_session_max_seconds INTEGER NOT NULL,
  target_connection_limit    INTEGER NOT NULL,
  host_id                    TEXT NOT NULL,
  host_name                  TEXT NOT NULL,
  host_address               TEXT NOT NULL,
  host_set_id                TEXT NOT NULL,
  host_set_name              TEXT NOT NULL,
  host_catalog_id            TEXT NOT NULL,
  host_catalog_name          TEXT NOT NULL,
  endpoint                   TEXT NOT NULL,
  project_id                 TEXT NOT NULL,
  project_name               TEXT NOT NULL,
  org_id                     TEXT NOT NULL,
  org_name                   TEXT NOT NULL,
  credentials_json           TEXT NOT NULL,
  client_ip                  TEXT NOT NULL,
  user_agent                 TEXT NOT NULL,
  search_text                TEXT NOT NULL,
  -- Accumulating facts.
  state                      TEXT NOT NULL DEFAULT 'pending'
                             CHECK (state IN ('pending', 'active', 'canceling', 'terminated')),
  pending_at                 TIMESTAMPTZ,
  active_at                  TIMESTAMPTZ,
  canceling_at               TIMESTAMPTZ,
  terminated_at              TIMESTAMPTZ,
  termination_reason         TEXT NOT NULL DEFAULT '',
  connection_count           INTEGER NOT NULL DEFAULT 0 CHECK (connection_count >= 0),
  bytes_up                   BIGINT NOT NULL DEFAULT 0 CHECK (bytes_up >= 0),
  bytes_down                 BIGINT NOT NULL DEFAULT 0 CHECK (bytes_down >= 0),
  CHECK ((state = 'terminated') = (terminated_at IS NOT NULL))
);
-- History lists sort by (created_at, session_id) and filter on one column.
CREATE INDEX warehouse_sessions_created ON warehouse_sessions (created_at, session_id);
CREATE INDEX warehouse_sessions_user_id ON warehouse_sessions (user_id, created_at, session_id);
CREATE INDEX warehouse_sessions_user_name ON warehouse_sessions (lower(user_name), created_at, session_id);
CREATE INDEX warehouse_sessions_target_id ON warehouse_sessions (target_id, created_at, session_id);
CREATE INDEX warehouse_sessions_target_name ON warehouse_sessions (lower(target_name), created_at, session_id);
CREATE INDEX warehouse_sessions_project_id ON warehouse_sessions (project_id, created_at, session_id);
CREATE INDEX warehouse_sessions_project_name ON warehouse_sessions (lower(project_name), created_at, session_id);
CREATE INDEX warehouse_sessions_org_id ON warehouse_sessions (org_id, created_at, session_id);
CREATE INDEX warehouse_sessions_org_name ON warehouse_sessions (lower(org_name), created_at, session_id);
CREATE INDEX warehouse_sessions_auth_method_id ON warehouse_sessions (auth_method_id, created_at, session_id);
CREATE INDEX warehouse_sessions_auth_method_name ON warehouse_sessions (lower(auth_method_name), created_at, session_id);
CREATE INDEX warehouse_sessions_reason ON warehouse_sessions (termination_reason, created_at, session_id);
CREATE INDEX warehouse_sessions_client_ip ON warehouse_sessions (client_ip, created_at, session_id);
CREATE INDEX warehouse_sessions_terminated ON warehouse_sessions (terminated_at) WHERE terminated_at IS NOT NULL;

CREATE TABLE warehouse_session_states (
  session_id TEXT NOT NULL REFERENCES warehouse_sessions(session_id),
  state      TEXT NOT NULL CHECK (state IN ('pending', 'active', 'canceling', 'terminated')),
  reason     TEXT NOT NULL DEFAULT '',
  at         TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (session_id, state)
);

CREATE TABLE warehouse_connections (
  connection_id TEXT PRIMARY KEY,
  session_id    TEXT NOT NULL REFERENCES warehouse_sessions(session_id),
  client_addr   TEXT NOT NULL DEFAULT '',
  user_ip       TEXT NOT NULL DEFAULT '',
  endpoint_addr TEXT NOT NULL DEFAULT '',
  authorized_at TIMESTAMPTZ NOT NULL,
  connected_at  TIMESTAMPTZ,
  closed_at     TIMESTAMPTZ,
  bytes_up      BIGINT NOT NULL DEFAULT 0 CHECK (bytes_up >= 0),
  bytes_down    BIGINT NOT NULL DEFAULT 0 CHECK (bytes_down >= 0),
  closed_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX warehouse_connections_session ON warehouse_connections (session_id, authorized_at);

-- +goose StatementBegin
CREATE FUNCTION warehouse_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'warehouse history is never deleted (% on %)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION warehouse_sessions_keep_snapshot() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.session_id, NEW.created_at, NEW.expires_at, NEW.connection_limit, NEW.user_id, NEW.user_name,
      NEW.user_full_name, NEW.user_email, NEW.account_id, NEW.auth_method_id, NEW.auth_method_name,
      NEW.auth_method_type, NEW.groups_json, NEW.managed_groups_json, NEW.grants_json, NEW.target_id,
      NEW.target_name, NEW.target_type, NEW.target_description, NEW.target_port,
      NEW.target_session_max_seconds, NEW.target_connection_limit, NEW.host_id, NEW.host_name,
      NEW.host_address, NEW.host_set_id, NEW.host_set_name, NEW.host_catalog_id, NEW.host_catalog_name,
      NEW.endpoint, NEW.project_id, NEW.project_name, NEW.org_id, NEW.org_name, NEW.credentials_json,
      NEW.client_ip, NEW.user_agent, NEW.search_text)
     IS DISTINCT FROM
     (OLD.session_id, OLD.created_at, OLD.expires_at, OLD.connection_limit, OLD.user_id, OLD.user_name,
      OLD.user_full_name, OLD.user_email, OLD.account_id, OLD.auth_method_id, OLD.auth_method_name,
      OLD.auth_method_type, OLD.groups_json, OLD.managed_groups_json, OLD.grants_json, OLD.target_id,
      OLD.target_name, OLD.target_type, OLD.target_description, OLD.target_port,
      OLD.target_session_max_seconds, OLD.target_connection_limit, OLD.host_id, OLD.host_name,
      OLD.host_address, OLD.host_set_id, OLD.host_set_name, OLD.host_catalog_id, OLD.host_catalog_name,
      OLD.endpoint, OLD.project_id, OLD.project_name, OLD.org_id, OLD.org_name, OLD.credentials_json,
      OLD.client_ip, OLD.user_agent, OLD.search_text)
     OR (OLD.pending_at IS NOT NULL AND NEW.pending_at IS DISTINCT FROM OLD.pending_at)
     OR (OLD.active_at IS NOT NULL AND NEW.active_at IS DISTINCT FROM OLD.active_at)
     OR (OLD.canceling_at IS NOT NULL AND NEW.canceling_at IS DISTINCT FROM OLD.canceling_at)
     OR (OLD.terminated_at IS NOT NULL AND NEW.terminated_at IS DISTINCT FROM OLD.terminated_at)
  THEN
    RAISE EXCEPTION 'warehouse snapshot of session % is never rewritten', OLD.session_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION warehouse_connections_keep_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.connection_id, NEW.session_id, NEW.authorized_at) IS DISTINCT FROM (OLD.connection_id, OLD.session_id, OLD.authorized_at)
     OR (OLD.connected_at IS NOT NULL AND NEW.connected_at IS DISTINCT FROM OLD.connected_at)
     OR (OLD.closed_at IS NOT NULL AND NEW.closed_at IS DISTINCT FROM OLD.closed_at)
  THEN
    RAISE EXCEPTION 'warehouse connection % history is never rewritten', OLD.connection_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
-- +goose StatementEnd

CREATE TRIGGER warehouse_sessions_no_delete BEFORE DELETE ON warehouse_sessions
  FOR EACH ROW EXECUTE FUNCTION warehouse_refuse();
CREATE TRIGGER warehouse_sessions_no_truncate BEFORE TRUNCATE ON warehouse_sessions
  FOR EACH STATEMENT EXECUTE FUNCTION warehouse_refuse();
CREATE TRIGGER warehouse_sessions_snapshot BEFORE UPDATE ON warehouse_sessions
  FOR EACH ROW EXECUTE FUNCTION warehouse_sessions_keep_snapshot();

CREATE TRIGGER warehouse_session_states_no_delete BEFORE DELETE ON warehouse_session_states
  FOR EACH ROW EXECUTE FUNCTION warehouse_refuse();
CREATE TRIGGER warehouse_session_states_no_truncate BEFORE TRUNCATE ON warehouse_session_states
  FOR EACH STATEMENT EXECUTE FUNCTION warehouse_refuse();
CREATE TRIGGER warehouse_session_states_no_update BEFORE UPDATE ON warehouse_session_states
  FOR EACH ROW EXECUTE FUNCTION warehouse_refuse();

CREATE TRIGGER warehouse_connections_no_delete BEFORE DELETE ON warehouse_connections
  FOR EACH ROW EXECUTE FUNCTION warehouse_refuse();
CREATE TRIGGER warehouse_connections_no_truncate BEFORE TRUNCATE ON warehouse_connections
  FOR EACH STATEMENT EXECUTE FUNCTION warehouse_refuse();
CREATE TRIGGER warehouse_connections_history BEFORE UPDATE ON warehouse_connections
  FOR EACH ROW EXECUTE FUNCTION warehouse_connections_keep_history();

-- Free-text search uses a trigram index when pg_trgm can be installed; without
-- it the search still works, by scanning.
-- +goose StatementBegin
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
  EXECUTE 'CREATE INDEX warehouse_sessions_search ON warehouse_sessions USING gin (search_text gin_trgm_ops)';
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'pg_trgm unavailable; session history free-text search scans';
END $$;
-- +goose StatementEnd

-- The retention loop deletes operational rows of sessions terminated long ago.
CREATE INDEX sessions_terminated_ended ON sessions (ended_at) WHERE state = 'terminated';

-- +goose Down
DROP INDEX sessions_terminated_ended;
DROP TABLE warehouse_connections;
DROP TABLE warehouse_session_states;
DROP TABLE warehouse_sessions;
DROP FUNCTION warehouse_connections_keep_history();
DROP FUNCTION warehouse_sessions_keep_snapshot();
DROP FUNCTION warehouse_refuse();
