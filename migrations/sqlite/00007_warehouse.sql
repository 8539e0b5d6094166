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
  created_at                 DATETIME    NOT NULL,
  expires_at                 DATETIME    NOT NULL,
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
  pending_at                 DATETIME   ,
  active_at                  DATETIME   ,
  canceling_at               DATETIME   ,
  terminated_at              DATETIME   ,
  termination_reason         TEXT NOT NULL DEFAULT '',
  connection_count           INTEGER NOT NULL DEFAULT 0 CHECK (connection_count >= 0),
  bytes_up                   INTEGER NOT NULL DEFAULT 0 CHECK (bytes_up >= 0),
  bytes_down                 INTEGER NOT NULL DEFAULT 0 CHECK (bytes_down >= 0),
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
  at         DATETIME    NOT NULL,
  PRIMARY KEY (session_id, state)
);

CREATE TABLE warehouse_connections (
  connection_id TEXT PRIMARY KEY,
  session_id    TEXT NOT NULL REFERENCES warehouse_sessions(session_id),
  client_addr   TEXT NOT NULL DEFAULT '',
  user_ip       TEXT NOT NULL DEFAULT '',
  endpoint_addr TEXT NOT NULL DEFAULT '',
  authorized_at DATETIME    NOT NULL,
  connected_at  DATETIME   ,
  closed_at     DATETIME   ,
  bytes_up      INTEGER NOT NULL DEFAULT 0 CHECK (bytes_up >= 0),
  bytes_down    INTEGER NOT NULL DEFAULT 0 CHECK (bytes_down >= 0),
  closed_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX warehouse_connections_session ON warehouse_connections (session_id, authorized_at);

-- +goose StatementBegin
CREATE TRIGGER warehouse_sessions_no_delete BEFORE DELETE ON warehouse_sessions
BEGIN SELECT RAISE(ABORT, 'warehouse history is never deleted'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER warehouse_session_states_no_delete BEFORE DELETE ON warehouse_session_states
BEGIN SELECT RAISE(ABORT, 'warehouse history is never deleted'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER warehouse_connections_no_delete BEFORE DELETE ON warehouse_connections
BEGIN SELECT RAISE(ABORT, 'warehouse history is never deleted'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER warehouse_session_states_no_update BEFORE UPDATE ON warehouse_session_states
BEGIN SELECT RAISE(ABORT, 'warehouse history is never rewritten'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER warehouse_sessions_snapshot BEFORE UPDATE ON warehouse_sessions
WHEN OLD.session_id IS NOT NEW.session_id
     OR OLD.created_at IS NOT NEW.created_at
     OR OLD.expires_at IS NOT NEW.expires_at
     OR OLD.connection_limit IS NOT NEW.connection_limit
     OR OLD.user_id IS NOT NEW.user_id
     OR OLD.user_name IS NOT NEW.user_name
     OR OLD.user_full_name IS NOT NEW.user_full_name
     OR OLD.user_email IS NOT NEW.user_email
     OR OLD.account_id IS NOT NEW.account_id
     OR OLD.auth_method_id IS NOT NEW.auth_method_id
     OR OLD.auth_method_name IS NOT NEW.auth_method_name
     OR OLD.auth_method_type IS NOT NEW.auth_method_type
     OR OLD.groups_json IS NOT NEW.groups_json
     OR OLD.managed_groups_json IS NOT NEW.managed_groups_json
     OR OLD.grants_json IS NOT NEW.grants_json
     OR OLD.target_id IS NOT NEW.target_id
     OR OLD.target_name IS NOT NEW.target_name
     OR OLD.target_type IS NOT NEW.target_type
     OR OLD.target_description IS NOT NEW.target_description
     OR OLD.target_port IS NOT NEW.target_port
     OR OLD.target_session_max_seconds IS NOT NEW.target_session_max_seconds
     OR OLD.target_connection_limit IS NOT NEW.target_connection_limit
     OR OLD.host_id IS NOT NEW.host_id
     OR OLD.host_name IS NOT NEW.host_name
     OR OLD.host_address IS NOT NEW.host_address
     OR OLD.host_set_id IS NOT NEW.host_set_id
     OR OLD.host_set_name IS NOT NEW.host_set_name
     OR OLD.host_catalog_id IS NOT NEW.host_catalog_id
     OR OLD.host_catalog_name IS NOT NEW.host_catalog_name
     OR OLD.endpoint IS NOT NEW.endpoint
     OR OLD.project_id IS NOT NEW.project_id
     OR OLD.project_name IS NOT NEW.project_name
     OR OLD.org_id IS NOT NEW.org_id
     OR OLD.org_name IS NOT NEW.org_name
     OR OLD.credentials_json IS NOT NEW.credentials_json
     OR OLD.client_ip IS NOT NEW.client_ip
     OR OLD.user_agent IS NOT NEW.user_agent
     OR OLD.search_text IS NOT NEW.search_text
     OR (OLD.pending_at IS NOT NULL AND NEW.pending_at IS NOT OLD.pending_at)
     OR (OLD.active_at IS NOT NULL AND NEW.active_at IS NOT OLD.active_at)
     OR (OLD.canceling_at IS NOT NULL AND NEW.canceling_at IS NOT OLD.canceling_at)
     OR (OLD.terminated_at IS NOT NULL AND NEW.terminated_at IS NOT OLD.terminated_at)
BEGIN SELECT RAISE(ABORT, 'warehouse snapshot is never rewritten'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER warehouse_connections_history BEFORE UPDATE ON warehouse_connections
WHEN OLD.connection_id IS NOT NEW.connection_id OR OLD.session_id IS NOT NEW.session_id
     OR OLD.authorized_at IS NOT NEW.authorized_at
     OR (OLD.connected_at IS NOT NULL AND NEW.connected_at IS NOT OLD.connected_at)
     OR (OLD.closed_at IS NOT NULL AND NEW.closed_at IS NOT OLD.closed_at)
BEGIN SELECT RAISE(ABORT, 'warehouse connection history is never rewritten'); END;
-- +goose StatementEnd

-- Free-text search: a trigram index over each session's search text (SQLite
-- uses it for LIKE patterns without ESCAPE); filled by the insert trigger.
CREATE VIRTUAL TABLE warehouse_sessions_search USING fts5(session_id UNINDEXED, search_text, tokenize = 'trigram');
-- +goose StatementBegin
CREATE TRIGGER warehouse_sessions_search_add AFTER INSERT ON warehouse_sessions
BEGIN INSERT INTO warehouse_sessions_search (session_id, search_text) VALUES (NEW.session_id, NEW.search_text); END;
-- +goose StatementEnd

-- The retention loop deletes operational rows of sessions terminated long ago.
CREATE INDEX sessions_terminated_ended ON sessions (ended_at) WHERE state = 'terminated';

-- +goose Down
DROP INDEX sessions_terminated_ended;
DROP TABLE warehouse_sessions_search;
DROP TABLE warehouse_connections;
DROP TABLE warehouse_session_states;
DROP TABLE warehouse_sessions;
