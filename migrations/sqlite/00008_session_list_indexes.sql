-- All sessions at 100,000 sessions (issue 5, docs/benchmarks.md): what
-- EXPLAIN QUERY PLAN showed the page's shapes missing.
--
-- A name prefix with a From/To range counted through the table (the name
-- index lacked the start time); with it the count reads the index alone.
-- +goose Up
DROP INDEX sessions_user_name_lower;
DROP INDEX sessions_target_name_lower;
DROP INDEX sessions_project_name_lower;
CREATE INDEX sessions_user_name_lower ON sessions (lower(user_name), created_at);
CREATE INDEX sessions_target_name_lower ON sessions (lower(target_name), created_at);
CREATE INDEX sessions_project_name_lower ON sessions (lower(project_name), created_at);
-- A termination reason sorted by user sorted its ~19,000 rows in a temp
-- B-tree; this index gives the page in order.
CREATE INDEX sessions_reason_user ON sessions (termination_reason, user_name, created_at DESC, id DESC);

-- +goose Down
DROP INDEX sessions_reason_user;
DROP INDEX sessions_user_name_lower;
DROP INDEX sessions_target_name_lower;
DROP INDEX sessions_project_name_lower;
CREATE INDEX sessions_user_name_lower ON sessions (lower(user_name));
CREATE INDEX sessions_target_name_lower ON sessions (lower(target_name));
CREATE INDEX sessions_project_name_lower ON sessions (lower(project_name));
