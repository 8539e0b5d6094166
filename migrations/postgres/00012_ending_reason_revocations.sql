-- The reason a canceling session will terminate with. A session canceled
-- while connections are open goes canceling and terminates once they are
-- closed; a session the end user closed from their client (`gatehouse
-- connect`) does the same, but must end as `closed by end-user`, not
-- `canceled`. The move to canceling records that intended reason here and
-- every later termination of the canceling session keeps it (rows canceling
-- before this migration have none and end as `canceled`, as before).
--
-- The revocation of every credential brokered to a session, in the
-- warehouse (written in the terminating transaction): session_credentials
-- keeps revoked_at too, but the retention loop purges it with the session's
-- operational rows. Never deleted or rewritten, like the other warehouse
-- tables.
-- +goose Up
ALTER TABLE sessions ADD COLUMN ending_reason TEXT CHECK (ending_reason IN ('canceled', 'closed by end-user'));

CREATE TABLE warehouse_credential_revocations (
  session_id    TEXT NOT NULL REFERENCES warehouse_sessions(session_id),
  credential_id TEXT NOT NULL,
  purpose       TEXT NOT NULL,
  revoked_at    TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (session_id, credential_id, purpose)
);
CREATE TRIGGER warehouse_credential_revocations_no_delete BEFORE DELETE ON warehouse_credential_revocations
  FOR EACH ROW EXECUTE FUNCTION warehouse_refuse();
CREATE TRIGGER warehouse_credential_revocations_no_truncate BEFORE TRUNCATE ON warehouse_credential_revocations
  FOR EACH STATEMENT EXECUTE FUNCTION warehouse_refuse();
CREATE TRIGGER warehouse_credential_revocations_no_update BEFORE UPDATE ON warehouse_credential_revocations
  FOR EACH ROW EXECUTE FUNCTION warehouse_refuse();

-- +goose Down
DROP TABLE warehouse_credential_revocations;
ALTER TABLE sessions DROP COLUMN ending_reason;
