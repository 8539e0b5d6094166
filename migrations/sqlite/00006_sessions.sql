-- Sessions, their state history, the credentials brokered to them and their
-- connections.
--
-- A session keeps the ids AND the names of everything it was started with
-- and has no foreign key to them: deleting a target, host, project, user…
-- cancels the session (in the deleting transaction) and leaves its record.
-- The allowed moves live in models/session_state.go; every move is a
-- conditional UPDATE on the from-states, and the CHECKs below refuse any row
-- that no allowed move could produce.
-- +goose Up
CREATE TABLE sessions (
  id                 TEXT PRIMARY KEY,
  user_id            TEXT NOT NULL,
  user_name          TEXT NOT NULL DEFAULT '',
  account_id         TEXT NOT NULL DEFAULT '',
  auth_method_id     TEXT NOT NULL DEFAULT '',
  org_id             TEXT NOT NULL DEFAULT '',
  org_name           TEXT NOT NULL DEFAULT '',
  project_id         TEXT NOT NULL,
  project_name       TEXT NOT NULL DEFAULT '',
  target_id          TEXT NOT NULL,
  target_name        TEXT NOT NULL DEFAULT '',
  host_id            TEXT NOT NULL DEFAULT '',
  host_name          TEXT NOT NULL DEFAULT '',
  host_set_id        TEXT NOT NULL DEFAULT '',
  host_catalog_id    TEXT NOT NULL DEFAULT '',
  endpoint           TEXT NOT NULL CHECK (endpoint <> ''),
  token_hash         TEXT NOT NULL UNIQUE,
  state              TEXT NOT NULL CHECK (state IN ('pending', 'active', 'canceling', 'terminated')),
  -- The state before the last move (set by the same UPDATE, returned by it
  -- for the history row).
  previous_state     TEXT CHECK (previous_state IN ('pending', 'active', 'canceling')),
  termination_reason TEXT CHECK (termination_reason IN ('timed out', 'canceled', 'connection limit', 'closed by end-user', 'system error')),
  expires_at         DATETIME NOT NULL,
  connection_limit   INTEGER NOT NULL CHECK (connection_limit = -1 OR connection_limit > 0),
  connection_count   INTEGER NOT NULL DEFAULT 0 CHECK (connection_count >= 0),
  open_connections   INTEGER NOT NULL DEFAULT 0 CHECK (open_connections >= 0),
  bytes_up           INTEGER NOT NULL DEFAULT 0,
  bytes_down         INTEGER NOT NULL DEFAULT 0,
  client_ip          TEXT NOT NULL DEFAULT '',
  created_at         DATETIME NOT NULL,
  updated_at         DATETIME NOT NULL,
  ended_at           DATETIME,
  version            INTEGER NOT NULL DEFAULT 1,
  -- A reason exactly when terminated, an end time exactly when terminated.
  CHECK ((state = 'terminated') = (termination_reason IS NOT NULL)),
  CHECK ((state = 'terminated') = (ended_at IS NOT NULL)),
  -- Never more connections than the limit, never more open than made.
  CHECK (connection_limit = -1 OR connection_count <= connection_limit),
  CHECK (open_connections <= connection_count),
  -- A pending session has had no connection; a terminated one has none open.
  CHECK (state <> 'pending' OR connection_count = 0),
  CHECK (state <> 'terminated' OR open_connections = 0),
  CHECK (expires_at > created_at),
  CHECK (previous_state IS NULL OR previous_state || '>' || state IN ('pending>active', 'pending>canceling',
    'pending>terminated', 'active>canceling', 'active>terminated', 'canceling>terminated'))
);
-- The lists: My sessions, All sessions by each sort order and filter.
CREATE INDEX sessions_user ON sessions (user_id, created_at DESC, id DESC);
CREATE INDEX sessions_created ON sessions (created_at DESC, id DESC);
CREATE INDEX sessions_project ON sessions (project_id, created_at DESC, id DESC);
CREATE INDEX sessions_target ON sessions (target_id);
CREATE INDEX sessions_expires ON sessions (expires_at, id);
CREATE INDEX sessions_state_created ON sessions (state, created_at DESC, id DESC);
CREATE INDEX sessions_reason_created ON sessions (termination_reason, created_at DESC, id DESC);
CREATE INDEX sessions_user_name ON sessions (user_name, created_at DESC, id DESC);
CREATE INDEX sessions_target_name ON sessions (target_name, created_at DESC, id DESC);
-- Name filters match a case-insensitive prefix as a range on lower(name).
CREATE INDEX sessions_user_name_lower ON sessions ((lower(user_name)));
CREATE INDEX sessions_target_name_lower ON sessions ((lower(target_name)));
CREATE INDEX sessions_project_name_lower ON sessions ((lower(project_name)));
-- The sweeper and the deletion cancels look only at live sessions.
CREATE INDEX sessions_live_expires ON sessions (expires_at) WHERE state IN ('pending', 'active');
CREATE INDEX sessions_canceling ON sessions (id) WHERE state = 'canceling';
CREATE INDEX sessions_live_org ON sessions (org_id) WHERE state <> 'terminated';
CREATE INDEX sessions_live_host ON sessions (host_id) WHERE state <> 'terminated';
CREATE INDEX sessions_live_host_set ON sessions (host_set_id) WHERE state <> 'terminated';
CREATE INDEX sessions_live_catalog ON sessions (host_catalog_id) WHERE state <> 'terminated';
CREATE INDEX sessions_live_account ON sessions (account_id) WHERE state <> 'terminated';
CREATE INDEX sessions_live_method ON sessions (auth_method_id) WHERE state <> 'terminated';

-- Every move of every session, with its time: exactly one row per real move.
CREATE TABLE session_states (
  session_id         TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  state              TEXT NOT NULL CHECK (state IN ('pending', 'active', 'canceling', 'terminated')),
  previous_state     TEXT CHECK (previous_state IN ('pending', 'active', 'canceling')),
  termination_reason TEXT CHECK (termination_reason IN ('timed out', 'canceled', 'connection limit', 'closed by end-user', 'system error')),
  at                 DATETIME NOT NULL,
  PRIMARY KEY (session_id, state),
  CHECK ((state = 'pending') = (previous_state IS NULL)),
  CHECK ((state = 'terminated') = (termination_reason IS NOT NULL)),
  CHECK (previous_state IS NULL OR previous_state || '>' || state IN ('pending>active', 'pending>canceling',
    'pending>terminated', 'active>canceling', 'active>terminated', 'canceling>terminated'))
);

-- Credentials brokered to a session (ids and names as they were; never the
-- secret). revoked_at is set exactly once, at termination.
CREATE TABLE session_credentials (
  session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  credential_id TEXT NOT NULL,
  library_id    TEXT NOT NULL DEFAULT '',
  store_id      TEXT NOT NULL,
  name          TEXT NOT NULL,
  type          TEXT NOT NULL,
  purpose       TEXT NOT NULL DEFAULT 'brokered',
  -- Which CredentialLibrary issued it ('static' for static credentials).
  source        TEXT NOT NULL DEFAULT 'static',
  issued_at     DATETIME NOT NULL,
  revoked_at    DATETIME,
  PRIMARY KEY (session_id, credential_id, purpose)
);
CREATE INDEX session_credentials_live_credential ON session_credentials (credential_id) WHERE revoked_at IS NULL;
CREATE INDEX session_credentials_live_store ON session_credentials (store_id) WHERE revoked_at IS NULL;
CREATE INDEX session_credentials_live_library ON session_credentials (library_id) WHERE revoked_at IS NULL AND library_id <> '';

-- Connections of a session (recorded by the proxy, issue 6).
CREATE TABLE session_connections (
  id            TEXT PRIMARY KEY,
  session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  client_addr   TEXT NOT NULL DEFAULT '',
  user_ip       TEXT NOT NULL DEFAULT '',
  endpoint_addr TEXT NOT NULL DEFAULT '',
  authorized_at DATETIME NOT NULL,
  connected_at  DATETIME,
  closed_at     DATETIME,
  bytes_up      INTEGER NOT NULL DEFAULT 0 CHECK (bytes_up >= 0),
  bytes_down    INTEGER NOT NULL DEFAULT 0 CHECK (bytes_down >= 0),
  closed_reason TEXT CHECK (closed_reason IN ('closed by end-user', 'canceled', 'timed out', 'network error', 'system error', 'connection limit')),
  CHECK ((closed_at IS NULL) = (closed_reason IS NULL))
);
CREATE INDEX session_connections_session ON session_connections (session_id, authorized_at);
CREATE INDEX session_connections_open ON session_connections (session_id) WHERE closed_at IS NULL;

-- +goose Down
DROP TABLE session_connections;
DROP TABLE session_credentials;
DROP TABLE session_states;
DROP TABLE sessions;
