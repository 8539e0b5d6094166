package models

import (
	"context"
	"fmt"
	"time"
)

// DefaultInstanceGrace is how long an instance may go unseen before the
// others consider it dead and close its open connections.
const DefaultInstanceGrace = 30 * time.Second

// WorkerInstance is a running serve or dev process: its embedded worker
// relays connections, and it marks itself seen every few seconds.
type WorkerInstance struct {
	ID        string
	StartedAt time.Time
	SeenAt    time.Time
}

// TableName is the instances table.
func (WorkerInstance) TableName() string { return "worker_instances" }

// RegisterInstance records the instance SessionOptions.InstanceID as live,
// seen now. Call it before the worker admits connections.
func (s *Store) RegisterInstance(ctx context.Context) error {
	_, err := s.InstanceHeartbeat(ctx)
	return err
}

// InstanceHeartbeat marks this instance seen now. It reports false when the
// instance was not registered any more: another instance found it unseen
// for the grace period (a long pause, or the database out of reach) and
// closed its connections in the records. The instance is registered again;
// its caller must cut the connections it still relays, which the records
// already show closed.
func (s *Store) InstanceHeartbeat(ctx context.Context) (registered bool, err error) {
	id := s.opts.Sessions.InstanceID
	if id == "" {
		return false, fmt.Errorf("instance heartbeat: no instance id: %w", ErrInvalid)
	}
	now := s.now()
	r := s.q(ctx).Model(&WorkerInstance{}).Where("id = ?", id).Update("seen_at", now)
	if r.Error != nil {
		return false, fmt.Errorf("instance heartbeat: %w", r.Error)
	}
	if r.RowsAffected == 1 {
		return true, nil
	}
	if err := s.q(ctx).Create(&WorkerInstance{ID: id, StartedAt: now, SeenAt: now}).Error; err != nil {
		return false, fmt.Errorf("register instance: %w", err)
	}
	return false, nil
}

// DeregisterInstance removes this instance at a clean shutdown, once its
// worker has recorded its connections closed.
func (s *Store) DeregisterInstance(ctx context.Context) error {
	if err := s.q(ctx).Where("id = ?", s.opts.Sessions.InstanceID).Delete(&WorkerInstance{}).Error; err != nil {
		return fmt.Errorf("deregister instance: %w", err)
	}
	return nil
}

// InstanceGrace is how long an instance may go unseen before the others
// close its connections (SessionOptions.InstanceGrace, or the default).
func (s *Store) InstanceGrace() time.Duration {
	if g := s.opts.Sessions.InstanceGrace; g > 0 {
		return g
	}
	return DefaultInstanceGrace
}

// orphanedCondition matches the open connections whose instance is gone.
const orphanedCondition = `c.closed_at IS NULL AND c.instance_id IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM worker_instances i WHERE i.id = c.instance_id)`

// closeOrphanedConnections forgets the instances unseen for the grace
// period and closes the open connections they held (`system error`, their
// last flushed bytes kept), recounting their sessions' open connections, in
// one transaction. The session rules that follow in the same sweep then
// finish canceling sessions and used-up limits as usual. It returns how
// many connections it closed.
func (s *Store) closeOrphanedConnections(ctx context.Context) (int, error) {
	var n int
	err := s.Transact(ctx, func(tx *Store) error {
		now := tx.now()
		// Never this instance itself: after a long pause its own sweep may
		// run before its heartbeat, and it is plainly alive.
		if err := tx.q(ctx).Where("seen_at < ? AND id <> ?", now.Add(-tx.InstanceGrace()), tx.opts.Sessions.InstanceID).
			Delete(&WorkerInstance{}).Error; err != nil {
			return fmt.Errorf("forget dead instances: %w", err)
		}
		var sids []string // in order, so concurrent sweeps lock sessions in one order
		if err := tx.q(ctx).Raw(`SELECT DISTINCT c.session_id FROM session_connections c WHERE ` + orphanedCondition +
			` ORDER BY c.session_id`).Scan(&sids).Error; err != nil {
			return fmt.Errorf("find orphaned connections: %w", err)
		}
		for _, ids := range chunks(sids, 500) {
			// Sessions before their connections: the lock order of every move.
			var changes []SessionChange
			if err := tx.q(ctx).Raw(`SELECT id AS session_id, user_id FROM sessions WHERE `+tx.lockedSet("id IN ?", false),
				ids).Scan(&changes).Error; err != nil {
				return fmt.Errorf("lock sessions of orphaned connections: %w", err)
			}
			closed, err := tx.closeConnectionsWhere(ctx,
				"id IN (SELECT c.id FROM session_connections c WHERE c.session_id IN ? AND "+orphanedCondition+")",
				[]any{ids}, string(ReasonSystemError), now)
			if err != nil {
				return err
			}
			if err := tx.q(ctx).Exec(`UPDATE sessions SET updated_at = ?,
				open_connections = (SELECT count(*) FROM session_connections c WHERE c.session_id = sessions.id AND c.closed_at IS NULL)
				WHERE id IN ?`, now, ids).Error; err != nil {
				return fmt.Errorf("recount open connections: %w", err)
			}
			if err := tx.publishChanges(ctx, changes); err != nil {
				return err
			}
			n += closed
		}
		return nil
	})
	return n, err
}
