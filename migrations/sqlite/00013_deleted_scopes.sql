-- Deleted orgs and projects, with their parents: the sessions and history
-- of a deleted project stay in the scope tree as it was for authorization,
-- so whoever could read them before the deletion (a role in the org with
-- grant scope children, in global with descendants, ...) still can. Nothing
-- else lives in a deleted scope. Backfilled from the warehouse for scopes
-- deleted before this migration.
-- +goose Up
CREATE TABLE deleted_scopes (
  id         TEXT PRIMARY KEY,
  parent_id  TEXT NOT NULL,
  type       TEXT NOT NULL CHECK (type IN ('org', 'project')),
  name       TEXT NOT NULL,
  deleted_at DATETIME NOT NULL
);
INSERT INTO deleted_scopes (id, parent_id, type, name, deleted_at)
  SELECT org_id, 'global', 'org', max(org_name), CURRENT_TIMESTAMP FROM warehouse_sessions
  WHERE org_id <> '' AND org_id NOT IN (SELECT id FROM scopes) GROUP BY org_id;
INSERT INTO deleted_scopes (id, parent_id, type, name, deleted_at)
  SELECT project_id, max(org_id), 'project', max(project_name), CURRENT_TIMESTAMP FROM warehouse_sessions
  WHERE project_id <> '' AND project_id NOT IN (SELECT id FROM scopes) GROUP BY project_id;

-- +goose Down
DROP TABLE deleted_scopes;
