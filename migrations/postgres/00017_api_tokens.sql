-- API tokens (personal tokens made on the account page, and the tokens of
-- CLI logins) and the one-time codes of the CLI's browser login (RFC 8252
-- loopback redirect with PKCE). Both die with their user, account or auth
-- method, like browser logins. Only hashes of secrets are stored.
-- +goose Up
CREATE TABLE api_tokens (
  id             TEXT PRIMARY KEY,
  token_hash     TEXT NOT NULL UNIQUE,
  kind           TEXT NOT NULL CHECK (kind IN ('personal', 'cli')),
  name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  account_id     TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  auth_method_id TEXT NOT NULL REFERENCES auth_methods(id) ON DELETE CASCADE,
  created_at     TIMESTAMPTZ NOT NULL,
  expires_at     TIMESTAMPTZ NOT NULL,
  last_used_at   TIMESTAMPTZ,
  CHECK (expires_at > created_at)
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at);
CREATE INDEX api_tokens_expires ON api_tokens (expires_at);

CREATE TABLE cli_login_codes (
  code_hash      TEXT PRIMARY KEY,
  user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  account_id     TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  auth_method_id TEXT NOT NULL REFERENCES auth_methods(id) ON DELETE CASCADE,
  code_challenge TEXT NOT NULL,
  redirect_uri   TEXT NOT NULL,
  token_name     TEXT NOT NULL,
  created_at     TIMESTAMPTZ NOT NULL,
  expires_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX cli_login_codes_expires ON cli_login_codes (expires_at);

-- +goose Down
DROP TABLE cli_login_codes;
DROP TABLE api_tokens;
