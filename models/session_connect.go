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
	if s.inTx || s.admits == nil {
		return s.admitOne(ctx, in)
	}
	return s.admitGrouped(ctx, in) // session_admit_batch.go
}

// admitOne is AdmitConnection for one connection on its own: the fast path
// when the session is active, else the general transaction.
func (s *Store) admitOne(ctx context.Context, in AdmitInput) (*Admission, error) {
	// An active session's connection: one statement (session_admit.go).
	if adms, ok, err := s.admitActive(ctx, in.Token, []AdmitInput{in}); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return adms[0], nil
	}
	var out *Admission
	err := s.Transact(ctx, func(tx *Store) error {
		now := tx.now()
		var moved []Session
		err := tx.q(ctx).Raw(`UPDATE sessions SET
			previous_state = CASE WHEN `+stateInSQL("state", EventConnect)+` THEN state ELSE previous_state END,
			state = 'active', connection_count = connection_count + 1, open_connections = open_connections + 1,
			updated_at = ?, version = version + 1
			WHERE token_hash = ? AND (`+stateInSQL("state", EventConnect)+` OR state = 'active') AND expires_at > ?
			AND (connection_limit = -1 OR connection_count < connection_limit) RETURNING *`,
			now, hashSecret(in.Token), now).Scan(&moved).Error
		if err != nil {
			return fmt.Errorf("admit connection: %w", err)
		}
		if len(moved) == 0 {
			return tx.refusal(ctx, in.Token, now)
		}
		sess := &moved[0] // the session as admitted (RETURNING *)
		// pending (no connection yet) → active. Not connection_count == 1: a
		// failed dial gives its slot back (giveBackDialSlot), so the count
		// can be 1 again on an active session. The session row is locked by
		// the UPDATE until commit, so a concurrent admission sees this one's
		// connection row.
		var earlier int64
		if err := tx.q(ctx).Model(&Connection{}).Where("session_id = ?", sess.ID).Count(&earlier).Error; err != nil {
			return fmt.Errorf("admit connection: %w", err)
		}
		if earlier == 0 {
			mv := sessionMove{ID: sess.ID, UserID: sess.UserID, State: sess.State}
			if sess.PreviousState != nil {
				mv.PreviousState = *sess.PreviousState
			}
			if err := tx.recordMoves(ctx, []sessionMove{mv}, now); err != nil {
				return err
			}
		} else if err := tx.publishChanges(ctx, []SessionChange{{SessionID: sess.ID, UserID: sess.UserID}}); err != nil {
			return err
		}
		c := Connection{ID: NewID(PrefixConnection), SessionID: sess.ID, ClientAddr: in.ClientAddr, UserIP: in.UserIP,
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
