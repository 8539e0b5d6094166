package models

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// closePostgresSQL records a batch of connection ends (@ends, a JSON array
// of {id, up, down, reason, at}) once their sessions are locked: the
// connection rows, the sessions' open counts, given-back slots and byte
// totals (what each connection moved since its last record), the
// warehouse rows and their sessions' totals, in one statement. Every CTE
// reads the rows as they were when the statement began, which under the
// sessions' locks are the current ones (see session_close.go). It returns
// one row per session ('s': state and counts after), the number of known
// connections ('k'), the connections newly closed in the warehouse ('w')
// and those missing from it ('m').
// The connections' rows are found by key as ANY(ARRAY(SELECT id FROM e)),
// alone in their scan (o, wo), and everything else joins those: Postgres
// estimates a JSON row set at 100 rows, and joined with it directly it read
// session_connections and warehouse_connections whole at every batch while
// they held a few thousand rows; an array's ANY it estimates at a few
// values and finds by index (TestConnectionBatchesFindRowsByIndex). Beside
// a join on the same key, the ANY became part of the index condition of
// every row's lookup (a 500-value array searched 500 times: 200 ms a batch).
const closePostgresSQL = `WITH e AS (
	SELECT * FROM json_to_recordset(CAST(@ends AS json)) AS e(id text, up bigint, down bigint, reason text, at timestamptz)
), o AS (
	SELECT c.id, c.session_id, c.bytes_up, c.bytes_down, c.closed_at, c.closed_reason, c.connected_at,
		c.endpoint_addr, c.client_addr, c.user_ip
	FROM session_connections c WHERE c.id = ANY(ARRAY(SELECT id FROM e))
), wo AS (
	SELECT w.connection_id, w.session_id, w.bytes_up, w.bytes_down, w.closed_at
	FROM warehouse_connections w WHERE w.connection_id = ANY(ARRAY(SELECT id FROM e))
), u AS (
	UPDATE session_connections sc SET bytes_up = e.up, bytes_down = e.down,
		closed_at = COALESCE(o.closed_at, e.at), closed_reason = COALESCE(o.closed_reason, e.reason)
	FROM e JOIN o ON o.id = e.id WHERE sc.id = o.id
), d AS (
	SELECT o.session_id AS id,
		count(*) FILTER (WHERE o.closed_at IS NULL) AS closed,
		count(*) FILTER (WHERE o.closed_at IS NULL AND e.reason = 'network error' AND o.connected_at IS NULL) AS give_back,
		SUM(e.up - o.bytes_up) AS up, SUM(e.down - o.bytes_down) AS down
	FROM o JOIN e ON e.id = o.id GROUP BY o.session_id
), s AS (
	UPDATE sessions SET
		open_connections = GREATEST(open_connections - d.closed, 0),
		connection_count = GREATEST(connection_count - d.give_back, 0),
		bytes_up = bytes_up + d.up, bytes_down = bytes_down + d.down, updated_at = @now
	FROM d WHERE sessions.id = d.id
	RETURNING sessions.id, sessions.state, sessions.open_connections, sessions.connection_count, sessions.connection_limit
), wt AS (
	UPDATE warehouse_sessions ws SET bytes_up = ws.bytes_up + x.up, bytes_down = ws.bytes_down + x.down
	FROM (SELECT wo.session_id, SUM(GREATEST(e.up - wo.bytes_up, 0)) AS up, SUM(GREATEST(e.down - wo.bytes_down, 0)) AS down
		FROM wo JOIN e ON e.id = wo.connection_id GROUP BY wo.session_id) AS x
	WHERE ws.session_id = x.session_id AND (x.up > 0 OR x.down > 0)
), wu AS (
	UPDATE warehouse_connections wc SET
		bytes_up = GREATEST(wc.bytes_up, e.up), bytes_down = GREATEST(wc.bytes_down, e.down),
		connected_at = COALESCE(wc.connected_at, o.connected_at),
		closed_at = COALESCE(wc.closed_at, o.closed_at, e.at),
		closed_reason = CASE WHEN wc.closed_reason = '' THEN COALESCE(o.closed_reason, e.reason) ELSE wc.closed_reason END,
		endpoint_addr = CASE WHEN wc.endpoint_addr = '' THEN o.endpoint_addr ELSE wc.endpoint_addr END,
		client_addr = CASE WHEN wc.client_addr = '' THEN o.client_addr ELSE wc.client_addr END,
		user_ip = CASE WHEN wc.user_ip = '' THEN o.user_ip ELSE wc.user_ip END
	FROM e JOIN o ON o.id = e.id JOIN wo ON wo.connection_id = o.id
	WHERE wc.connection_id = wo.connection_id
	RETURNING wc.connection_id, wo.closed_at IS NULL AS closing
)
SELECT 's' AS kind, id, state, open_connections AS a, connection_count AS b, connection_limit AS c FROM s
UNION ALL SELECT 'k', '', '', count(*), 0, 0 FROM o
UNION ALL SELECT 'w', connection_id, '', 0, 0, 0 FROM wu WHERE closing
UNION ALL SELECT 'm', o.id, '', 0, 0, 0 FROM o JOIN warehouse_sessions ws ON ws.session_id = o.session_id
	WHERE NOT EXISTS (SELECT 1 FROM wo WHERE wo.connection_id = o.id)`

// closePostgres is ConnectionsClosed's transaction on Postgres for a batch
// of at most 500 connections: the sessions are locked for two statements
// (the lock and closePostgresSQL) and the commit, instead of a dozen round
// trips; terminations, warehouse rows missing and webhook events follow
// only when there are some. It returns how many connections were known.
func (s *Store) closePostgres(ctx context.Context, ids []string, byID map[string]ConnectionEnd, now time.Time) (int, error) {
	// Read before the locks: it does not depend on them.
	eps, err := s.subscribedEndpoints(ctx, EventSessionConnectionClosed)
	if err != nil {
		return 0, err
	}
	changes, err := s.lockSessionsOf(ctx, ids)
	if err != nil || len(changes) == 0 {
		return 0, err
	}
	rows := make([]connectionEndRow, len(ids))
	for i, id := range ids {
		rows[i] = byID[id].row(now)
	}
	js, err := json.Marshal(rows)
	if err != nil {
		return 0, err
	}
	var out []struct {
		Kind, ID string
		State    SessionState
		A, B, C  int
	}
	if err := s.qp(ctx).Raw(closePostgresSQL, map[string]any{"ends": string(js), "now": now}).Scan(&out).Error; err != nil {
		return 0, fmt.Errorf("close connections: %w", err)
	}
	known := 0
	var ending, closing, missing []string
	for _, r := range out {
		switch r.Kind {
		case "k":
			known = r.A
		case "w":
			closing = append(closing, r.ID)
		case "m":
			missing = append(missing, r.ID)
		case "s":
			// open_connections, connection_count, connection_limit
			if drained(r.State, r.A, r.B, r.C) {
				ending = append(ending, r.ID)
			}
		}
	}
	// Connection events before terminations: a receiver sees a session's
	// last connection close before the session ends.
	if err := s.warehouseMissingConnections(ctx, missing); err != nil {
		return 0, err
	}
	if len(eps) > 0 {
		if err := s.connectionClosedEvents(ctx, closing, eps); err != nil {
			return 0, err
		}
	}
	if err := s.terminateDrained(ctx, ending); err != nil {
		return 0, err
	}
	return known, s.publishChanges(ctx, changes)
}
