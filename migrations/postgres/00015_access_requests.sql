-- Just-in-time access (issue 15): access requests and their decisions, the
-- time-boxed grants approvals make, each target's access and extension
-- settings, and the session columns that tie a session to its grant and
-- count its extensions. warehouse_access_events is the never-deleted
-- history of all of it (requests, decisions, grants, revocations, expiries,
-- extensions and shortenings); like the session warehouse it has no foreign
-- key to an operational table and refuses UPDATE and DELETE.
-- +goose Up
CREATE TABLE target_access_settings (
  target_id                TEXT PRIMARY KEY REFERENCES targets(id) ON DELETE CASCADE,
  -- The longest access a request may ask for.
  request_max_seconds      INTEGER NOT NULL DEFAULT 28800 CHECK (request_max_seconds BETWEEN 60 AND 2592000),
  approvals_required       INTEGER NOT NULL DEFAULT 1 CHECK (approvals_required IN (1, 2)),
  -- A request nobody decides expires this long after it was made.
  request_ttl_seconds      INTEGER NOT NULL DEFAULT 86400 CHECK (request_ttl_seconds BETWEEN 60 AND 2592000),
  -- How much a session may be extended in total (0 = never).
  extension_max_seconds    INTEGER NOT NULL DEFAULT 0 CHECK (extension_max_seconds BETWEEN 0 AND 2592000),
  extension_needs_approval BOOLEAN NOT NULL DEFAULT FALSE,
  updated_at               TIMESTAMPTZ NOT NULL,
  version                  INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE access_requests (
  id                 TEXT PRIMARY KEY,
  kind               TEXT NOT NULL CHECK (kind IN ('access', 'extension')),
  user_id            TEXT NOT NULL,
  user_name          TEXT NOT NULL,
  target_id          TEXT NOT NULL,
  target_name        TEXT NOT NULL,
  project_id         TEXT NOT NULL,
  project_name       TEXT NOT NULL,
  -- The session an extension request is for.
  session_id         TEXT,
  reason             TEXT NOT NULL CHECK (reason <> ''),
  duration_seconds   INTEGER NOT NULL CHECK (duration_seconds > 0),
  starts_at          TIMESTAMPTZ,
  state              TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'canceled')),
  approvals_required INTEGER NOT NULL CHECK (approvals_required IN (1, 2)),
  approvals          INTEGER NOT NULL DEFAULT 0 CHECK (approvals >= 0 AND approvals <= approvals_required),
  created_at         TIMESTAMPTZ NOT NULL,
  -- A pending request expires at this time.
  expires_at         TIMESTAMPTZ NOT NULL,
  decided_at         TIMESTAMPTZ,
  version            INTEGER NOT NULL DEFAULT 1,
  CHECK ((state = 'pending') = (decided_at IS NULL)),
  CHECK ((kind = 'extension') = (session_id IS NOT NULL)),
  CHECK (state <> 'approved' OR approvals = approvals_required)
);
CREATE INDEX access_requests_pending ON access_requests (state, expires_at);
CREATE INDEX access_requests_user ON access_requests (user_id, created_at DESC);

CREATE TABLE access_decisions (
  request_id    TEXT NOT NULL REFERENCES access_requests(id),
  approver_id   TEXT NOT NULL,
  approver_name TEXT NOT NULL,
  decision      TEXT NOT NULL CHECK (decision IN ('approve', 'deny')),
  comment       TEXT NOT NULL DEFAULT '',
  at            TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (request_id, approver_id)
);

CREATE TABLE access_grants (
  id             TEXT PRIMARY KEY,
  request_id     TEXT NOT NULL UNIQUE REFERENCES access_requests(id),
  user_id        TEXT NOT NULL,
  target_id      TEXT NOT NULL,
  project_id     TEXT NOT NULL,
  starts_at      TIMESTAMPTZ NOT NULL,
  ends_at        TIMESTAMPTZ NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('active', 'revoked', 'expired')),
  ended_at       TIMESTAMPTZ,
  ended_by_id    TEXT NOT NULL DEFAULT '',
  ended_by_name  TEXT NOT NULL DEFAULT '',
  end_comment    TEXT NOT NULL DEFAULT '',
  CHECK (ends_at > starts_at),
  CHECK ((state = 'active') = (ended_at IS NULL))
);
CREATE INDEX access_grants_user ON access_grants (user_id, state, ends_at);
CREATE INDEX access_grants_live ON access_grants (state, ends_at);

ALTER TABLE sessions ADD COLUMN access_grant_id TEXT;
ALTER TABLE sessions ADD COLUMN extension_max_seconds INTEGER NOT NULL DEFAULT 0 CHECK (extension_max_seconds >= 0);
ALTER TABLE sessions ADD COLUMN extension_needs_approval BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE sessions ADD COLUMN extended_seconds INTEGER NOT NULL DEFAULT 0 CHECK (extended_seconds >= 0);
-- Why a session under an access grant ended ("access grant revoked by …").
ALTER TABLE sessions ADD COLUMN access_note TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_access_grant ON sessions (access_grant_id) WHERE access_grant_id IS NOT NULL;

CREATE TABLE warehouse_access_events (
  id               TEXT PRIMARY KEY,
  at               TIMESTAMPTZ NOT NULL,
  kind             TEXT NOT NULL CHECK (kind IN ('requested', 'approved', 'denied', 'expired', 'canceled',
                     'granted', 'revoked', 'grant-ended', 'session-started', 'extended', 'shortened')),
  request_id       TEXT NOT NULL DEFAULT '',
  grant_id         TEXT NOT NULL DEFAULT '',
  session_id       TEXT NOT NULL DEFAULT '',
  request_kind     TEXT NOT NULL DEFAULT '',
  user_id          TEXT NOT NULL,
  user_name        TEXT NOT NULL,
  actor_id         TEXT NOT NULL DEFAULT '',
  actor_name       TEXT NOT NULL DEFAULT '',
  target_id        TEXT NOT NULL,
  target_name      TEXT NOT NULL,
  project_id       TEXT NOT NULL,
  project_name     TEXT NOT NULL,
  reason           TEXT NOT NULL DEFAULT '',
  comment          TEXT NOT NULL DEFAULT '',
  duration_seconds INTEGER NOT NULL DEFAULT 0,
  from_at          TIMESTAMPTZ,
  to_at            TIMESTAMPTZ
);
CREATE INDEX warehouse_access_events_at ON warehouse_access_events (at, id);
CREATE INDEX warehouse_access_events_request ON warehouse_access_events (request_id, at);
CREATE INDEX warehouse_access_events_session ON warehouse_access_events (session_id, at) WHERE session_id <> '';
CREATE INDEX warehouse_access_events_grant ON warehouse_access_events (grant_id, at) WHERE grant_id <> '';
CREATE INDEX warehouse_access_events_user ON warehouse_access_events (user_id, at);
CREATE INDEX warehouse_access_events_target ON warehouse_access_events (target_id, at);

CREATE TRIGGER warehouse_access_events_no_delete BEFORE DELETE ON warehouse_access_events
  FOR EACH ROW EXECUTE FUNCTION warehouse_refuse();
CREATE TRIGGER warehouse_access_events_no_update BEFORE UPDATE ON warehouse_access_events
  FOR EACH ROW EXECUTE FUNCTION warehouse_refuse();
CREATE TRIGGER warehouse_access_events_no_truncate BEFORE TRUNCATE ON warehouse_access_events
  FOR EACH STATEMENT EXECUTE FUNCTION warehouse_refuse();

-- +goose Down
DROP TABLE warehouse_access_events;
DROP INDEX sessions_access_grant;
ALTER TABLE sessions DROP COLUMN access_note;
ALTER TABLE sessions DROP COLUMN extended_seconds;
ALTER TABLE sessions DROP COLUMN extension_needs_approval;
ALTER TABLE sessions DROP COLUMN extension_max_seconds;
ALTER TABLE sessions DROP COLUMN access_grant_id;
DROP TABLE access_grants;
DROP TABLE access_decisions;
DROP TABLE access_requests;
DROP TABLE target_access_settings;
