-- Session history charts at 1,000,000 sessions (issue 7, docs/benchmarks.md):
-- what EXPLAIN ANALYZE showed the four aggregates missing.
--
-- The sessions per day group by date_trunc('day', created_at AT TIME ZONE
-- 'UTC'). Without statistics on that expression the planner took every row
-- for a day of its own and sorted the whole range (spilling to disk) instead
-- of hashing a few hundred groups in each parallel worker. Extended
-- statistics cost only at ANALYZE: no index, no write on any hot path.
--
-- (Carrying the names in the id indexes, INCLUDE (target_name) and
-- INCLUDE (user_name), gave index-only scans to the busiest targets and
-- users but measured no faster on the benchmark's indexes, filled in random
-- key order by inserts: not kept. The counts per reason already read
-- warehouse_sessions_reason alone.)
-- +goose Up
CREATE STATISTICS warehouse_sessions_day ON (date_trunc('day', created_at AT TIME ZONE 'UTC')) FROM warehouse_sessions;

-- +goose Down
DROP STATISTICS warehouse_sessions_day;
