package models

import (
	"context"
	"encoding/json"
	"fmt"
)

// Running byte totals (issue 17). A worker records the bytes its live
// connections have moved every few seconds (serve: every 2 s). It used to
// record them one connection at a time, each a transaction of eight
// statements holding its session's row lock: 9,000 connections of one
// session that had moved bytes made 9,000 transactions at one flush (about
// 9 s of them on Postgres, longer than the time between flushes), each a
// turn on the lock the session's next admission waited for. They are now
// recorded in batches, one transaction per batch, with a fixed number of
// statements, as a batch of closes is.

// ConnectionBytes is a live connection's running byte totals, as its
// worker counted them (absolute, never decreasing).
type ConnectionBytes struct {
	ConnectionID       string
	BytesUp, BytesDown int64
}

// maxFlushBatch bounds the connections one transaction of
// FlushConnectionsBytes records. The transaction holds their sessions'
// row locks, which admissions on those sessions wait for: on Postgres a
// batch of 500 held them 10-20 ms, one of 100 holds them a few.
const maxFlushBatch = 100

// FlushConnectionsBytes records the bytes still open connections have
// moved so far (the worker calls it periodically), in their operational
// and warehouse rows, and adds what is new to their sessions' totals, in
// one transaction per batch of 100 connections, each with a fixed number
// of statements whose sessions are locked once each, in order (as a batch
// of closes locks them). Closed and unknown connections are left as they
// are; when one connection is given twice, its last totals count.
func (s *Store) FlushConnectionsBytes(ctx context.Context, totals []ConnectionBytes) error {
	ids, byID := lastByID(totals, func(t ConnectionBytes) string { return t.ConnectionID })
	for _, chunk := range chunks(ids, maxFlushBatch) {
		rows := make([]bytesRow, len(chunk))
		for i, id := range chunk {
			t := byID[id]
			rows[i] = bytesRow{ID: id, Up: t.BytesUp, Down: t.BytesDown}
		}
		if err := s.Transact(ctx, func(tx *Store) error { return tx.flushBytes(ctx, chunk, rows) }); err != nil {
			return fmt.Errorf("record connection bytes: %w", err)
		}
	}
	return nil
}

// bytesRow is a ConnectionBytes as the batch statements take it (JSON).
type bytesRow struct {
	ID   string `json:"id"`
	Up   int64  `json:"up"`
	Down int64  `json:"down"`
}

// flushBytesPostgres records a batch of running totals (@rows, a JSON
// array of {id, up, down}) in the open connections' rows and adds what is
// new to their sessions, in one statement that returns the ids of the
// open connections. As in closePostgresSQL, the connections are found by
// key as ANY of an array alone in its scan (o), and "open" is tested on o,
// not in its scan, so no partial index on open connections is taken for it.
const flushBytesPostgres = `WITH e AS (
	SELECT * FROM json_to_recordset(CAST(@rows AS json)) AS e(id text, up bigint, down bigint)
), o AS (
	SELECT c.id, c.session_id, c.bytes_up, c.bytes_down, c.closed_at FROM session_connections c
	WHERE c.id = ANY(ARRAY(SELECT id FROM e))
), u AS (
	UPDATE session_connections sc SET bytes_up = e.up, bytes_down = e.down
	FROM e JOIN o ON o.id = e.id WHERE sc.id = o.id AND o.closed_at IS NULL
), d AS (
	SELECT o.session_id AS id, SUM(e.up - o.bytes_up) AS up, SUM(e.down - o.bytes_down) AS down
	FROM o JOIN e ON e.id = o.id WHERE o.closed_at IS NULL GROUP BY o.session_id
), s AS (
	UPDATE sessions SET bytes_up = bytes_up + d.up, bytes_down = bytes_down + d.down
	FROM d WHERE sessions.id = d.id AND (d.up <> 0 OR d.down <> 0)
)
SELECT id FROM o WHERE closed_at IS NULL ORDER BY id`

// flushBytes is one batch of FlushConnectionsBytes, in the caller's
// transaction: rows holds the totals of the connections ids.
func (s *Store) flushBytes(ctx context.Context, ids []string, rows []bytesRow) error {
	changes, err := s.lockSessionsOf(ctx, ids)
	if err != nil || len(changes) == 0 {
		return err
	}
	var open []string
	if s.dialect == Postgres {
		js, err := json.Marshal(rows)
		if err != nil {
			return err
		}
		err = s.qp(ctx).Raw(flushBytesPostgres, map[string]any{"rows": string(js)}).Scan(&open).Error
	} else {
		open, err = s.flushBytesSQLite(ctx, ids, rows)
	}
	if err != nil || len(open) == 0 {
		return err
	}
	if err := s.warehouseConnectionsByID(ctx, open); err != nil {
		return err
	}
	return s.publishChanges(ctx, changes)
}

// flushBytesSQLite is flushBytesPostgres in three statements: the
// connections' current totals, then the open ones' rows and their
// sessions' totals. It returns the ids of the open connections.
func (s *Store) flushBytesSQLite(ctx context.Context, ids []string, rows []bytesRow) ([]string, error) {
	old, err := s.connectionRecords(ctx, ids)
	if err != nil {
		return nil, err
	}
	var open []string
	kept := make([]bytesRow, 0, len(rows))
	deltas := map[string]*sessionDelta{}
	var list []*sessionDelta
	for _, r := range rows {
		o, ok := old[r.ID]
		if !ok || !o.Open {
			continue
		}
		kept = append(kept, r)
		open = append(open, r.ID)
		d := deltas[o.SessionID]
		if d == nil {
			d = &sessionDelta{ID: o.SessionID}
			deltas[o.SessionID] = d
			list = append(list, d)
		}
		d.Up += r.Up - o.BytesUp
		d.Down += r.Down - o.BytesDown
	}
	if len(kept) == 0 {
		return nil, nil
	}
	conns, err := json.Marshal(kept)
	if err != nil {
		return nil, err
	}
	sessions, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	db := s.q(ctx)
	if err := db.Exec(`UPDATE session_connections SET bytes_up = e.up, bytes_down = e.down
		FROM `+s.jsonRows("e", "id text", "up bigint", "down bigint")+` WHERE session_connections.id = e.id`,
		string(conns)).Error; err != nil {
		return nil, err
	}
	if err := db.Exec(`UPDATE sessions SET bytes_up = bytes_up + d.up, bytes_down = bytes_down + d.down
		FROM `+s.jsonRows("d", "id text", "up bigint", "down bigint")+` WHERE sessions.id = d.id`,
		string(sessions)).Error; err != nil {
		return nil, err
	}
	return open, nil
}
