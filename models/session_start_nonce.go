package models

import (
	"context"
	"errors"
	"fmt"
)

// maxStartNonce bounds the nonce a start form may carry.
const maxStartNonce = 64

// errStartRepeated carries the session an earlier request with the same
// nonce started; StartSession turns it into a Repeated result.
type errStartRepeated struct{ sessionID string }

func (e errStartRepeated) Error() string { return "start repeated: session " + e.sessionID }

// claimStartNonce records that sessionID is the session of the actor's
// start form nonce, first thing in the start's transaction. When an earlier
// request (committed, or committing concurrently: Postgres makes this
// insert wait for it) holds the nonce, it returns errStartRepeated with that
// session. An empty nonce claims nothing (a start without a form, e.g. a
// test or an API call that does not ask for idempotency).
func (s *Store) claimStartNonce(ctx context.Context, userID, nonce, sessionID string) error {
	if nonce == "" {
		return nil
	}
	if len(nonce) > maxStartNonce {
		return Invalid("nonce", "The form is damaged; reload the page and try again.")
	}
	res := s.q(ctx).Exec(`INSERT INTO session_start_nonces (user_id, nonce, session_id, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, userID, nonce, sessionID, s.now())
	if res.Error != nil {
		return fmt.Errorf("claim start nonce: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	var earlier string
	if err := s.q(ctx).Raw(`SELECT session_id FROM session_start_nonces WHERE user_id = ? AND nonce = ?`, userID, nonce).
		Scan(&earlier).Error; err != nil {
		return fmt.Errorf("read start nonce: %w", err)
	}
	return errStartRepeated{sessionID: earlier}
}

// repeatedStart answers a start whose nonce an earlier request used: that
// session, without its token (shown only to the first answer).
func (s *Store) repeatedStart(ctx context.Context, a Actor, err error) (*StartedSession, error) {
	var rep errStartRepeated
	if !errors.As(err, &rep) {
		return nil, err
	}
	d, err := s.GetSession(ctx, a, rep.sessionID)
	if err != nil {
		return nil, err
	}
	return &StartedSession{Session: d.Session, Actions: d.Actions, Repeated: true}, nil
}
