-- Infrastructure: static host catalogs, hosts, host sets, tcp targets, static
-- credential stores and credentials, and the sources that tie targets to host
-- sets and credentials.
--
-- Children carry their project's scope_id, tied to the parent by a composite
-- foreign key, so that "same project only" is enforced by the database for
-- host-set membership and target sources.
-- +goose Up
CREATE TABLE host_catalogs (
  id          TEXT PRIMARY KEY,
  scope_id    TEXT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
  type        TEXT NOT NULL DEFAULT 'static' CHECK (type IN ('static')),
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 1024),
  created_at  TIMESTAMPTZ NOT NULL,
  updated_at  TIMESTAMPTZ NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1,
  UNIQUE (id, scope_id)
);
CREATE UNIQUE INDEX host_catalogs_scope_name ON host_catalogs (scope_id, lower(name));

CREATE TABLE hosts (
  id          TEXT PRIMARY KEY,
  catalog_id  TEXT NOT NULL,
  scope_id    TEXT NOT NULL,
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 1024),
  address     TEXT NOT NULL CHECK (length(address) BETWEEN 1 AND 253),
  created_at  TIMESTAMPTZ NOT NULL,
  updated_at  TIMESTAMPTZ NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1,
  UNIQUE (id, catalog_id),
  FOREIGN KEY (catalog_id, scope_id) REFERENCES host_catalogs (id, scope_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX hosts_catalog_name ON hosts (catalog_id, lower(name));

CREATE TABLE host_sets (
  id          TEXT PRIMARY KEY,
  catalog_id  TEXT NOT NULL,
  scope_id    TEXT NOT NULL,
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 1024),
  created_at  TIMESTAMPTZ NOT NULL,
  updated_at  TIMESTAMPTZ NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1,
  UNIQUE (id, catalog_id),
  UNIQUE (id, scope_id),
  FOREIGN KEY (catalog_id, scope_id) REFERENCES host_catalogs (id, scope_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX host_sets_catalog_name ON host_sets (catalog_id, lower(name));

-- A host set holds hosts of its own catalog only.
CREATE TABLE host_set_members (
  host_set_id TEXT NOT NULL,
  host_id     TEXT NOT NULL,
  catalog_id  TEXT NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (host_set_id, host_id),
  FOREIGN KEY (host_set_id, catalog_id) REFERENCES host_sets (id, catalog_id) ON DELETE CASCADE,
  FOREIGN KEY (host_id, catalog_id) REFERENCES hosts (id, catalog_id) ON DELETE CASCADE
);
CREATE INDEX host_set_members_host ON host_set_members (host_id);

CREATE TABLE targets (
  id                       TEXT PRIMARY KEY,
  scope_id                 TEXT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
  type                     TEXT NOT NULL DEFAULT 'tcp' CHECK (type IN ('tcp')),
  name                     TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  description              TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 1024),
  default_port             INTEGER NOT NULL CHECK (default_port BETWEEN 1 AND 65535),
  address                  TEXT CHECK (address IS NULL OR length(address) BETWEEN 1 AND 253),
  session_max_seconds      INTEGER NOT NULL DEFAULT 28800 CHECK (session_max_seconds > 0),
  session_connection_limit INTEGER NOT NULL DEFAULT -1 CHECK (session_connection_limit = -1 OR session_connection_limit > 0),
  created_at               TIMESTAMPTZ NOT NULL,
  updated_at               TIMESTAMPTZ NOT NULL,
  version                  INTEGER NOT NULL DEFAULT 1,
  UNIQUE (id, scope_id)
);
CREATE UNIQUE INDEX targets_scope_name ON targets (scope_id, lower(name));
CREATE INDEX targets_name ON targets (lower(name), id);

-- Host sources of a target: host sets of the same project.
CREATE TABLE target_host_sources (
  target_id   TEXT NOT NULL,
  host_set_id TEXT NOT NULL,
  scope_id    TEXT NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (target_id, host_set_id),
  FOREIGN KEY (target_id, scope_id) REFERENCES targets (id, scope_id) ON DELETE CASCADE,
  FOREIGN KEY (host_set_id, scope_id) REFERENCES host_sets (id, scope_id) ON DELETE CASCADE
);
CREATE INDEX target_host_sources_set ON target_host_sources (host_set_id);

-- A target has a direct address or host sources, never both. The Store locks
-- the target row before changing either, so these triggers only back it up.
-- +goose StatementBegin
CREATE FUNCTION target_host_source_needs_no_address() RETURNS trigger AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM targets WHERE id = NEW.target_id AND address IS NOT NULL) THEN
    RAISE EXCEPTION 'target % has an address and cannot have host sources', NEW.target_id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER target_host_sources_no_address BEFORE INSERT OR UPDATE ON target_host_sources
  FOR EACH ROW EXECUTE FUNCTION target_host_source_needs_no_address();

-- +goose StatementBegin
CREATE FUNCTION target_address_needs_no_host_sources() RETURNS trigger AS $$
BEGIN
  IF NEW.address IS NOT NULL AND EXISTS (SELECT 1 FROM target_host_sources WHERE target_id = NEW.id) THEN
    RAISE EXCEPTION 'target % has host sources and cannot have an address', NEW.id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER targets_address_no_host_sources BEFORE UPDATE OF address ON targets
  FOR EACH ROW EXECUTE FUNCTION target_address_needs_no_host_sources();

CREATE TABLE credential_stores (
  id          TEXT PRIMARY KEY,
  scope_id    TEXT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
  type        TEXT NOT NULL DEFAULT 'static' CHECK (type IN ('static')),
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 1024),
  created_at  TIMESTAMPTZ NOT NULL,
  updated_at  TIMESTAMPTZ NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1,
  UNIQUE (id, scope_id)
);
CREATE UNIQUE INDEX credential_stores_scope_name ON credential_stores (scope_id, lower(name));

-- Static credentials. secret is the AES-256-GCM ciphertext (aad = id) of the
-- secret part; username and the key fingerprint are not secret.
CREATE TABLE credentials (
  id          TEXT PRIMARY KEY,
  store_id    TEXT NOT NULL,
  scope_id    TEXT NOT NULL,
  type        TEXT NOT NULL CHECK (type IN ('username_password', 'ssh_private_key', 'json')),
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 1024),
  username    TEXT NOT NULL DEFAULT '' CHECK (length(username) <= 128),
  fingerprint TEXT NOT NULL DEFAULT '',
  secret      TEXT NOT NULL CHECK (secret <> ''),
  created_at  TIMESTAMPTZ NOT NULL,
  updated_at  TIMESTAMPTZ NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1,
  UNIQUE (id, scope_id),
  CHECK (type = 'json' OR username <> ''),
  FOREIGN KEY (store_id, scope_id) REFERENCES credential_stores (id, scope_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX credentials_store_name ON credentials (store_id, lower(name));

-- Brokered credential sources of a target: credentials of the same project.
-- Credential libraries (issue 5 and later) get their own source table.
CREATE TABLE target_credential_sources (
  target_id     TEXT NOT NULL,
  credential_id TEXT NOT NULL,
  scope_id      TEXT NOT NULL,
  purpose       TEXT NOT NULL DEFAULT 'brokered' CHECK (purpose IN ('brokered')),
  created_at    TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (target_id, credential_id, purpose),
  FOREIGN KEY (target_id, scope_id) REFERENCES targets (id, scope_id) ON DELETE CASCADE,
  FOREIGN KEY (credential_id, scope_id) REFERENCES credentials (id, scope_id) ON DELETE CASCADE
);
CREATE INDEX target_credential_sources_credential ON target_credential_sources (credential_id);

-- +goose Down
DROP TABLE target_credential_sources;
DROP TABLE credentials;
DROP TABLE credential_stores;
DROP TRIGGER targets_address_no_host_sources ON targets;
DROP FUNCTION target_address_needs_no_host_sources();
DROP TABLE target_host_sources;
DROP FUNCTION target_host_source_needs_no_address();
DROP TABLE targets;
DROP TABLE host_set_members;
DROP TABLE host_sets;
DROP TABLE hosts;
DROP TABLE host_catalogs;
