package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// AdmitInput is a connection attempt presented to a worker: the session's
// authorization token and where the connection comes from.
type AdmitInput struct {
	Token      string
	ClientAddr string // address:port as seen by the worker
	UserIP     string // the person's IP after trusted proxies
}

// Admission is an admitted connection and the session it belongs to (read
// after the admission: Endpoint to dial, ExpiresAt as the relay deadline).
type Admission struct {
	Connection Connection
	Session    Session
}

// Reasons a connection is refused (each wraps ErrConflict, or ErrNotFound
// for an unknown token).
var (
	ErrSessionEnded   error = Conflict("", "The session is canceled or terminated.")
	ErrSessionExpired error = Conflict("", "The session has expired.")
	ErrLimitReached   error = Conflict("", "The session's connection limit is reached.")
)

// AdmitConnection admits a connection on the session whose token this is,
// in one atomic statement: the session must be pending or active, not
// expired, and under its connection limit (N concurrent attempts on a limit
// of L admit exactly min(N, L)). The first connection moves the session
// pending → active; later ones leave it active (never a conflict). Errors:
// ErrNotFound (unknown token), ErrSessionEnded, ErrSessionExpired,
// ErrLimitReached.
func (s *Store) AdmitConnection(ctx context.Context, in AdmitInput) (*Admission, error) {
	// An active session's connection: one statement (session_admit.go).
	if adm, ok, err := s.admitActive(ctx, in); err != nil || ok {
		return adm, err
	}
	var out *Admission
	err := s.Transact(ctx, func(tx *Store) error {
		now := tx.now()
		var moved []struct {
			ID, UserID           string
			PreviousState, State SessionState
			TerminationReason    *TerminationReason
			ConnectionCount      int
		}
		err := tx.q(ctx).Raw(`UPDATE sessions SET
			previous_state = CASE WHEN `+stateInSQL("state", EventConnect)+` THEN state ELSE previous_state END,
			state = 'active', connection_count = connection_count + 1, open_connections = open_connections + 1,
			updated_at = ?, version = version + 1
			WHERE token_hash = ? AND (`+stateInSQL("state", EventConnect)+` OR state = 'active') AND expires_at > ?
			AND (connection_limit = -1 OR connection_count < connection_limit)`+moveReturning+`, connection_count`,
			now, hashSecret(in.Token), now).Scan(&moved).Error
		if err != nil {
			return fmt.Errorf("admit connection: %w", err)
		}
		if len(moved) == 0 {
			return tx.refusal(ctx, in.Token, now)
		}
		m := moved[0]
		// pending (no connection yet) → active. Not connection_count == 1: a
		// failed dial gives its slot back (giveBackDialSlot), so the count
		// can be 1 again on an active session. The session row is locked by
		// the UPDATE until commit, so a concurrent admission sees this one's
		// connection row.
		var earlier int64
		if err := tx.q(ctx).Model(&Connection{}).Where("session_id = ?", m.ID).Count(&earlier).Error; err != nil {
			return fmt.Errorf("admit connection: %w", err)
		}
		if earlier == 0 {
			mv := sessionMove{ID: m.ID, UserID: m.UserID, PreviousState: m.PreviousState, State: m.State}
			if err := tx.recordMoves(ctx, []sessionMove{mv}, now); err != nil {
				return err
			}
		} else if err := tx.publishChanges(ctx, []SessionChange{{SessionID: m.ID, UserID: m.UserID}}); err != nil {
			return err
		}
		sess, err := first[Session](tx.q(ctx), "session", m.ID)
		if err != nil {
			return err
		}
		c := Connection{ID: NewID(PrefixConnection), SessionID: m.ID, ClientAddr: in.ClientAddr, UserIP: in.UserIP,
			EndpointAddr: sess.Endpoint, AuthorizedAt: now}
		if id := tx.opts.Sessions.InstanceID; id != "" {
			c.InstanceID = &id
		}
		if err := tx.q(ctx).Create(&c).Error; err != nil {
			return fmt.Errorf("record connection: %w", err)
		}
		if err := tx.warehouseConnection(ctx, c.warehouse()); err != nil {
			return err
		}
		out = &Admission{Connection: c, Session: *sess}
		return nil
	})
	return out, err
}

// refusal explains why a token was not admitted.
func (s *Store) refusal(ctx context.Context, token string, now time.Time) error {
	var sess Session
	err := s.q(ctx).Where("token_hash = ?", hashSecret(token)).Take(&sess).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("no session has this token: %w", ErrNotFound)
	case err != nil:
		return err
	case !sess.State.Live():
		return ErrSessionEnded
	case !sess.ExpiresAt.After(now):
		return ErrSessionExpired
	default:
		return ErrLimitReached
	}
}

// ConnectionConnected records that the worker reached the endpoint (the
// address it dialled, as ip:port; empty keeps the session's endpoint).
// Idempotent; a closed connection is left as it is.
func (s *Store) ConnectionConnected(ctx context.Context, connectionID, endpointAddr string) error {
	return s.connectionConnected(ctx, connectionID, endpointAddr) // session_admit.go
}

// ConnectionClosed records a connection's final bytes and closes it with
// reason (see ConnectionsClosed). ErrNotFound for an unknown connection.
func (s *Store) ConnectionClosed(ctx context.Context, connectionID string, bytesUp, bytesDown int64, reason string) error {
	n, err := s.ConnectionsClosed(ctx, []ConnectionEnd{{ConnectionID: connectionID, BytesUp: bytesUp, BytesDown: bytesDown, Reason: reason}})
	if err == nil && n == 0 {
		err = fmt.Errorf("connection %s: %w", connectionID, ErrNotFound)
	}
	return err
}

// ConnectionEnd is the end of one connection, as its worker saw it.
type ConnectionEnd struct {
	ConnectionID       string
	BytesUp, BytesDown int64
	Reason             string
}

// ConnectionsClosed records the final bytes and the close of many
// connections at once, in one transaction whose sessions are locked once
// each, in order (a mass close of thousands of connections of one session
// is a few statements per connection, not a transaction each queued on the
// session's lock). Idempotent per connection: one already closed, for
// example by its session's termination, keeps its first reason. When the
// last open ones close, a canceling session terminates (canceled, or closed
// by end-user) and an active one whose limit is used up terminates
// (connection limit). Unknown connections are skipped; it returns how many
// were known.
func (s *Store) ConnectionsClosed(ctx context.Context, ends []ConnectionEnd) (int, error) {
	known := 0
	err := s.Transact(ctx, func(tx *Store) error {
		now := tx.now()
		ids := make([]string, len(ends))
		for i, e := range ends {
			ids[i] = e.ConnectionID
		}
		sessionOf := map[string]string{}
		for _, chunk := range chunks(ids, 500) {
			var rows []struct{ ID, SessionID string }
			if err := tx.q(ctx).Raw(`SELECT id, session_id FROM session_connections WHERE id IN ?`, chunk).Scan(&rows).Error; err != nil {
				return fmt.Errorf("find connections: %w", err)
			}
			for _, r := range rows {
				sessionOf[r.ID] = r.SessionID
			}
		}
		known = len(sessionOf)
		if known == 0 {
			return nil
		}
		var sids []string
		for _, sid := range sessionOf {
			if !slices.Contains(sids, sid) {
				sids = append(sids, sid)
			}
		}
		slices.Sort(sids)
		// Lock the sessions before their connections, the order every
		// session move takes, so the two never deadlock.
		if tx.dialect == Postgres {
			if err := tx.q(ctx).Exec(`SELECT 1 FROM sessions WHERE id IN ? ORDER BY id FOR UPDATE`, sids).Error; err != nil {
				return err
			}
		}
		closed := map[string]int{}
		var dialFailed [][2]string // session, connection: closed with network error
		for _, e := range ends {
			sid, ok := sessionOf[e.ConnectionID]
			if !ok {
				continue
			}
			r := tx.q(ctx).Exec(`UPDATE session_connections SET bytes_up = ?, bytes_down = ?, closed_at = ?, closed_reason = ?
				WHERE id = ? AND closed_at IS NULL`, e.BytesUp, e.BytesDown, now, e.Reason, e.ConnectionID)
			if r.Error != nil {
				return fmt.Errorf("close connection %s: %w", e.ConnectionID, r.Error)
			}
			if r.RowsAffected == 1 {
				closed[sid]++
				if e.Reason == reasonNetworkError {
					dialFailed = append(dialFailed, [2]string{sid, e.ConnectionID})
				}
				continue
			}
			if err := tx.q(ctx).Exec(`UPDATE session_connections SET bytes_up = ?, bytes_down = ? WHERE id = ?`,
				e.BytesUp, e.BytesDown, e.ConnectionID).Error; err != nil {
				return fmt.Errorf("connection %s bytes: %w", e.ConnectionID, err)
			}
		}
		for sid, n := range closed {
			if err := tx.q(ctx).Exec(`UPDATE sessions SET open_connections = CASE WHEN open_connections > ? THEN open_connections - ? ELSE 0 END
				WHERE id = ?`, n, n, sid).Error; err != nil {
				return err
			}
		}
		// After the open counts went down (open_connections <= connection_count).
		for _, f := range dialFailed {
			if err := tx.giveBackDialSlot(ctx, f[0], f[1], reasonNetworkError); err != nil {
				return err
			}
		}
		if err := tx.q(ctx).Exec(`UPDATE sessions SET
			bytes_up = (SELECT COALESCE(SUM(c.bytes_up), 0) FROM session_connections c WHERE c.session_id = sessions.id),
			bytes_down = (SELECT COALESCE(SUM(c.bytes_down), 0) FROM session_connections c WHERE c.session_id = sessions.id),
			updated_at = ? WHERE id IN ?`, now, sids).Error; err != nil {
			return err
		}
		if _, err := tx.terminateSessions(ctx, EventConnectionsClosed, "id IN ? AND open_connections = 0", []any{sids}, false); err != nil {
			return err
		}
		if _, err := tx.terminateSessions(ctx, EventLimitReached, "id IN ? AND connection_limit > 0 AND connection_count >= connection_limit AND open_connections = 0", []any{sids}, false); err != nil {
			return err
		}
		for _, chunk := range chunks(ids, 500) {
			var conns []Connection
			if err := tx.q(ctx).Where("id IN ?", chunk).Find(&conns).Error; err != nil {
				return err
			}
			for _, c := range conns {
				if err := tx.warehouseConnection(ctx, c.warehouse()); err != nil {
					return err
				}
			}
		}
		var changes []SessionChange
		if err := tx.q(ctx).Raw("SELECT id AS session_id, user_id FROM sessions WHERE id IN ?", sids).Scan(&changes).Error; err != nil {
			return err
		}
		return tx.publishChanges(ctx, changes)
	})
	if err != nil {
		return 0, fmt.Errorf("record connections closed: %w", err)
	}
	return known, nil
}

// FlushConnectionBytes records the bytes a still open connection has moved
// so far (the worker calls it periodically) and refreshes its session's
// totals. A closed or unknown connection is left as it is.
func (s *Store) FlushConnectionBytes(ctx context.Context, connectionID string, bytesUp, bytesDown int64) error {
	return s.Transact(ctx, func(tx *Store) error {
		var c Connection
		// Lock the session before its connection, the order every session
		// move takes (see ConnectionClosed), so the two never deadlock.
		if err := tx.lockRows(ctx, "sessions", "id = (SELECT session_id FROM session_connections WHERE id = ?)", connectionID); err != nil {
			return err
		}
		err := tx.q(ctx).Raw(`UPDATE session_connections SET bytes_up = ?, bytes_down = ? WHERE id = ? AND closed_at IS NULL
			RETURNING id, session_id`, bytesUp, bytesDown, connectionID).Scan(&c).Error
		if err != nil || c.ID == "" {
			return err
		}
		if err := tx.q(ctx).Exec(`UPDATE sessions SET
			bytes_up = (SELECT COALESCE(SUM(bytes_up), 0) FROM session_connections WHERE session_id = ?),
			bytes_down = (SELECT COALESCE(SUM(bytes_down), 0) FROM session_connections WHERE session_id = ?)
			WHERE id = ?`, c.SessionID, c.SessionID, c.SessionID).Error; err != nil {
			return err
		}
		if err := tx.q(ctx).Where("id = ?", connectionID).Take(&c).Error; err != nil {
			return err
		}
		if err := tx.warehouseConnection(ctx, c.warehouse()); err != nil {
			return err
		}
		var uid string
		tx.q(ctx).Raw("SELECT user_id FROM sessions WHERE id = ?", c.SessionID).Scan(&uid)
		return tx.publishChanges(ctx, []SessionChange{{SessionID: c.SessionID, UserID: uid}})
	})
}

// SessionByToken returns the session a proxy token belongs to while it may
// still be used (for `gatehouse connect` to show the expiration and the
// connections left). Errors: ErrNotFound (unknown token), ErrSessionEnded,
// ErrSessionExpired.
func (s *Store) SessionByToken(ctx context.Context, token string) (*Session, error) {
	var sess Session
	err := s.q(ctx).Where("token_hash = ?", hashSecret(token)).Take(&sess).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return nil, fmt.Errorf("no session has this token: %w", ErrNotFound)
	case err != nil:
		return nil, err
	case !sess.State.Live():
		return nil, ErrSessionEnded
	case !sess.ExpiresAt.After(s.now()):
		return nil, ErrSessionExpired
	}
	return &sess, nil
}
