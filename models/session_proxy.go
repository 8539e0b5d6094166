package models

import (
	"context"
	"fmt"
	"strings"
)

// This file is what the proxy worker needs from sessions beyond admission
// (session_connect.go): the sessions whose live connections must be cut, and the notification of
// ended sessions to every worker.

// SessionEnd says that the live connections of a session must be cut, and
// with which connection closed reason ("canceled", "timed out", "system
// error", "closed by end-user").
type SessionEnd struct {
	SessionID string
	Reason    string
}

// SessionTimedOut reports whether the session of token terminated because
// it expired (so that a refused client hears "expired", not "ended").
func (s *Store) SessionTimedOut(ctx context.Context, token string) bool {
	var reasons []string
	err := s.q(ctx).Raw("SELECT termination_reason FROM sessions WHERE token_hash = ? AND termination_reason IS NOT NULL",
		hashSecret(token)).Scan(&reasons).Error
	return err == nil && len(reasons) == 1 && reasons[0] == string(ReasonTimedOut)
}

// EndedSessions returns, among sessionIDs, those whose live connections
// must be cut (canceling or terminated, or expired), each with the
// connection closed reason to record: the worker's reconciliation.
func (s *Store) EndedSessions(ctx context.Context, sessionIDs []string) (map[string]string, error) {
	out := map[string]string{}
	now := s.now()
	for _, ids := range chunks(sessionIDs, 500) {
		var rows []Session
		if err := s.q(ctx).Select("id, state, termination_reason, ending_reason, expires_at").Where("id IN ?", ids).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("ended sessions: %w", err)
		}
		seen := map[string]bool{}
		for _, r := range rows {
			seen[r.ID] = true
			switch {
			case r.State == StateCanceling:
				out[r.ID] = string(r.endingReason())
			case r.State == StateTerminated && r.TerminationReason != nil:
				out[r.ID] = connectionReason(*r.TerminationReason)
			case !r.ExpiresAt.After(now):
				out[r.ID] = string(ReasonTimedOut)
			}
		}
		for _, id := range ids {
			if !seen[id] { // purged: nothing may stay connected to it
				out[id] = string(ReasonSystemError)
			}
		}
	}
	return out, nil
}

// publishEnded tells the workers which sessions must lose their live
// connections: through pg_notify on SessionOptions.EndedChannel inside the
// transaction (other instances, on commit) and through SessionOptions.Ended
// after commit (this instance). Sessions that timed out are cut by their
// relay deadline already; they are told in-process only. Sessions
// terminated with "connection limit" or "closed by end-user" have no live
// connection, and a canceling session was announced when it moved to
// canceling, with the reason it is ending for (canceled, or closed by
// end-user when its user ended it from their client).
func (s *Store) publishEnded(ctx context.Context, moved []sessionMove) error {
	var ends []SessionEnd
	byReason := map[string][]string{}
	for _, m := range moved {
		var reason string
		switch {
		case m.State == StateCanceling:
			reason = string(ReasonCanceled)
			if m.EndingReason != nil {
				reason = string(*m.EndingReason)
			}
		case m.State == StateTerminated && m.TerminationReason != nil && m.PreviousState != StateCanceling:
			switch *m.TerminationReason {
			case ReasonCanceled, ReasonTimedOut, ReasonSystemError:
				reason = string(*m.TerminationReason)
			}
		}
		if reason == "" {
			continue
		}
		ends = append(ends, SessionEnd{SessionID: m.ID, Reason: reason})
		if reason != string(ReasonTimedOut) {
			byReason[reason] = append(byReason[reason], m.ID)
		}
	}
	if len(ends) == 0 {
		return nil
	}
	if ch := s.opts.Sessions.EndedChannel; ch != "" && s.dialect == Postgres {
		for reason, ids := range byReason {
			for _, part := range chunks(ids, 1000) {
				if err := s.q(ctx).Exec(`SELECT pg_notify(?, x || ' ' || ?) FROM unnest(string_to_array(?, ',')) AS x`,
					ch, reason, strings.Join(part, ",")).Error; err != nil {
					return fmt.Errorf("notify ended sessions: %w", err)
				}
			}
		}
	}
	if f := s.opts.Sessions.Ended; f != nil {
		s.afterCommit(func() { f(ends) })
	}
	return nil
}

// myConnectionsMax caps the connections My sessions shows per page.
const myConnectionsMax = 200

// withConnections fills Connections of the page's sessions that are not
// terminated (oldest first, at most myConnectionsMax in all): My sessions
// shows them live; a terminated session's connections are on its page.
func (s *Store) withConnections(ctx context.Context, page Page[SessionItem], err error) (Page[SessionItem], error) {
	if err != nil {
		return page, err
	}
	var ids []string
	at := map[string]int{}
	for i, it := range page.Items {
		if it.State != StateTerminated && it.ConnectionCount > 0 {
			ids = append(ids, it.ID)
			at[it.ID] = i
		}
	}
	if len(ids) == 0 {
		return page, nil
	}
	var conns []Connection
	if err := s.q(ctx).Where("session_id IN ?", ids).Order("authorized_at, id").Limit(myConnectionsMax).Find(&conns).Error; err != nil {
		return page, fmt.Errorf("session connections: %w", err)
	}
	for _, c := range conns {
		it := &page.Items[at[c.SessionID]]
		it.Connections = append(it.Connections, c)
	}
	return page, nil
}
