package models

import (
	"context"
	"fmt"
	"time"
)

// The admission fast path (issue 17). A connection on a session that is
// already active is the common case (every connection but a session's
// first): it is admitted and recorded, in the operational and the warehouse
// tables, by one statement on Postgres (one round trip, committed on its
// own) and by one short transaction of four statements on SQLite.
// The conditions are those of AdmitConnection's UPDATE restricted to
// state = 'active', so the limit stays exact under races (the row's
// connection_count is checked and raised by the same UPDATE, which
// Postgres serialises on the row lock) and every admitted connection is in
// the warehouse when the admission commits. Anything else (a pending
// session's first connection, a refusal) goes the general way.

// admitActivePostgres admits and records in one statement: the session row
// is locked only for that statement and its commit.
const admitActivePostgres = `WITH s AS (
	UPDATE sessions SET connection_count = connection_count + 1, open_connections = open_connections + 1,
		updated_at = @now, version = version + 1
	WHERE token_hash = @hash AND state = 'active' AND expires_at > @now
		AND (connection_limit = -1 OR connection_count < connection_limit)
	RETURNING *
), c AS (
	INSERT INTO session_connections (id, session_id, client_addr, user_ip, endpoint_addr, authorized_at, instance_id)
	SELECT @cid, s.id, @client, @userip, s.endpoint, @now, NULLIF(@inst, '') FROM s
), w AS (
	INSERT INTO warehouse_connections (connection_id, session_id, client_addr, user_ip, endpoint_addr, authorized_at)
	SELECT @cid, s.id, @client, @userip, s.endpoint, @now FROM s JOIN warehouse_sessions ws ON ws.session_id = s.id
	RETURNING session_id
), t AS (
	UPDATE warehouse_sessions SET connection_count = connection_count + 1 WHERE session_id IN (SELECT session_id FROM w)
)
SELECT s.*, pg_notify(@channel, @prefix || s.id || ' ' || s.user_id)::text AS notified FROM s`

// admitActive admits a connection on the active session whose token this
// is. ok is false (and nothing is written) when the session is not active,
// expired, at its limit or unknown: the caller then takes the general path.
func (s *Store) admitActive(ctx context.Context, in AdmitInput) (adm *Admission, ok bool, err error) {
	now := s.now().UTC().Truncate(time.Microsecond) // what the warehouse keeps
	c := Connection{ID: NewID(PrefixConnection), ClientAddr: in.ClientAddr, UserIP: in.UserIP, AuthorizedAt: now}
	inst := s.opts.Sessions.InstanceID
	if inst != "" {
		c.InstanceID = &inst
	}
	var rows []Session
	if s.dialect == Postgres && !s.inTx {
		err = s.q(ctx).Raw(admitActivePostgres, map[string]any{
			"now": now, "hash": hashSecret(in.Token), "cid": c.ID, "client": in.ClientAddr, "userip": in.UserIP,
			"inst": inst, "channel": SessionNotifyChannel, "prefix": inst + "\n",
		}).Scan(&rows).Error
		if err != nil {
			return nil, false, fmt.Errorf("admit connection: %w", err)
		}
		if len(rows) == 0 {
			return nil, false, nil
		}
		// The statement notified the other instances; this one's live
		// pages hear it now (it has committed).
		if n := s.opts.Sessions.Notifier; n != nil {
			n.SessionsChanged([]SessionChange{{SessionID: rows[0].ID, UserID: rows[0].UserID}})
		}
	} else {
		err = s.Transact(ctx, func(tx *Store) error {
			db := tx.q(ctx)
			if err := db.Raw(`UPDATE sessions SET connection_count = connection_count + 1, open_connections = open_connections + 1,
				updated_at = ?, version = version + 1
				WHERE token_hash = ? AND state = 'active' AND expires_at > ?
				AND (connection_limit = -1 OR connection_count < connection_limit) RETURNING *`,
				now, hashSecret(in.Token), now).Scan(&rows).Error; err != nil || len(rows) == 0 {
				return err
			}
			sess := rows[0]
			if err := db.Exec(`INSERT INTO session_connections (id, session_id, client_addr, user_ip, endpoint_addr, authorized_at, instance_id)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, c.ID, sess.ID, c.ClientAddr, c.UserIP, sess.Endpoint, now, c.InstanceID).Error; err != nil {
				return fmt.Errorf("record connection: %w", err)
			}
			r := db.Exec(`INSERT INTO warehouse_connections (connection_id, session_id, client_addr, user_ip, endpoint_addr, authorized_at)
				SELECT ?, session_id, ?, ?, ?, ? FROM warehouse_sessions WHERE session_id = ?`,
				c.ID, c.ClientAddr, c.UserIP, sess.Endpoint, now, sess.ID)
			if r.Error != nil {
				return fmt.Errorf("warehouse connection %s: %w", c.ID, r.Error)
			}
			if r.RowsAffected == 1 {
				if err := tx.addSessionTotals(ctx, sess.ID, 1, 0, 0); err != nil {
					return err
				}
			}
			return tx.publishChanges(ctx, []SessionChange{{SessionID: sess.ID, UserID: sess.UserID}})
		})
		if err != nil {
			return nil, false, fmt.Errorf("admit connection: %w", err)
		}
		if len(rows) == 0 {
			return nil, false, nil
		}
	}
	sess := rows[0]
	c.SessionID, c.EndpointAddr = sess.ID, sess.Endpoint
	return &Admission{Connection: c, Session: sess}, true, nil
}

// connectedPostgres records that the worker reached the host, in the
// operational and warehouse rows, and notifies, in one statement.
const connectedPostgres = `WITH c AS (
	UPDATE session_connections SET connected_at = @now,
		endpoint_addr = CASE WHEN @ep = '' THEN endpoint_addr ELSE @ep END
	WHERE id = @id AND connected_at IS NULL AND closed_at IS NULL
	RETURNING session_id, endpoint_addr
), w AS (
	UPDATE warehouse_connections wc SET connected_at = @now,
		endpoint_addr = CASE WHEN wc.endpoint_addr = '' THEN c.endpoint_addr ELSE wc.endpoint_addr END
	FROM c WHERE wc.connection_id = @id AND wc.connected_at IS NULL
)
SELECT c.session_id, s.user_id, pg_notify(@channel, @prefix || c.session_id || ' ' || s.user_id)::text AS notified
FROM c JOIN sessions s ON s.id = c.session_id`

// connectionConnected is ConnectionConnected in one statement on Postgres
// and one short transaction on SQLite (same rows written).
func (s *Store) connectionConnected(ctx context.Context, connectionID, endpointAddr string) error {
	now := s.now().UTC().Truncate(time.Microsecond) // what the warehouse keeps
	var moved []SessionChange
	if s.dialect == Postgres && !s.inTx {
		inst := s.opts.Sessions.InstanceID
		err := s.q(ctx).Raw(connectedPostgres, map[string]any{"now": now, "ep": endpointAddr, "id": connectionID,
			"channel": SessionNotifyChannel, "prefix": inst + "\n"}).Scan(&moved).Error
		if err != nil {
			return fmt.Errorf("connection %s connected: %w", connectionID, err)
		}
		if n := s.opts.Sessions.Notifier; n != nil && len(moved) > 0 {
			n.SessionsChanged(moved)
		}
		return nil
	}
	return s.Transact(ctx, func(tx *Store) error {
		db := tx.q(ctx)
		var rows []struct{ SessionID, EndpointAddr string }
		if err := db.Raw(`UPDATE session_connections SET connected_at = ?,
			endpoint_addr = CASE WHEN ? = '' THEN endpoint_addr ELSE ? END
			WHERE id = ? AND connected_at IS NULL AND closed_at IS NULL RETURNING session_id, endpoint_addr`,
			now, endpointAddr, endpointAddr, connectionID).Scan(&rows).Error; err != nil || len(rows) == 0 {
			return err
		}
		if err := db.Exec(`UPDATE warehouse_connections SET connected_at = ?,
			endpoint_addr = CASE WHEN endpoint_addr = '' THEN ? ELSE endpoint_addr END
			WHERE connection_id = ? AND connected_at IS NULL`, now, rows[0].EndpointAddr, connectionID).Error; err != nil {
			return fmt.Errorf("warehouse connection %s: %w", connectionID, err)
		}
		if err := db.Raw(`SELECT c.session_id, s.user_id FROM sessions s JOIN session_connections c ON c.session_id = s.id WHERE c.id = ?`,
			connectionID).Scan(&moved).Error; err != nil {
			return err
		}
		return tx.publishChanges(ctx, moved)
	})
}
