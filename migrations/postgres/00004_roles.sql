-- Groups, roles, principals, grant scopes and grants (RBAC). The admin flag
-- on users gives way to an "Administration" role in global.
-- +goose Up
CREATE TABLE groups (
  id          TEXT PRIMARY KEY,
  scope_id    TEXT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 1024),
  created_at  TIMESTAMPTZ NOT NULL,
  updated_at  TIMESTAMPTZ NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX groups_scope_name ON groups (scope_id, lower(name));

CREATE TABLE group_members (
  group_id   TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE roles (
  id          TEXT PRIMARY KEY,
  scope_id    TEXT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 1024),
  created_at  TIMESTAMPTZ NOT NULL,
  updated_at  TIMESTAMPTZ NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX roles_scope_name ON roles (scope_id, lower(name));

-- A principal is a user (or the special users u_anon "anyone" and u_auth
-- "any authenticated user"), a group or a managed group. principal_id is
-- the public id; exactly the matching foreign key column repeats it, so
-- deleting the user, group or managed group removes the row.
CREATE TABLE role_principals (
  role_id          TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  principal_type   TEXT NOT NULL CHECK (principal_type IN ('user', 'group', 'managed-group')),
  principal_id     TEXT NOT NULL,
  user_id          TEXT REFERENCES users(id) ON DELETE CASCADE,
  group_id         TEXT REFERENCES groups(id) ON DELETE CASCADE,
  managed_group_id TEXT REFERENCES managed_groups(id) ON DELETE CASCADE,
  created_at       TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (role_id, principal_id),
  CHECK (coalesce(
    CASE principal_type
      WHEN 'user' THEN group_id IS NULL AND managed_group_id IS NULL AND
        ((principal_id IN ('u_anon', 'u_auth') AND user_id IS NULL) OR (user_id IS NOT NULL AND user_id = principal_id))
      WHEN 'group' THEN user_id IS NULL AND managed_group_id IS NULL AND group_id IS NOT NULL AND group_id = principal_id
      ELSE user_id IS NULL AND group_id IS NULL AND managed_group_id IS NOT NULL AND managed_group_id = principal_id
    END, FALSE))
);
CREATE INDEX role_principals_principal ON role_principals (principal_id);

-- Where a role's grants apply: 'this', 'children', 'descendants' or a scope id.
CREATE TABLE role_grant_scopes (
  role_id     TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  grant_scope TEXT NOT NULL CHECK (length(grant_scope) BETWEEN 1 AND 128),
  created_at  TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (role_id, grant_scope)
);

-- Grants in canonical form; position keeps the order the admin wrote.
CREATE TABLE role_grants (
  role_id    TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  position   INTEGER NOT NULL,
  grant_text TEXT NOT NULL CHECK (length(grant_text) BETWEEN 1 AND 2048),
  created_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (role_id, position)
);
CREATE UNIQUE INDEX role_grants_text ON role_grants (role_id, grant_text);

-- Databases bootstrapped before roles existed: administrators keep their power
-- through an Administration role, and every user keeps self-service.
INSERT INTO roles (id, scope_id, name, description, created_at, updated_at, version)
SELECT 'r_admin0000001', 'global', 'Administration', 'Everything, everywhere (created by the roles migration)', now(), now(), 1
WHERE EXISTS (SELECT 1 FROM users WHERE is_admin);
INSERT INTO role_grants (role_id, position, grant_text, created_at)
SELECT 'r_admin0000001', 0, 'ids=*;type=*;actions=*', now() FROM roles WHERE id = 'r_admin0000001';
INSERT INTO role_grant_scopes (role_id, grant_scope, created_at)
SELECT 'r_admin0000001', gs.v, now() FROM roles, (SELECT 'this' AS v UNION ALL SELECT 'descendants') gs WHERE roles.id = 'r_admin0000001';
INSERT INTO role_principals (role_id, principal_type, principal_id, user_id, created_at)
SELECT 'r_admin0000001', 'user', id, id, now() FROM users WHERE is_admin;

INSERT INTO roles (id, scope_id, name, description, created_at, updated_at, version)
SELECT 'r_self00000001', 'global', 'Login and self-service', 'Every authenticated user reads themselves (created by the roles migration)', now(), now(), 1
WHERE EXISTS (SELECT 1 FROM scopes WHERE id = 'global');
INSERT INTO role_grants (role_id, position, grant_text, created_at)
SELECT 'r_self00000001', gr.p, gr.g, now() FROM roles, (SELECT 0 AS p, 'ids={{.User.Id}};actions=read' AS g
  UNION ALL SELECT 1, 'ids=*;type=auth-token;actions=delete:self,read:self'
  UNION ALL SELECT 2, 'ids=*;type=scope;actions=no-op') gr WHERE roles.id = 'r_self00000001';
INSERT INTO role_grant_scopes (role_id, grant_scope, created_at)
SELECT 'r_self00000001', gs.v, now() FROM roles, (SELECT 'this' AS v UNION ALL SELECT 'descendants') gs WHERE roles.id = 'r_self00000001';
INSERT INTO role_principals (role_id, principal_type, principal_id, created_at)
SELECT 'r_self00000001', 'user', 'u_auth', now() FROM roles WHERE id = 'r_self00000001';

ALTER TABLE users DROP COLUMN is_admin;

-- +goose Down
ALTER TABLE users ADD COLUMN is_admin BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET is_admin = TRUE WHERE id IN (
  SELECT p.user_id FROM role_principals p JOIN role_grants g ON g.role_id = p.role_id
  JOIN roles r ON r.id = p.role_id
  WHERE r.scope_id = 'global' AND g.grant_text = 'ids=*;type=*;actions=*' AND p.user_id IS NOT NULL);
DROP TABLE role_grants;
DROP TABLE role_grant_scopes;
DROP TABLE role_principals;
DROP TABLE roles;
DROP TABLE group_members;
DROP TABLE groups;
