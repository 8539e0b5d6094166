-- The reason a canceling session will terminate with. A session canceled
-- while connections are open goes canceling and terminates once they are
-- closed; a session the end user closed from their client (`gatehouse
-- connect`) does the same, but must end as `closed by end-user`, not
-- `canceled`. The move to canceling records that intended reason here and
-- every later termination of the canceling session keeps it (rows canceling
-- before this migration have none and end as `canceled`, as before).
-- +goose Up
ALTER TABLE sessions ADD COLUMN ending_reason TEXT CHECK (ending_reason IN ('canceled', 'closed by end-user'));

-- +goose Down
ALTER TABLE sessions DROP COLUMN ending_reason;
