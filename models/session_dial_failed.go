package models

import (
	"context"
	"fmt"
)

// reasonNetworkError is the connection end reason of a failed dial (the
// worker's ReasonNetworkError).
const reasonNetworkError = "network error"

// giveBackDialSlot returns the connection-limit slot of connectionID, just
// closed with reason, when its dial to the host failed: a connection closed
// with "network error" that never connected carried no byte, so the product
// decision (DOMAIN.md, docs/sessions.md) is that it does not use up the
// session's connection limit. It stays recorded (the connection row, the
// warehouse), only sessions.connection_count goes down by one.
func (s *Store) giveBackDialSlot(ctx context.Context, sessionID, connectionID, reason string) error {
	if reason != reasonNetworkError {
		return nil
	}
	if err := s.q(ctx).Exec(`UPDATE sessions SET connection_count = connection_count - 1
		WHERE id = ? AND connection_count > 0
		AND EXISTS (SELECT 1 FROM session_connections WHERE id = ? AND connected_at IS NULL)`, sessionID, connectionID).Error; err != nil {
		return fmt.Errorf("give back the slot of connection %s: %w", connectionID, err)
	}
	return nil
}
