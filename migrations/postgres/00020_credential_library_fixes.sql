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
  deleted_at TIMESTAMPTZ NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION credential_libraries_keep_ca() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.type = 'ssh_certificate' THEN
    INSERT INTO deleted_ssh_cas (library_id, public_key, deleted_at) VALUES (OLD.id, OLD.public_key, now())
      ON CONFLICT DO NOTHING;
  END IF;
  RETURN OLD;
END $$;
-- +goose StatementEnd
CREATE TRIGGER credential_libraries_keep_ca AFTER DELETE ON credential_libraries
  FOR EACH ROW EXECUTE FUNCTION credential_libraries_keep_ca();

ALTER TABLE credential_revocations ADD COLUMN lease_owner TEXT;
ALTER TABLE session_credentials ADD COLUMN valid_until_wanted TIMESTAMPTZ;
CREATE INDEX session_credentials_valid_until_wanted ON session_credentials (session_id) WHERE valid_until_wanted IS NOT NULL;

CREATE TABLE warehouse_ssh_certificates (
  library_id    TEXT NOT NULL,
  serial        BIGINT NOT NULL CHECK (serial > 0),
  session_id    TEXT NOT NULL REFERENCES warehouse_sessions(session_id),
  credential_id TEXT NOT NULL,
  key_id        TEXT NOT NULL,
  principals    TEXT NOT NULL,
  fingerprint   TEXT NOT NULL,
  valid_after   TIMESTAMPTZ NOT NULL,
  valid_before  TIMESTAMPTZ NOT NULL,
  signed_at     TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (library_id, serial)
);
CREATE INDEX warehouse_ssh_certificates_session ON warehouse_ssh_certificates (session_id);
CREATE TRIGGER warehouse_ssh_certificates_no_delete BEFORE DELETE ON warehouse_ssh_certificates
  FOR EACH ROW EXECUTE FUNCTION warehouse_refuse();
CREATE TRIGGER warehouse_ssh_certificates_no_truncate BEFORE TRUNCATE ON warehouse_ssh_certificates
  FOR EACH STATEMENT EXECUTE FUNCTION warehouse_refuse();
CREATE TRIGGER warehouse_ssh_certificates_no_update BEFORE UPDATE ON warehouse_ssh_certificates
  FOR EACH ROW EXECUTE FUNCTION warehouse_refuse();

-- +goose Down
DROP TABLE warehouse_ssh_certificates;
DROP INDEX session_credentials_valid_until_wanted;
ALTER TABLE session_credentials DROP COLUMN valid_until_wanted;
ALTER TABLE credential_revocations DROP COLUMN lease_owner;
DROP TRIGGER credential_libraries_keep_ca ON credential_libraries;
DROP FUNCTION credential_libraries_keep_ca();
DROP TABLE deleted_ssh_cas;
