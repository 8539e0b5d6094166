-- +goose Up
-- Login throttle per account and client address (issue 11): each counter
-- names the account it counts against ("<auth method id>:<lower-case login
-- name>"; empty for a client address's own counter), so that an
-- administrator can clear an account's lock in one statement.
ALTER TABLE login_failures ADD COLUMN account_key TEXT NOT NULL DEFAULT '';
CREATE INDEX login_failures_account_key ON login_failures (account_key) WHERE account_key <> '';

-- +goose Down
DROP INDEX login_failures_account_key;
ALTER TABLE login_failures DROP COLUMN account_key;
