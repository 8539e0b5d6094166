-- The database's own guard on session states (issue 5): the CHECKs of
-- 00006 only validate the (previous_state, state) pair a row holds, so an
-- UPDATE that rewrites both could still move a session backwards or revive
-- a terminated one. This trigger compares the row before and after:
--   * a change of state must be one of DOMAIN.md's moves (pending→active,
--     pending→canceling, pending→terminated, active→canceling,
--     active→terminated, canceling→terminated) and record the state it left
--     in previous_state; the same state again (counters, bytes) is fine;
--   * once terminated, state, termination_reason and ended_at are final.
-- The Go moves (models/session_move.go, session_connect.go) are
-- conditional UPDATEs that already obey this; DELETE (retention) is not
-- touched.
-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION sessions_guard_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.state = 'terminated'
     AND (NEW.state, NEW.termination_reason, NEW.ended_at) IS DISTINCT FROM (OLD.state, OLD.termination_reason, OLD.ended_at)
  THEN
    RAISE EXCEPTION 'session % is terminated: its state, termination reason and end time are final', OLD.id
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.state IS DISTINCT FROM OLD.state
     AND (OLD.state || '>' || NEW.state NOT IN ('pending>active', 'pending>canceling', 'pending>terminated',
                                                'active>canceling', 'active>terminated', 'canceling>terminated')
          OR NEW.previous_state IS DISTINCT FROM OLD.state)
  THEN
    RAISE EXCEPTION 'session % cannot make this state move: % to % (previous state %)', OLD.id, OLD.state, NEW.state, NEW.previous_state
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
-- +goose StatementEnd

-- Fired only by UPDATEs that name a guarded column, and only when the state
-- changes or the row is terminated (counter and byte updates skip it).
CREATE TRIGGER sessions_state_guard BEFORE UPDATE OF state, previous_state, termination_reason, ended_at ON sessions
  FOR EACH ROW WHEN (OLD.state = 'terminated' OR NEW.state IS DISTINCT FROM OLD.state)
  EXECUTE FUNCTION sessions_guard_state();

-- +goose Down
DROP TRIGGER sessions_state_guard ON sessions;
DROP FUNCTION sessions_guard_state();
