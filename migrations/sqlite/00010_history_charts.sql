-- Session history charts at 1,000,000 sessions (issue 7, docs/benchmarks.md):
-- what EXPLAIN QUERY PLAN showed the four aggregates missing.
--
-- The busiest targets and users are counted per id and labelled with the
-- greatest name: the plans walked the id indexes and read every row of the
-- table for its name. With the name at the end of the id indexes the
-- rankings read the index alone (a covering index). The names are snapshot
-- columns, never updated, so byte flushes and state changes write no more
-- than before.
-- +goose Up
DROP INDEX warehouse_sessions_target_id;
DROP INDEX warehouse_sessions_user_id;
CREATE INDEX warehouse_sessions_target_id ON warehouse_sessions (target_id, created_at, session_id, target_name);
CREATE INDEX warehouse_sessions_user_id ON warehouse_sessions (user_id, created_at, session_id, user_name);

-- +goose Down
DROP INDEX warehouse_sessions_target_id;
DROP INDEX warehouse_sessions_user_id;
CREATE INDEX warehouse_sessions_target_id ON warehouse_sessions (target_id, created_at, session_id);
CREATE INDEX warehouse_sessions_user_id ON warehouse_sessions (user_id, created_at, session_id);
