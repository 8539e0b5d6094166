package models

import (
	"context"
	"errors"
	"fmt"
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
		if m.ConnectionCount == 1 { // pending (no connection yet) → active
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
// reason (idempotent: a connection already closed, for example by its
// session's termination, keeps its first reason). When it was the last
// open one, a canceling session terminates (canceled) and an active one
// whose limit is used up terminates (connection limit).
func (s *Store) ConnectionClosed(ctx context.Context, connectionID string, bytesUp, bytesDown int64, reason string) error {
	return s.Transact(ctx, func(tx *Store) error {
		now := tx.now()
		var ids []string
		if err := tx.q(ctx).Raw(`SELECT session_id FROM session_connections WHERE id = ?`, connectionID).Scan(&ids).Error; err != nil {
			return fmt.Errorf("connection %s: %w", connectionID, err)
		}
		if len(ids) == 0 {
			return fmt.Errorf("connection %s: %w", connectionID, ErrNotFound)
		}
		sid := ids[0]
		// Lock the session before its connection, the order every
		// session move takes, so the two never deadlock.
		if err := tx.lockRows(ctx, "sessions", "id = ?", sid); err != nil {
			return err
		}
		if err := tx.q(ctx).Exec(`UPDATE session_connections SET bytes_up = ?, bytes_down = ? WHERE id = ?`,
			bytesUp, bytesDown, connectionID).Error; err != nil {
			return fmt.Errorf("connection %s bytes: %w", connectionID, err)
		}
		r := tx.q(ctx).Exec(`UPDATE session_connections SET closed_at = ?, closed_reason = ? WHERE id = ? AND closed_at IS NULL`,
			now, reason, connectionID)
		if r.Error != nil {
			return fmt.Errorf("close connection %s: %w", connectionID, r.Error)
		}
		if r.RowsAffected == 1 {
			if err := tx.q(ctx).Exec(`UPDATE sessions SET open_connections = open_connections - 1 WHERE id = ? AND open_connections > 0`,
				sid).Error; err != nil {
				return err
			}
		}
		if err := tx.q(ctx).Exec(`UPDATE sessions SET
			bytes_up = (SELECT COALESCE(SUM(bytes_up), 0) FROM session_connections WHERE session_id = ?),
			bytes_down = (SELECT COALESCE(SUM(bytes_down), 0) FROM session_connections WHERE session_id = ?),
			updated_at = ? WHERE id = ?`, sid, sid, now, sid).Error; err != nil {
			return err
		}
		if _, err := tx.terminateSessions(ctx, EventConnectionsClosed, "id = ? AND open_connections = 0", []any{sid}, false); err != nil {
			return err
		}
		if _, err := tx.terminateSessions(ctx, EventLimitReached, "id = ? AND connection_limit > 0 AND connection_count >= connection_limit AND open_connections = 0", []any{sid}, false); err != nil {
			return err
		}
		var c Connection
		if err := tx.q(ctx).Where("id = ?", connectionID).Take(&c).Error; err != nil {
			return err
		}
		if err := tx.warehouseConnection(ctx, c.warehouse()); err != nil {
			return err
		}
		var uid string
		tx.q(ctx).Raw("SELECT user_id FROM sessions WHERE id = ?", sid).Scan(&uid)
		return tx.publishChanges(ctx, []SessionChange{{SessionID: sid, UserID: uid}})
	})
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
