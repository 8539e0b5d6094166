package models

import (
	"context"
	"fmt"
	"time"
)

// DefaultSessionRetention is how long operational rows of terminated
// sessions are kept by default.
const DefaultSessionRetention = 24 * time.Hour

// retentionBatch bounds each delete so no transaction grows large.
const retentionBatch = 1000

// PurgeTerminatedSessions deletes the operational rows (sessions and, by
// cascade, their states, credentials and connections) of sessions that
// terminated more than retention ago, in batches, and returns how many
// sessions it deleted. The warehouse keeps every one of them: it is never
// touched here. Safe when several instances run it at once. It is system
// work run by the retention loop, not a use case of any actor.
func (s *Store) PurgeTerminatedSessions(ctx context.Context, retention time.Duration) (int64, error) {
	if retention <= 0 {
		return 0, fmt.Errorf("session retention %s: %w", retention, ErrInvalid)
	}
	cutoff := s.now().Add(-retention)
	var total int64
	for {
		res := s.q(ctx).Exec(`DELETE FROM sessions WHERE id IN (
			SELECT id FROM sessions WHERE state = 'terminated' AND ended_at < ? LIMIT ?)`, cutoff, retentionBatch)
		if res.Error != nil {
			return total, fmt.Errorf("purge terminated sessions: %w", res.Error)
		}
		total += res.RowsAffected
		if res.RowsAffected < retentionBatch || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}
