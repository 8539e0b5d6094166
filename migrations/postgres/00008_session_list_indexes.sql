-- All sessions at 100,000 sessions (issue 5, docs/benchmarks.md): what
-- EXPLAIN ANALYZE showed the page's shapes missing.
--
-- The capped counts (up to 10,001 rows) of the name-prefix filters ran as
-- bitmap heap scans over the whole table: Postgres does not consider an
-- index-only scan of an expression index unless the column inside the
-- expression is in the index too. With the name (and the start time, for
-- the From/To range) included they count from the index alone.
-- +goose Up
DROP INDEX sessions_user_name_lower;
DROP INDEX sessions_target_name_lower;
DROP INDEX sessions_project_name_lower;
CREATE INDEX sessions_user_name_lower ON sessions ((lower(user_name) COLLATE "C")) INCLUDE (user_name, created_at);
CREATE INDEX sessions_target_name_lower ON sessions ((lower(target_name) COLLATE "C")) INCLUDE (target_name, created_at);
CREATE INDEX sessions_project_name_lower ON sessions ((lower(project_name) COLLATE "C")) INCLUDE (project_name, created_at);
-- (A termination reason sorted by user needs no index of its own here: the
-- page walks sessions_user_name and checks the reason, the count reads
-- sessions_reason_created alone. Such an index measurably slowed session
-- starts: one more insert point shared by every live session of a user.)

-- +goose Down
DROP INDEX sessions_user_name_lower;
DROP INDEX sessions_target_name_lower;
DROP INDEX sessions_project_name_lower;
CREATE INDEX sessions_user_name_lower ON sessions ((lower(user_name) COLLATE "C"));
CREATE INDEX sessions_target_name_lower ON sessions ((lower(target_name) COLLATE "C"));
CREATE INDEX sessions_project_name_lower ON sessions ((lower(project_name) COLLATE "C"));
