package models

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// The admission fast path (issue 17). A connection on a session that is
// already active is the common case (every connection but a session's
// first): it is admitted and recorded, in the operational and the warehouse
// tables, by one statement on Postgres (one round trip, committed on its
// own) and by one short transaction of four statements on SQLite.
// Concurrent admissions on one session are admitted together (group
// commit, session_admit_batch.go): the same statement admits K of them when
// all K fit under the limit, so a session's row lock and the commit's WAL
// flush are taken once for the K.
// The conditions are those of AdmitConnection's UPDATE restricted to
// state = 'active', so the limit stays exact under races (the row's
// connection_count is checked and raised by the same UPDATE, which
// Postgres serialises on the row lock; a batch that would pass the limit
// admits nobody, and its connections are then admitted one by one) and
// every admitted connection is in the warehouse when the admission commits.
// Anything else (a pending session's first connection, a refusal) goes the
// general way.

// admitActivePostgres admits and records @k connections (@conns, a JSON
// array of {id, client, userip}) in one statement: the session row is
// locked only for that statement and its commit.
// The warehouse session's count is updated by its key, the admitted
// session's id (a semi-join with the inserted rows was estimated at 100
// and read the table whole).
const admitActivePostgres = `WITH s AS (
	UPDATE sessions SET connection_count = connection_count + @k, open_connections = open_connections + @k,
		updated_at = @now, version = version + 1
	WHERE token_hash = @hash AND state = 'active' AND expires_at > @now
		AND (connection_limit = -1 OR connection_count + @k <= connection_limit)
	RETURNING *
), n AS (
	SELECT * FROM json_to_recordset(CAST(@conns AS json)) AS n(id text, client text, userip text)
), c AS (
	INSERT INTO session_connections (id, session_id, client_addr, user_ip, endpoint_addr, authorized_at, instance_id)
	SELECT n.id, s.id, n.client, n.userip, s.endpoint, @now, NULLIF(@inst, '') FROM s, n
), w AS (
	INSERT INTO warehouse_connections (connection_id, session_id, client_addr, user_ip, endpoint_addr, authorized_at)
	SELECT n.id, s.id, n.client, n.userip, s.endpoint, @now FROM s JOIN warehouse_sessions ws ON ws.session_id = s.id, n
	RETURNING session_id
), t AS (
	UPDATE warehouse_sessions SET connection_count = connection_count + (SELECT count(*) FROM w)
	WHERE session_id = (SELECT id FROM s) AND EXISTS (SELECT 1 FROM w)
)
SELECT s.* FROM s`

// admitRow is one connection of an admission batch, as the statements
// take it (JSON).
type admitRow struct {
	ID     string `json:"id"`
	Client string `json:"client"`
	UserIP string `json:"userip"`
}

// admitActive admits connections on the active session whose token they
// all present, all of them or none. ok is false (and nothing is written)
// when the session is not active, expired, has no room for all of them
// under its limit, or is unknown: the caller then admits them one by one,
// the general way.
func (s *Store) admitActive(ctx context.Context, token string, ins []AdmitInput) (adms []*Admission, ok bool, err error) {
	now := s.now().UTC().Truncate(time.Microsecond) // what the warehouse keeps
	inst := s.opts.Sessions.InstanceID
	conns := make([]Connection, len(ins))
	rows := make([]admitRow, len(ins))
	for i, in := range ins {
		conns[i] = Connection{ID: NewID(PrefixConnection), ClientAddr: in.ClientAddr, UserIP: in.UserIP, AuthorizedAt: now}
		if inst != "" {
			conns[i].InstanceID = &inst
		}
		rows[i] = admitRow{ID: conns[i].ID, Client: in.ClientAddr, UserIP: in.UserIP}
	}
	js, err := json.Marshal(rows)
	if err != nil {
		return nil, false, err
	}
	k := len(ins)
	var sess []Session
	if s.dialect == Postgres && !s.inTx {
		err = s.q(ctx).Raw(admitActivePostgres, map[string]any{
			"now": now, "hash": hashSecret(token), "k": k, "conns": string(js), "inst": inst,
		}).Scan(&sess).Error
	} else {
		err = s.Transact(ctx, func(tx *Store) error {
			db := tx.q(ctx)
			if err := db.Raw(`UPDATE sessions SET connection_count = connection_count + ?, open_connections = open_connections + ?,
				updated_at = ?, version = version + 1
				WHERE token_hash = ? AND state = 'active' AND expires_at > ?
				AND (connection_limit = -1 OR connection_count + ? <= connection_limit) RETURNING *`,
				k, k, now, hashSecret(token), now, k).Scan(&sess).Error; err != nil || len(sess) == 0 {
				return err
			}
			se := sess[0]
			if err := db.Exec(`INSERT INTO session_connections (id, session_id, client_addr, user_ip, endpoint_addr, authorized_at, instance_id)
				SELECT n.id, ?, n.client, n.userip, ?, ?, ? FROM `+tx.jsonRows("n", "id text", "client text", "userip text"),
				se.ID, se.Endpoint, now, conns[0].InstanceID, string(js)).Error; err != nil {
				return fmt.Errorf("record connection: %w", err)
			}
			r := db.Exec(`INSERT INTO warehouse_connections (connection_id, session_id, client_addr, user_ip, endpoint_addr, authorized_at)
				SELECT n.id, ws.session_id, n.client, n.userip, ?, ? FROM warehouse_sessions ws, `+
				tx.jsonRows("n", "id text", "client text", "userip text")+` WHERE ws.session_id = ?`,
				se.Endpoint, now, string(js), se.ID)
			if r.Error != nil {
				return fmt.Errorf("warehouse connections of %s: %w", se.ID, r.Error)
			}
			if r.RowsAffected > 0 {
				return tx.addSessionTotals(ctx, se.ID, int(r.RowsAffected), 0, 0)
			}
			return nil
		})
	}
	if err != nil {
		return nil, false, fmt.Errorf("admit connection: %w", err)
	}
	if len(sess) == 0 {
		return nil, false, nil
	}
	// Committed: this instance's live pages and the others hear it now.
	se := sess[0]
	_ = s.publishChanges(ctx, []SessionChange{{SessionID: se.ID, UserID: se.UserID}})
	adms = make([]*Admission, k)
	for i := range conns {
		conns[i].SessionID, conns[i].EndpointAddr = se.ID, se.Endpoint
		adms[i] = &Admission{Connection: conns[i], Session: se}
	}
	return adms, true, nil
}

// connectedPostgres records that the worker reached the hosts of a batch
// of connections (@rows, a JSON array of {id, ep, at}), in the operational
// and warehouse rows, in one statement.
// The rows are found by key as ANY of an array, alone in their scan (k;
// see closePostgresSQL), and "neither connected nor closed" is spelled
// with COALESCE so that Postgres cannot take it for the partial indexes on
// open connections: through them it read every open connection of the
// instance at each batch, 9,000 of them in the idle benchmark. c tests the
// condition again on the row it updates: a close may have committed since
// k read it.
const connectedPostgres = `WITH n AS (
	SELECT * FROM json_to_recordset(CAST(@rows AS json)) AS n(id text, ep text, at timestamptz)
), k AS (
	SELECT sc.id FROM session_connections sc
	WHERE sc.id = ANY(ARRAY(SELECT id FROM n)) AND COALESCE(sc.connected_at, sc.closed_at) IS NULL
), c AS (
	UPDATE session_connections sc SET connected_at = n.at,
		endpoint_addr = CASE WHEN n.ep = '' THEN sc.endpoint_addr ELSE n.ep END
	FROM k JOIN n ON n.id = k.id WHERE sc.id = k.id AND COALESCE(sc.connected_at, sc.closed_at) IS NULL
	RETURNING sc.id, sc.session_id, sc.endpoint_addr, sc.connected_at
), w AS (
	UPDATE warehouse_connections wc SET connected_at = c.connected_at,
		endpoint_addr = CASE WHEN wc.endpoint_addr = '' THEN c.endpoint_addr ELSE wc.endpoint_addr END
	FROM c WHERE wc.connection_id = c.id AND wc.connected_at IS NULL
)
SELECT DISTINCT c.session_id, s.user_id FROM c JOIN sessions s ON s.id = c.session_id`

// maxConnectBatch bounds the connects recorded by one statement.
const maxConnectBatch = 256

// connectLinger is how long the first connect of a batch waits for others
// before it is recorded. The worker records a connect after the first
// bytes already flow, so nobody waits for it but the connection's own
// close; without the wait, connections opened one after the other (each
// a few milliseconds) made one statement and one commit each, and those
// took the CPU and the database from the next connection's admission
// (issue 17; with this wait and the worker's CloseLinger the first byte
// fell by a third to a half on both databases: docs/benchmarks.md,
// "Eighth round"). Each connect keeps its own time.
const connectLinger = 20 * time.Millisecond

// connectRequest is one connect waiting to be recorded with others.
type connectRequest struct {
	ID  string `json:"id"`
	EP  string `json:"ep"`
	At  string `json:"at"` // when the worker reached the host (jsonTime)
	err error
}

// connectionConnected is ConnectionConnected: the connects that arrive
// within connectLinger of each other, or while others are being recorded,
// are recorded together (group commit, one statement on Postgres, one
// short transaction on SQLite).
func (s *Store) connectionConnected(ctx context.Context, connectionID, endpointAddr string) error {
	r := &connectRequest{ID: connectionID, EP: endpointAddr, At: jsonTime(s.now())}
	if s.inTx || s.connects == nil {
		s.connectionsConnected(ctx, []*connectRequest{r})
		return r.err
	}
	s.connects.do("", r, func(batch []*connectRequest) {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), admitBatchTimeout)
		defer cancel()
		s.connectionsConnected(bctx, batch)
	})
	return r.err
}

// connectionsConnected records a batch of connects, all or none, and sets
// each request's error.
func (s *Store) connectionsConnected(ctx context.Context, batch []*connectRequest) {
	err := s.recordConnects(ctx, batch)
	if err != nil {
		for _, r := range batch {
			r.err = fmt.Errorf("connection %s connected: %w", r.ID, err)
		}
	}
}

func (s *Store) recordConnects(ctx context.Context, batch []*connectRequest) error {
	js, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	var moved []SessionChange
	if s.dialect == Postgres && !s.inTx {
		if err := s.qp(ctx).Raw(connectedPostgres, map[string]any{"rows": string(js)}).Scan(&moved).Error; err != nil {
			return err
		}
		return s.publishChanges(ctx, moved)
	}
	return s.Transact(ctx, func(tx *Store) error {
		db := tx.q(ctx)
		var ids []string
		if err := db.Raw(`UPDATE session_connections SET connected_at = n.at,
			endpoint_addr = CASE WHEN n.ep = '' THEN session_connections.endpoint_addr ELSE n.ep END
			FROM `+tx.jsonRows("n", "id text", "ep text", "at timestamptz")+`
			WHERE session_connections.id = n.id AND session_connections.connected_at IS NULL
			AND session_connections.closed_at IS NULL RETURNING id`, string(js)).Scan(&ids).Error; err != nil || len(ids) == 0 {
			return err
		}
		if err := db.Exec(`UPDATE warehouse_connections SET connected_at = c.connected_at,
			endpoint_addr = CASE WHEN warehouse_connections.endpoint_addr = '' THEN c.endpoint_addr ELSE warehouse_connections.endpoint_addr END
			FROM session_connections c WHERE c.id = warehouse_connections.connection_id AND c.id IN ?
			AND warehouse_connections.connected_at IS NULL`, ids).Error; err != nil {
			return fmt.Errorf("warehouse connections: %w", err)
		}
		if err := db.Raw(`SELECT DISTINCT c.session_id, s.user_id FROM sessions s JOIN session_connections c ON c.session_id = s.id WHERE c.id IN ?`,
			ids).Scan(&moved).Error; err != nil {
			return err
		}
		return tx.publishChanges(ctx, moved)
	})
}
