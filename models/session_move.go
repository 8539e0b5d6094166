package models

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// sessionMove is one row changed by a state-changing statement.
type sessionMove struct {
	ID                string
	UserID            string
	PreviousState     SessionState
	State             SessionState
	TerminationReason *TerminationReason
	// EndingReason is, for a session gone canceling, the reason it will
	// terminate with once its connections are closed.
	EndingReason *TerminationReason
}

const moveReturning = " RETURNING id, user_id, previous_state, state, termination_reason, ending_reason"

// terminateSessions applies a terminating event to the sessions matching
// cond (plus the event's from-states, checked again on the row itself), as
// one statement, and records what moved.
func (s *Store) terminateSessions(ctx context.Context, event SessionEvent, cond string, args []any, skipLocked bool) ([]sessionMove, error) {
	now := s.now()
	states := stateInSQL("state", event)
	sql := `UPDATE sessions SET previous_state = state, state = 'terminated', termination_reason = ` +
		eventReasonCase("state", event) + `, ended_at = ?, updated_at = ?, open_connections = 0, version = version + 1
		WHERE ` + states + ` AND ` + s.lockedSet(states+" AND "+cond, skipLocked) + moveReturning
	var moved []sessionMove
	if err := s.q(ctx).Raw(sql, append([]any{now, now}, args...)...).Scan(&moved).Error; err != nil {
		return nil, fmt.Errorf("%s sessions: %w", event, err)
	}
	return moved, s.recordMoves(ctx, moved, now)
}

// cancelSessions cancels the sessions matching cond in one statement: those
// with no open connection terminate (canceled), the others go canceling.
// Sessions already canceling or terminated are left as they are.
func (s *Store) cancelSessions(ctx context.Context, cond string, args []any) ([]sessionMove, error) {
	return s.endSessions(ctx, EventCancelIdle, EventCancelLive, cond, args)
}

// endSessions applies, in one statement, idle to the sessions matching cond
// that have no open connection (they terminate) and live to those that have
// some (they go canceling, and remember as their ending reason the reason
// idle gives, to terminate with once their connections are closed). A
// canceling session idle applies to keeps the reason it went canceling for.
func (s *Store) endSessions(ctx context.Context, idle, live SessionEvent, cond string, args []any) ([]sessionMove, error) {
	now := s.now()
	idleTo, idleReason, _ := NextSessionState(StatePending, idle)
	liveTo, _, _ := NextSessionState(StatePending, live)
	match := "((open_connections = 0 AND " + stateInSQL("state", idle) + ") OR (open_connections > 0 AND " +
		stateInSQL("state", live) + "))"
	sql := `UPDATE sessions SET previous_state = state,
		state = CASE WHEN open_connections = 0 THEN '` + string(idleTo) + `' ELSE '` + string(liveTo) + `' END,
		termination_reason = CASE WHEN open_connections = 0 THEN COALESCE(ending_reason, '` + string(idleReason) + `') END,
		ending_reason = CASE WHEN open_connections = 0 THEN ending_reason ELSE '` + string(idleReason) + `' END,
		ended_at = CASE WHEN open_connections = 0 THEN ` + s.timeParam() + ` END,
		updated_at = ?, version = version + 1
		WHERE ` + match + ` AND ` + s.lockedSet(match+" AND "+cond, false) + moveReturning
	var moved []sessionMove
	if err := s.q(ctx).Raw(sql, append([]any{now, now}, args...)...).Scan(&moved).Error; err != nil {
		return nil, fmt.Errorf("%s sessions: %w", idle, err)
	}
	return moved, s.recordMoves(ctx, moved, now)
}

// recordMoves writes, in the moving transaction, one history row per move,
// revokes the credentials of terminated sessions, closes their connections
// (before the warehouse records the termination: webhook receivers see the
// connections close, then the session end), tells the warehouse and
// publishes the change after commit.
func (s *Store) recordMoves(ctx context.Context, moved []sessionMove, now time.Time) error {
	if len(moved) == 0 {
		return nil
	}
	hist := make([]SessionStateRow, len(moved))
	type key struct {
		state  SessionState
		reason string
	}
	groups := map[key][]string{}
	var ended []string
	for i, m := range moved {
		prev := m.PreviousState
		hist[i] = SessionStateRow{SessionID: m.ID, State: m.State, PreviousState: &prev, TerminationReason: m.TerminationReason, At: now}
		k := key{state: m.State}
		if m.TerminationReason != nil {
			k.reason = string(*m.TerminationReason)
		}
		groups[k] = append(groups[k], m.ID)
		if m.State == StateTerminated {
			ended = append(ended, m.ID)
		}
	}
	if err := s.insertHistory(ctx, hist); err != nil {
		return err
	}
	for k, ids := range groups {
		// A terminated session's connections close first, so their
		// connection_closed events are queued before its terminated one.
		if k.state == StateTerminated {
			if err := s.closeConnections(ctx, ids, connectionReason(TerminationReason(k.reason)), now); err != nil {
				return err
			}
		}
		if err := s.warehouseSessionsState(ctx, ids, string(k.state), k.reason, now); err != nil {
			return err
		}
	}
	if err := s.revokeCredentials(ctx, ended, now); err != nil {
		return err
	}
	if err := s.publishEnded(ctx, moved); err != nil {
		return err
	}
	return s.publishMoves(ctx, moved)
}

// insertHistory writes history rows with multi-row INSERTs.
func (s *Store) insertHistory(ctx context.Context, hist []SessionStateRow) error {
	const batch = 1000
	for lo := 0; lo < len(hist); lo += batch {
		rows := hist[lo:min(lo+batch, len(hist))]
		args := make([]any, 0, 5*len(rows))
		for _, h := range rows {
			args = append(args, h.SessionID, h.State, h.PreviousState, h.TerminationReason, h.At)
		}
		vals := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", len(rows)), ", ")
		if err := s.q(ctx).Exec("INSERT INTO session_states (session_id, state, previous_state, termination_reason, at) VALUES "+vals,
			args...).Error; err != nil {
			return fmt.Errorf("record session history: %w", err)
		}
	}
	return nil
}

// connectionReason is the closed reason of a connection cut by a session's
// termination.
func connectionReason(r TerminationReason) string {
	switch r {
	case ReasonTimedOut, ReasonCanceled, ReasonSystemError, ReasonClosedByEndUser:
		return string(r)
	}
	return string(ReasonSystemError)
}

// closeConnections closes the still open connections of terminated sessions.
func (s *Store) closeConnections(ctx context.Context, sessionIDs []string, reason string, now time.Time) error {
	for _, ids := range chunks(sessionIDs, 500) {
		if _, err := s.closeConnectionsWhere(ctx, "session_id IN ? AND closed_at IS NULL", []any{ids}, reason, now); err != nil {
			return err
		}
	}
	return nil
}

// closeConnectionsWhere closes the connections matching cond (which must
// keep only open ones) with reason and tells the warehouse; it returns how
// many it closed.
func (s *Store) closeConnectionsWhere(ctx context.Context, cond string, args []any, reason string, now time.Time) (int, error) {
	var closed []Connection
	err := s.q(ctx).Raw(`UPDATE session_connections SET closed_at = ?, closed_reason = ?
		WHERE `+cond+`
		RETURNING id, session_id, client_addr, user_ip, endpoint_addr, authorized_at, connected_at, bytes_up, bytes_down`,
		append([]any{now, reason}, args...)...).Scan(&closed).Error
	if err != nil {
		return 0, fmt.Errorf("close connections: %w", err)
	}
	for _, c := range closed {
		c.ClosedAt, c.ClosedReason = &now, &reason
		if err := s.warehouseConnection(ctx, c.warehouse()); err != nil {
			return 0, err
		}
	}
	return len(closed), nil
}

// warehouse is the connection's facts for the warehouse.
func (c Connection) warehouse() *WarehouseConnection {
	w := &WarehouseConnection{ConnectionID: c.ID, SessionID: c.SessionID, ClientAddr: c.ClientAddr, UserIP: c.UserIP,
		EndpointAddr: c.EndpointAddr, AuthorizedAt: c.AuthorizedAt, ConnectedAt: c.ConnectedAt, ClosedAt: c.ClosedAt,
		BytesUp: c.BytesUp, BytesDown: c.BytesDown}
	if c.ClosedReason != nil {
		w.ClosedReason = *c.ClosedReason
	}
	return w
}
