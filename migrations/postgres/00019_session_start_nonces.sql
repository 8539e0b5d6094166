-- Idempotent session starts (issue 13): every "Start session" form carries a
-- random nonce; the first request with a given (user, nonce) starts the
-- session and records it here in the same transaction, a repeat (a double
-- click, a re-sent form) finds the row and shows that session instead of
-- starting another. The row goes with its session (retention purge).
-- +goose Up
CREATE TABLE session_start_nonces (
  user_id    TEXT NOT NULL,
  nonce      TEXT NOT NULL,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  created_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (user_id, nonce)
);
CREATE INDEX session_start_nonces_session ON session_start_nonces (session_id);

-- +goose Down
DROP TABLE session_start_nonces;
