-- Credential libraries (issue 12): credentials minted for each session and
-- revoked when it ends.
--
-- credential_libraries: a library of a credential store, of one of two
-- kinds. settings is JSON of the non-secret settings (see
-- models/credlibrary.go); secret is the AES-256-GCM ciphertext (aad = id)
-- of the Postgres connection password or of the SSH CA's private key;
-- public_key is the SSH CA's public key (authorized_keys format).
--
-- session_credentials.secret holds, sealed (aad = session id + "/" +
-- credential id), what an issued dynamic credential needs while it lives:
-- its secret (the role's password) and the library's connection at issue
-- time (revocation uses it when the library is gone). facts is JSON of the
-- credential's non-secret facts (role name, principals, validity).
--
-- credential_revocations is the durable queue of pending revocations,
-- written in the terminating transaction and worked after commit (a
-- claimed row carries a lease: no other instance takes it until the lease
-- ends). ssh_certificates records every certificate signed (never the
-- key); a revoked_at set in the terminating transaction puts it on its
-- library's revocation list (KRL) until its validity ends.
-- +goose Up
CREATE TABLE credential_libraries (
  id          TEXT PRIMARY KEY,
  store_id    TEXT NOT NULL,
  scope_id    TEXT NOT NULL,
  type        TEXT NOT NULL CHECK (type IN ('postgres', 'ssh_certificate')),
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 1024),
  settings    TEXT NOT NULL DEFAULT '{}',
  secret      TEXT NOT NULL CHECK (secret <> ''),
  public_key  TEXT NOT NULL DEFAULT '',
  created_at  TIMESTAMPTZ NOT NULL,
  updated_at  TIMESTAMPTZ NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1,
  UNIQUE (id, scope_id),
  FOREIGN KEY (store_id, scope_id) REFERENCES credential_stores (id, scope_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX credential_libraries_store_name ON credential_libraries (store_id, lower(name));

CREATE TABLE target_library_sources (
  target_id  TEXT NOT NULL,
  library_id TEXT NOT NULL,
  scope_id   TEXT NOT NULL,
  purpose    TEXT NOT NULL DEFAULT 'brokered' CHECK (purpose IN ('brokered')),
  created_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (target_id, library_id, purpose),
  FOREIGN KEY (target_id, scope_id) REFERENCES targets (id, scope_id) ON DELETE CASCADE,
  FOREIGN KEY (library_id, scope_id) REFERENCES credential_libraries (id, scope_id) ON DELETE CASCADE
);
CREATE INDEX target_library_sources_library ON target_library_sources (library_id);

ALTER TABLE session_credentials ADD COLUMN secret TEXT NOT NULL DEFAULT '';
ALTER TABLE session_credentials ADD COLUMN facts TEXT NOT NULL DEFAULT '{}';

CREATE TABLE credential_revocations (
  session_id      TEXT NOT NULL,
  credential_id   TEXT NOT NULL,
  purpose         TEXT NOT NULL,
  library_id      TEXT NOT NULL,
  library_type    TEXT NOT NULL,
  subject         TEXT NOT NULL,
  payload         TEXT NOT NULL DEFAULT '',
  state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'revoked', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error      TEXT NOT NULL DEFAULT '',
  created_at      TIMESTAMPTZ NOT NULL,
  next_attempt_at TIMESTAMPTZ NOT NULL,
  lease_until     TIMESTAMPTZ,
  revoked_at      TIMESTAMPTZ,
  PRIMARY KEY (session_id, credential_id, purpose),
  CHECK ((state = 'revoked') = (revoked_at IS NOT NULL))
);
CREATE INDEX credential_revocations_due ON credential_revocations (next_attempt_at) WHERE state <> 'revoked';

CREATE TABLE ssh_certificates (
  library_id    TEXT NOT NULL,
  serial        BIGINT NOT NULL CHECK (serial > 0),
  session_id    TEXT NOT NULL,
  credential_id TEXT NOT NULL,
  key_id        TEXT NOT NULL,
  principals    TEXT NOT NULL,
  fingerprint   TEXT NOT NULL,
  certificate   TEXT NOT NULL,
  valid_after   TIMESTAMPTZ NOT NULL,
  valid_before  TIMESTAMPTZ NOT NULL,
  signed_at     TIMESTAMPTZ NOT NULL,
  revoked_at    TIMESTAMPTZ,
  PRIMARY KEY (library_id, serial),
  CHECK (valid_before > valid_after)
);
CREATE INDEX ssh_certificates_session ON ssh_certificates (session_id);
CREATE INDEX ssh_certificates_revoked ON ssh_certificates (library_id, valid_before) WHERE revoked_at IS NOT NULL;

-- +goose Down
DROP TABLE ssh_certificates;
DROP TABLE credential_revocations;
ALTER TABLE session_credentials DROP COLUMN facts;
ALTER TABLE session_credentials DROP COLUMN secret;
DROP TABLE target_library_sources;
DROP TABLE credential_libraries;
