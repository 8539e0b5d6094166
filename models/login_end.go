package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// LoginsEndedChannel is the Postgres LISTEN/NOTIFY channel on which ended
// logins are announced to every instance (their live streams end); a
// payload is login ids separated by spaces.
const LoginsEndedChannel = "gatehouse_logins_ended"

// endLogins deletes the logins matching where, in one statement, and
// announces their ids (endedLogins). It returns the ended logins (id,
// user_id, account_id and auth_method_id set).
func (s *Store) endLogins(ctx context.Context, where string, args ...any) ([]Login, error) {
	var ended []Login
	if err := s.q(ctx).Raw("DELETE FROM logins WHERE "+where+" RETURNING id, user_id, account_id, auth_method_id",
		args...).Scan(&ended).Error; err != nil {
		return nil, fmt.Errorf("end logins: %w", err)
	}
	if len(ended) == 0 {
		return nil, nil
	}
	ids := make([]string, len(ended))
	for i, l := range ended {
		ids[i] = l.ID
	}
	return ended, s.endedLogins(ctx, ids)
}

// endedLogins announces logins that ended: through pg_notify inside the
// transaction (delivered to every instance on commit) and to the local
// Options.LoginsEnded after commit.
func (s *Store) endedLogins(ctx context.Context, ids []string) error {
	if s.dialect == Postgres {
		var b strings.Builder
		flush := func() error {
			if b.Len() == 0 {
				return nil
			}
			err := s.q(ctx).Exec("SELECT pg_notify(?, ?)", LoginsEndedChannel, b.String()).Error
			b.Reset()
			return err
		}
		for _, id := range ids {
			if b.Len()+len(id)+1 > notifyPayloadMax {
				if err := flush(); err != nil {
					return fmt.Errorf("notify ended logins: %w", err)
				}
			}
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(id)
		}
		if err := flush(); err != nil {
			return fmt.Errorf("notify ended logins: %w", err)
		}
	}
	if f := s.opts.LoginsEnded; f != nil {
		s.afterCommit(func() { f(ids) })
	}
	return nil
}

// LoginEnds returns when the login ends unless it is used again: the
// earlier of its absolute expiry and its idle deadline. It is no use of the
// login (a live stream asks it without keeping its login alive).
// ErrUnauthenticated when the login has ended.
func (s *Store) LoginEnds(ctx context.Context, loginID string) (time.Time, error) {
	var l Login
	err := s.q(ctx).Select("expires_at, last_used_at").Where("id = ?", loginID).Take(&l).Error
	if err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return time.Time{}, ErrUnauthenticated
		}
		return time.Time{}, fmt.Errorf("find login: %w", err)
	}
	ends := l.ExpiresAt
	if idle := l.LastUsedAt.Add(s.opts.LoginIdleTimeout); idle.Before(ends) {
		ends = idle
	}
	if !s.now().Before(ends) {
		return time.Time{}, ErrUnauthenticated
	}
	return ends, nil
}
