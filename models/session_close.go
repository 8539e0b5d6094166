package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// The close path (issue 17). Closing connections holds their sessions' row
// locks (Postgres) from the first statement to the commit, and every
// admission on those sessions waits for them: the close is therefore a
// fixed, small number of set-based statements however many connections a
// batch closes, and the sessions' byte totals are kept by adding what each
// connection moved since it was last recorded, never by summing all of a
// session's connections again. Every writer of a connection's bytes or
// close (this file, session moves, the orphan sweep) locks the connection's
// session first, so under that lock the values read are the current ones.

// ConnectionEnd is the end of one connection, as its worker saw it.
type ConnectionEnd struct {
	ConnectionID       string
	BytesUp, BytesDown int64
	Reason             string
	// At is when the connection ended, on the Store's clock (the worker
	// records ends a few milliseconds later, in batches). Zero, or later
	// than the time of recording, means the time of recording.
	At time.Time
}

// ConnectionsClosed records the final bytes and the close of many
// connections at once, in one transaction whose sessions are locked once
// each, in order, with a fixed number of statements per batch (a mass close
// of thousands of connections of one session is a few statements, not a
// transaction each queued on the session's lock). Idempotent per
// connection: one already closed, for example by its session's
// termination, keeps its first reason (its bytes are set to the ones
// given). When the last open ones close, a canceling session terminates
// (canceled, or closed by end-user) and an active one whose limit is used
// up terminates (connection limit). Unknown connections are skipped; it
// returns how many were known. When one connection is given twice, its
// last end counts.
func (s *Store) ConnectionsClosed(ctx context.Context, ends []ConnectionEnd) (int, error) {
	known := 0
	ids, byID := lastByID(ends, func(e ConnectionEnd) string { return e.ConnectionID })
	err := s.Transact(ctx, func(tx *Store) error {
		now := tx.now()
		if tx.dialect == Postgres && len(ids) <= 500 {
			var err error
			known, err = tx.closePostgres(ctx, ids, byID, now)
			return err
		}
		changes, err := tx.lockSessionsOf(ctx, ids)
		if err != nil || len(changes) == 0 {
			return err
		}
		old, err := tx.connectionRecords(ctx, ids)
		if err != nil {
			return err
		}
		known = len(old)
		rows := make([]connectionEndRow, 0, len(old))
		totals := map[string]*sessionDelta{}
		for _, id := range ids {
			o, ok := old[id]
			if !ok {
				continue
			}
			e := byID[id]
			rows = append(rows, e.row(now))
			d := totals[o.SessionID]
			if d == nil {
				d = &sessionDelta{ID: o.SessionID}
				totals[o.SessionID] = d
			}
			d.Up += e.BytesUp - o.BytesUp
			d.Down += e.BytesDown - o.BytesDown
			if o.Open {
				d.Closed++
				// A failed dial gives its slot back (session_dial_failed.go).
				if e.Reason == reasonNetworkError && o.NeverConnected {
					d.GiveBack++
				}
			}
		}
		for _, chunk := range chunks(rows, 500) {
			js, err := json.Marshal(chunk)
			if err != nil {
				return err
			}
			if err := tx.q(ctx).Exec(`UPDATE session_connections SET bytes_up = e.up, bytes_down = e.down,
				closed_at = COALESCE(closed_at, e.at),
				closed_reason = CASE WHEN closed_at IS NULL THEN e.reason ELSE closed_reason END
				FROM `+tx.jsonRows("e", "id text", "up bigint", "down bigint", "reason text", "at timestamptz")+`
				WHERE session_connections.id = e.id`, string(js)).Error; err != nil {
				return fmt.Errorf("close connections: %w", err)
			}
		}
		// The warehouse and its connection_closed events before the
		// sessions' totals, which may terminate them: a receiver sees a
		// session's last connection close before the session ends.
		if err := tx.warehouseConnectionsByID(ctx, ids); err != nil {
			return err
		}
		if err := tx.addSessionDeltas(ctx, totals, now); err != nil {
			return err
		}
		return tx.publishChanges(ctx, changes)
	})
	if err != nil {
		return 0, fmt.Errorf("record connections closed: %w", err)
	}
	return known, nil
}

// lastByID returns the distinct ids of items, in their first order, and
// the last item given for each.
func lastByID[T any](items []T, id func(T) string) ([]string, map[string]T) {
	byID := make(map[string]T, len(items))
	ids := make([]string, 0, len(items))
	for _, it := range items {
		k := id(it)
		if _, dup := byID[k]; !dup {
			ids = append(ids, k)
		}
		byID[k] = it
	}
	return ids, byID
}

// sessionDelta is what a batch of connection records changes on one
// session: connections newly closed, slots given back, bytes added.
type sessionDelta struct {
	ID       string `json:"id"`
	Closed   int    `json:"closed"`
	GiveBack int    `json:"give_back"`
	Up       int64  `json:"up"`
	Down     int64  `json:"down"`
}

// addSessionDeltas applies deltas to their sessions in one statement, then
// terminates those that it leaves with no open connection while canceling
// (connections closed) or with their limit used up (connection limit).
// The sessions must be locked by the caller's transaction.
func (s *Store) addSessionDeltas(ctx context.Context, deltas map[string]*sessionDelta, now time.Time) error {
	if len(deltas) == 0 {
		return nil
	}
	list := make([]*sessionDelta, 0, len(deltas))
	for _, d := range deltas {
		list = append(list, d)
	}
	js, err := json.Marshal(list)
	if err != nil {
		return err
	}
	var after []struct {
		ID                               string
		State                            SessionState
		OpenConnections, ConnectionCount int
		ConnectionLimit                  int
	}
	if err := s.q(ctx).Raw(`UPDATE sessions SET
		open_connections = CASE WHEN open_connections > d.closed THEN open_connections - d.closed ELSE 0 END,
		connection_count = CASE WHEN connection_count > d.give_back THEN connection_count - d.give_back ELSE 0 END,
		bytes_up = bytes_up + d.up, bytes_down = bytes_down + d.down, updated_at = ?
		FROM `+s.jsonRows("d", "id text", "closed int", "give_back int", "up bigint", "down bigint")+`
		WHERE sessions.id = d.id
		RETURNING sessions.id, sessions.state, sessions.open_connections, sessions.connection_count, sessions.connection_limit`,
		now, string(js)).Scan(&after).Error; err != nil {
		return fmt.Errorf("session totals: %w", err)
	}
	var ending []string
	for _, a := range after {
		if drained(a.State, a.OpenConnections, a.ConnectionCount, a.ConnectionLimit) {
			ending = append(ending, a.ID)
		}
	}
	return s.terminateDrained(ctx, ending)
}

// drained tells whether a session, after connections closed, ends: no
// connection open and canceling, or active with its limit used up.
func drained(state SessionState, open, count, limit int) bool {
	return open == 0 && (state == StateCanceling || state == StateActive && limit > 0 && count >= limit)
}

// terminateDrained terminates the sessions (ids, locked by the caller's
// transaction) that drained found ending: canceling ones as connections
// closed, active ones as limit reached.
func (s *Store) terminateDrained(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	if _, err := s.terminateSessions(ctx, EventConnectionsClosed, "id IN ? AND open_connections = 0", []any{ids}, false); err != nil {
		return err
	}
	_, err := s.terminateSessions(ctx, EventLimitReached, "id IN ? AND connection_limit > 0 AND connection_count >= connection_limit AND open_connections = 0", []any{ids}, false)
	return err
}

// connectionEndRow is a ConnectionEnd as the batch statements take it (JSON).
type connectionEndRow struct {
	ID     string `json:"id"`
	Up     int64  `json:"up"`
	Down   int64  `json:"down"`
	Reason string `json:"reason"`
	At     string `json:"at"` // jsonTime
}

// row is e as a batch row; now is the time of recording (e.At when zero
// or later).
func (e ConnectionEnd) row(now time.Time) connectionEndRow {
	at := e.At.UTC().Truncate(time.Microsecond)
	if e.At.IsZero() || at.After(now) {
		at = now
	}
	return connectionEndRow{ID: e.ConnectionID, Up: e.BytesUp, Down: e.BytesDown, Reason: e.Reason, At: jsonTime(at)}
}

// lockSessionsOf locks, on Postgres, the sessions of the given connections
// in id order (the order every session move takes, so the two never
// deadlock) and returns them for publishing.
func (s *Store) lockSessionsOf(ctx context.Context, connectionIDs []string) ([]SessionChange, error) {
	if len(connectionIDs) == 0 {
		return nil, nil
	}
	var out []SessionChange
	if err := s.qp(ctx).Raw(s.forUpdateSQL(s.sessionsOfSQL()), jsonList(connectionIDs)).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("lock sessions: %w", err)
	}
	return out, nil
}

// sessionsOfSQL selects the sessions of the connections whose ids are bound
// as a jsonList, in id order.
func (s *Store) sessionsOfSQL() string {
	return "SELECT id AS session_id, user_id FROM sessions WHERE id IN (SELECT session_id FROM session_connections WHERE " +
		s.inList("id") + ") ORDER BY id"
}

// connectionRecord is what a connection's next record is measured against.
type connectionRecord struct {
	ID, SessionID      string
	BytesUp, BytesDown int64
	Open               bool // not closed yet
	NeverConnected     bool // the host was never reached
}

// connectionRecords reads the connections' current records, by id
// (unknown ids are absent). Their sessions must be locked.
func (s *Store) connectionRecords(ctx context.Context, ids []string) (map[string]connectionRecord, error) {
	out := make(map[string]connectionRecord, len(ids))
	for _, chunk := range chunks(ids, 500) {
		var rows []connectionRecord
		if err := s.q(ctx).Raw(`SELECT id, session_id, bytes_up, bytes_down, closed_at IS NULL AS open,
			connected_at IS NULL AS never_connected FROM session_connections WHERE id IN ?`, chunk).Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("find connections: %w", err)
		}
		for _, r := range rows {
			out[r.ID] = r
		}
	}
	return out, nil
}

// warehouseConnectionsByID brings the warehouse rows of the given
// connections up to their operational rows (bytes only grow; times, reason
// and addresses already recorded are kept) and adds the bytes that are new
// to their sessions' totals, in a fixed number of statements: what
// warehouseConnection does for one, for a batch. A connection missing from
// the warehouse whose session is there (a session started before the
// warehouse) goes through warehouseConnection; a newly closed one queues
// its webhook event when an endpoint subscribes to it.
func (s *Store) warehouseConnectionsByID(ctx context.Context, ids []string) error {
	for _, chunk := range chunks(ids, 500) {
		var state []struct {
			ID      string
			Missing bool // no warehouse row, but a warehouse session
			Closing bool // the warehouse row is open, the connection closed
		}
		if err := s.qp(ctx).Raw(`SELECT c.id, w.connection_id IS NULL AS missing,
			(w.closed_at IS NULL AND c.closed_at IS NOT NULL) AS closing
			FROM session_connections c
			JOIN warehouse_sessions ws ON ws.session_id = c.session_id
			LEFT JOIN warehouse_connections w ON w.connection_id = c.id
			WHERE c.id IN ?`, chunk).Scan(&state).Error; err != nil {
			return fmt.Errorf("warehouse connections: %w", err)
		}
		var missing, closing []string
		for _, r := range state {
			switch {
			case r.Missing:
				missing = append(missing, r.ID)
			case r.Closing:
				closing = append(closing, r.ID)
			}
		}
		if len(state) > len(missing) {
			if err := s.syncWarehouseConnections(ctx, chunk); err != nil {
				return err
			}
		}
		if err := s.warehouseMissingConnections(ctx, missing); err != nil {
			return err
		}
		if err := s.connectionClosedEvents(ctx, closing, nil); err != nil {
			return err
		}
	}
	return nil
}

// warehouseMissingConnections adds the warehouse rows of connections whose
// session is in the warehouse but they are not (sessions started before the
// warehouse).
func (s *Store) warehouseMissingConnections(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	var conns []Connection
	if err := s.q(ctx).Where("id IN ?", ids).Find(&conns).Error; err != nil {
		return err
	}
	for _, c := range conns {
		if err := s.warehouseConnection(ctx, c.warehouse()); err != nil {
			return err
		}
	}
	return nil
}

// syncWarehouseConnections is warehouseConnectionsByID's two statements
// for connections that have a warehouse row: the sessions' totals first
// (from the old warehouse bytes), then the rows.
func (s *Store) syncWarehouseConnections(ctx context.Context, ids []string) error {
	grow := func(col string) string {
		return "CASE WHEN c." + col + " > w." + col + " THEN c." + col + " - w." + col + " ELSE 0 END"
	}
	if err := s.qp(ctx).Exec(`UPDATE warehouse_sessions SET bytes_up = bytes_up + d.up, bytes_down = bytes_down + d.down
		FROM (SELECT w.session_id AS sid, SUM(`+grow("bytes_up")+`) AS up, SUM(`+grow("bytes_down")+`) AS down
			FROM warehouse_connections w JOIN session_connections c ON c.id = w.connection_id
			WHERE w.connection_id IN ? GROUP BY w.session_id) AS d
		WHERE warehouse_sessions.session_id = d.sid AND (d.up > 0 OR d.down > 0)`, ids).Error; err != nil {
		return fmt.Errorf("warehouse session totals: %w", err)
	}
	keep := func(col string) string {
		return col + " = CASE WHEN warehouse_connections." + col + " = '' THEN COALESCE(c." + col + ", '') ELSE warehouse_connections." + col + " END"
	}
	most := func(col string) string {
		return col + " = CASE WHEN c." + col + " > warehouse_connections." + col + " THEN c." + col + " ELSE warehouse_connections." + col + " END"
	}
	if err := s.qp(ctx).Exec(`UPDATE warehouse_connections SET `+most("bytes_up")+`, `+most("bytes_down")+`,
		connected_at = COALESCE(warehouse_connections.connected_at, c.connected_at),
		closed_at = COALESCE(warehouse_connections.closed_at, c.closed_at),
		`+keep("closed_reason")+`, `+keep("endpoint_addr")+`, `+keep("client_addr")+`, `+keep("user_ip")+`
		FROM session_connections c
		WHERE c.id = warehouse_connections.connection_id AND c.id IN ?`, ids).Error; err != nil {
		return fmt.Errorf("warehouse connections: %w", err)
	}
	return nil
}

// connectionClosedEvents queues the session.connection_closed webhook
// event of each connection just closed in the warehouse (nothing, and one
// read, when no endpoint subscribes to it; none when eps, the subscribed
// endpoints read earlier, is given and empty).
func (s *Store) connectionClosedEvents(ctx context.Context, ids []string, eps []Webhook) error {
	if len(ids) == 0 {
		return nil
	}
	if eps == nil {
		var err error
		if eps, err = s.subscribedEndpoints(ctx, EventSessionConnectionClosed); err != nil {
			return err
		}
	}
	if len(eps) == 0 {
		return nil
	}
	var rows []HistoryConnection
	if err := s.q(ctx).Where("connection_id IN ?", ids).Order("connection_id").Find(&rows).Error; err != nil {
		return err
	}
	for _, r := range rows {
		c := &WarehouseConnection{ConnectionID: r.ConnectionID, SessionID: r.SessionID, ClientAddr: r.ClientAddr,
			UserIP: r.UserIP, EndpointAddr: r.EndpointAddr, AuthorizedAt: r.AuthorizedAt, ConnectedAt: r.ConnectedAt,
			ClosedAt: r.ClosedAt, BytesUp: r.BytesUp, BytesDown: r.BytesDown, ClosedReason: r.ClosedReason}
		if err := s.sessionEvents(ctx, EventSessionConnectionClosed, []string{r.SessionID}, c); err != nil {
			return err
		}
	}
	return nil
}
