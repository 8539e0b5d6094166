-- +goose Up
-- Nothing on Postgres: its warehouse search is a trigram index on
-- warehouse_sessions.search_text itself. On SQLite this version drops the
-- trigger that filled the FTS5 table row by row (issue 17).
SELECT 1;

-- +goose Down
SELECT 1;
