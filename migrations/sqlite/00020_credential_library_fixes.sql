-- Credential library fixes (audit of issue 12).
--
-- deleted_ssh_cas keeps the CA public key of every deleted SSH credential
-- library (written by a trigger, so a library deleted with its store or
-- project is kept too). /credential-libraries/{id}/krl and ca.pub keep
-- answering for that id, and the KRL revokes the CA key itself: every
-- certificate it ever signed is refused by hosts that fetch it.
--
-- credential_revocations.lease_owner names the pass that claimed a
-- revocation; a pass renews its lease (and counts the attempt) only while
-- it still owns the row, just before it revokes, so a pass that outlives
-- its lease never works a row another instance took meanwhile.
--
-- session_credentials.valid_until_wanted is a Postgres role's new VALID
-- UNTIL after its session's expiration moved (extended or shortened),
-- written in that transaction and applied at the role's server after
-- commit by the revocation loop (cleared once applied; retried until).
--
-- warehouse_ssh_certificates: every certificate signed (serial,
-- principals, validity, never the key), in the warehouse: never deleted or
-- rewritten, like the other warehouse tables.
-- +goose Up
CREATE TABLE deleted_ssh_cas (
  library_id TEXT PRIMARY KEY,
  public_key TEXT NOT NULL,
  deleted_at DATETIME NOT NULL
);

-- +goose StatementBegin
CREATE TRIGGER credential_libraries_keep_ca AFTER DELETE ON credential_libraries
WHEN OLD.type = 'ssh_certificate'
BEGIN
  INSERT INTO deleted_ssh_cas (library_id, public_key, deleted_at)
    VALUES (OLD.id, OLD.public_key, strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
    ON CONFLICT DO NOTHING;
END;
-- +goose StatementEnd

ALTER TABLE credential_revocations ADD COLUMN lease_owner TEXT;
ALTER TABLE session_credentials ADD COLUMN valid_until_wanted DATETIME;
CREATE INDEX session_credentials_valid_until_wanted ON session_credentials (session_id) WHERE valid_until_wanted IS NOT NULL;

CREATE TABLE warehouse_ssh_certificates (
  library_id    TEXT NOT NULL,
  serial        INTEGER NOT NULL CHECK (serial > 0),
  session_id    TEXT NOT NULL REFERENCES warehouse_sessions(session_id),
  credential_id TEXT NOT NULL,
  key_id        TEXT NOT NULL,
  principals    TEXT NOT NULL,
  fingerprint   TEXT NOT NULL,
  valid_after   DATETIME NOT NULL,
  valid_before  DATETIME NOT NULL,
  signed_at     DATETIME NOT NULL,
  PRIMARY KEY (library_id, serial)
);
CREATE INDEX warehouse_ssh_certificates_session ON warehouse_ssh_certificates (session_id);
-- +goose StatementBegin
CREATE TRIGGER warehouse_ssh_certificates_no_delete BEFORE DELETE ON warehouse_ssh_certificates
BEGIN SELECT RAISE(ABORT, 'warehouse history is never deleted'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER warehouse_ssh_certificates_no_update BEFORE UPDATE ON warehouse_ssh_certificates
BEGIN SELECT RAISE(ABORT, 'warehouse history is never rewritten'); END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE warehouse_ssh_certificates;
DROP INDEX session_credentials_valid_until_wanted;
ALTER TABLE session_credentials DROP COLUMN valid_until_wanted;
ALTER TABLE credential_revocations DROP COLUMN lease_owner;
DROP TRIGGER credential_libraries_keep_ca;
DROP TABLE deleted_ssh_cas;
