package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// CloseSessionByEndUser ends the session whose authorization token this is
// because its user is done with it (`gatehouse connect` exiting when the
// user stops it or its --exec command exits): the token is the only
// credential, as for AdmitConnection. In one transaction a session with no
// open connection terminates with reason closed by end-user; one with open
// connections goes canceling, its live connections are cut (the Ended hook
// in-process, SessionOptions.EndedChannel across instances) with connection
// closed reason closed by end-user, and it terminates with reason closed by
// end-user once they are recorded closed. Every move is recorded in the
// history and the warehouse like any other.
//
// Idempotent: a session already ended (or ending) this way is returned as
// it is. Errors: ErrNotFound (unknown token), ErrSessionEnded (canceled or
// terminated for another reason), ErrSessionExpired.
func (s *Store) CloseSessionByEndUser(ctx context.Context, token string) (*Session, error) {
	var out *Session
	err := s.Transact(ctx, func(tx *Store) error {
		hash := hashSecret(token)
		moved, err := tx.endSessions(ctx, EventEndUserClosed, EventEndUserClosedLive, "token_hash = ? AND expires_at > ?",
			[]any{hash, tx.now()})
		if err != nil {
			return err
		}
		var sess Session
		err = tx.q(ctx).Where("token_hash = ?", hash).Take(&sess).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			return fmt.Errorf("no session has this token: %w", ErrNotFound)
		case err != nil:
			return err
		case len(moved) > 0 || sess.closedByEndUser():
			out = &sess
			return nil
		case !sess.State.Live():
			return ErrSessionEnded
		case !sess.ExpiresAt.After(tx.now()):
			return ErrSessionExpired
		}
		return Conflict("close session "+sess.ID, "The session did not change: try again.")
	})
	if err != nil {
		return nil, fmt.Errorf("close session by end-user: %w", err)
	}
	return out, nil
}

// closedByEndUser reports whether the session ended, or is ending, because
// its user closed it.
func (s Session) closedByEndUser() bool {
	switch s.State {
	case StateTerminated:
		return s.TerminationReason != nil && *s.TerminationReason == ReasonClosedByEndUser
	case StateCanceling:
		return s.endingReason() == ReasonClosedByEndUser
	}
	return false
}
