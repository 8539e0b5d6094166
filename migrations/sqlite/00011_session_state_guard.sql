-- The database's own guard on session states (issue 5): the CHECKs of
-- 00006 only validate the (previous_state, state) pair a row holds, so an
-- UPDATE that rewrites both could still move a session backwards or revive
-- a terminated one. These triggers compare the row before and after:
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
CREATE TRIGGER sessions_terminated_final BEFORE UPDATE OF state, termination_reason, ended_at ON sessions
WHEN OLD.state = 'terminated'
     AND (NEW.state IS NOT OLD.state OR NEW.termination_reason IS NOT OLD.termination_reason
          OR NEW.ended_at IS NOT OLD.ended_at)
BEGIN SELECT RAISE(ABORT, 'session is terminated: its state, termination reason and end time are final'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER sessions_state_guard BEFORE UPDATE OF state, previous_state ON sessions
WHEN NEW.state IS NOT OLD.state
     AND (OLD.state || '>' || NEW.state NOT IN ('pending>active', 'pending>canceling', 'pending>terminated',
                                               'active>canceling', 'active>terminated', 'canceling>terminated')
          OR NEW.previous_state IS NOT OLD.state)
BEGIN SELECT RAISE(ABORT, 'session cannot make this state move'); END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER sessions_state_guard;
DROP TRIGGER sessions_terminated_final;
