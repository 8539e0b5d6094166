-- OIDC auth methods' settings and OIDC accounts' identity.
-- +goose Up
CREATE TABLE oidc_auth_methods (
  auth_method_id     TEXT PRIMARY KEY REFERENCES auth_methods(id) ON DELETE CASCADE,
  issuer             TEXT NOT NULL CHECK (length(issuer) BETWEEN 1 AND 512),
  client_id          TEXT NOT NULL CHECK (length(client_id) BETWEEN 1 AND 256),
  -- AES-256-GCM under the root key, aad = auth method id; '' = no secret.
  client_secret      TEXT NOT NULL DEFAULT '',
  claims_scopes      TEXT NOT NULL DEFAULT '',
  allowed_audiences  TEXT NOT NULL DEFAULT '',
  signing_algorithms TEXT NOT NULL DEFAULT 'RS256' CHECK (signing_algorithms <> ''),
  max_age            INTEGER NOT NULL DEFAULT -1 CHECK (max_age >= -1),
  prompts            TEXT NOT NULL DEFAULT '',
  name_claim         TEXT NOT NULL DEFAULT 'name',
  email_claim        TEXT NOT NULL DEFAULT 'email'
);

ALTER TABLE accounts ADD COLUMN issuer TEXT;
ALTER TABLE accounts ADD COLUMN subject TEXT;
ALTER TABLE accounts ADD COLUMN token_claims TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN userinfo_claims TEXT NOT NULL DEFAULT '';
-- A subject of an issuer is linked to one account (so one user) in the whole database.
CREATE UNIQUE INDEX accounts_issuer_subject ON accounts (issuer, subject) WHERE issuer IS NOT NULL;

-- +goose Down
DROP INDEX accounts_issuer_subject;
ALTER TABLE accounts DROP COLUMN userinfo_claims;
ALTER TABLE accounts DROP COLUMN token_claims;
ALTER TABLE accounts DROP COLUMN subject;
ALTER TABLE accounts DROP COLUMN issuer;
DROP TABLE oidc_auth_methods;
