-- Foundation: scopes, users, password auth, logins.
-- +goose Up
CREATE TABLE scopes (
  id          TEXT PRIMARY KEY,
  type        TEXT NOT NULL CHECK (type IN ('global', 'org', 'project')),
  parent_id   TEXT REFERENCES scopes(id) ON DELETE CASCADE,
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 1024),
  created_at  DATETIME    NOT NULL,
  updated_at  DATETIME    NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1,
  CHECK ((type = 'global') = (parent_id IS NULL)),
  CHECK (type <> 'global' OR id = 'global')
);
CREATE UNIQUE INDEX scopes_parent_name ON scopes (coalesce(parent_id, ''), lower(name));
CREATE INDEX scopes_parent ON scopes (parent_id);

CREATE TABLE users (
  id          TEXT PRIMARY KEY,
  scope_id    TEXT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
  name        TEXT NOT NULL DEFAULT '' CHECK (length(name) <= 128),
  full_name   TEXT NOT NULL DEFAULT '' CHECK (length(full_name) <= 256),
  email       TEXT NOT NULL DEFAULT '' CHECK (length(email) <= 320),
  description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 1024),
  is_admin    BOOLEAN NOT NULL DEFAULT 0,
  created_at  DATETIME    NOT NULL,
  updated_at  DATETIME    NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_scope_name ON users (scope_id, lower(name)) WHERE name <> '';
CREATE INDEX users_scope ON users (scope_id);

CREATE TABLE auth_methods (
  id          TEXT PRIMARY KEY,
  scope_id    TEXT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
  type        TEXT NOT NULL CHECK (type IN ('password', 'oidc')),
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 1024),
  state       TEXT NOT NULL DEFAULT 'active-public' CHECK (state IN ('inactive', 'active-private', 'active-public')),
  is_primary  BOOLEAN NOT NULL DEFAULT 0,
  created_at  DATETIME    NOT NULL,
  updated_at  DATETIME    NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX auth_methods_scope_name ON auth_methods (scope_id, lower(name));
CREATE UNIQUE INDEX auth_methods_one_primary ON auth_methods (scope_id) WHERE is_primary;

CREATE TABLE accounts (
  id             TEXT PRIMARY KEY,
  auth_method_id TEXT NOT NULL REFERENCES auth_methods(id) ON DELETE CASCADE,
  user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  login_name     TEXT CHECK (login_name IS NULL OR length(login_name) BETWEEN 1 AND 128),
  password_hash  TEXT,
  full_name      TEXT NOT NULL DEFAULT '',
  email          TEXT NOT NULL DEFAULT '',
  created_at     DATETIME    NOT NULL,
  updated_at     DATETIME    NOT NULL,
  version        INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX accounts_method_login ON accounts (auth_method_id, lower(login_name)) WHERE login_name IS NOT NULL;
CREATE INDEX accounts_user ON accounts (user_id);

-- A login is one browser sign-in (an auth token); the cookie carries its secret.
CREATE TABLE logins (
  id             TEXT PRIMARY KEY,
  token_hash     TEXT NOT NULL UNIQUE,
  user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  account_id     TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  auth_method_id TEXT NOT NULL REFERENCES auth_methods(id) ON DELETE CASCADE,
  client_ip      TEXT NOT NULL DEFAULT '',
  user_agent     TEXT NOT NULL DEFAULT '',
  created_at     DATETIME    NOT NULL,
  expires_at     DATETIME    NOT NULL,
  last_used_at   DATETIME    NOT NULL
);
CREATE INDEX logins_user ON logins (user_id);
CREATE INDEX logins_expires ON logins (expires_at);

-- Failed password logins, by key ("acct:<method>:<login name>" or "ip:<address>").
CREATE TABLE login_failures (
  key             TEXT PRIMARY KEY,
  failures        INTEGER NOT NULL,
  last_failure_at DATETIME    NOT NULL
);

-- +goose Down
DROP TABLE login_failures;
DROP TABLE logins;
DROP TABLE accounts;
DROP TABLE auth_methods;
DROP TABLE users;
DROP TABLE scopes;

