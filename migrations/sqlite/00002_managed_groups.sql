-- Managed groups of OIDC auth methods and their computed membership.
-- +goose Up
CREATE TABLE managed_groups (
  id             TEXT PRIMARY KEY,
  auth_method_id TEXT NOT NULL REFERENCES auth_methods(id) ON DELETE CASCADE,
  name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  description    TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 1024),
  filter         TEXT NOT NULL CHECK (length(filter) BETWEEN 1 AND 2048),
  created_at     DATETIME NOT NULL,
  updated_at     DATETIME NOT NULL,
  version        INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX managed_groups_method_name ON managed_groups (auth_method_id, lower(name));

-- Recomputed at every login of the account.
CREATE TABLE managed_group_members (
  managed_group_id TEXT NOT NULL REFERENCES managed_groups(id) ON DELETE CASCADE,
  account_id       TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_at       DATETIME NOT NULL,
  PRIMARY KEY (managed_group_id, account_id)
);
CREATE INDEX managed_group_members_account ON managed_group_members (account_id);

-- +goose Down
DROP TABLE managed_group_members;
DROP TABLE managed_groups;
