package models

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// SessionOptions tune the session lifecycle.
type SessionOptions struct {
	// Notifier is told, after each commit, which sessions changed (the live
	// pages' broker). Nil: nobody is told.
	Notifier SessionNotifier
	// InstanceID names this process in Postgres notifications so that its
	// listener can skip what it published itself, and in the instances
	// table: the connections its worker admits record it.
	InstanceID string
	// InstanceGrace is how long an instance may go unseen before the
	// session loop closes its open connections (default
	// DefaultInstanceGrace).
	InstanceGrace time.Duration
	// CredentialIssuers by source name; "static" defaults to the static
	// credentials issuer.
	CredentialIssuers map[string]CredentialIssuer
	// Ended is told, after each commit, which sessions must lose their live
	// connections (the worker's Cancel). It must not block for long.
	Ended func(ends []SessionEnd)
	// EndedChannel is the Postgres channel on which those sessions are
	// announced to other instances, one "<session id> <reason>" payload
	// each (worker.NotifyChannel); empty: none.
	EndedChannel string
	// Access is told, after each commit, which access requests changed
	// (the live pages' broker). Nil: nobody is told.
	Access AccessNotifier
	// Retimed is told, after each commit, which sessions' expiration moved
	// (the worker's Retime: the deadlines of their live connections). It
	// must not block for long.
	Retimed func(retimes []SessionRetime)
	// RetimedChannel is the Postgres channel on which those moves reach
	// other instances, one "<session id> <unix nanoseconds>" payload each
	// (worker.RetimeChannel); empty: none.
	RetimedChannel string
	// FilterFirstMax is the match count up to which SQLite lists a
	// name-prefix session filter by reading every match and sorting them;
	// above it, SQLite walks the sort order's index and checks the prefix
	// on each row (listSessions). 0 means DefaultFilterFirstMax; negative
	// means always walk the index.
	FilterFirstMax int64
}

// SessionChange says that a session changed (state, connections, bytes).
type SessionChange struct {
	SessionID string
	UserID    string
}

// SessionNotifier receives committed session changes. It must not block.
type SessionNotifier interface {
	SessionsChanged(changes []SessionChange)
}

// SessionNotifyChannel is the Postgres LISTEN/NOTIFY channel of session
// changes. A payload is the publishing instance id, then one line per
// change "session_id user_id".
const SessionNotifyChannel = "gatehouse_sessions"

// notifyPayloadMax keeps payloads under Postgres's 8000-byte limit.
const notifyPayloadMax = 7000

// publishMoves publishes moved sessions (see publishChanges).
func (s *Store) publishMoves(ctx context.Context, moved []sessionMove) error {
	changes := make([]SessionChange, len(moved))
	for i, m := range moved {
		changes[i] = SessionChange{SessionID: m.ID, UserID: m.UserID}
	}
	return s.publishChanges(ctx, changes)
}

// publishChanges publishes session changes once the transaction commits
// (at once outside one): to the local notifier, and on Postgres to the
// other instances through the coalescing notify queue (session_notify.go).
// Nothing is sent when the transaction rolls back.
func (s *Store) publishChanges(_ context.Context, changes []SessionChange) error {
	if len(changes) == 0 {
		return nil
	}
	if s.dialect == Postgres && s.notes != nil {
		s.afterCommit(func() { s.notes.add(changes) })
	}
	if n := s.opts.Sessions.Notifier; n != nil {
		s.afterCommit(func() { n.SessionsChanged(changes) })
	}
	return nil
}

// EncodeSessionChanges splits changes into notification payloads.
func EncodeSessionChanges(instanceID string, changes []SessionChange) []string {
	var out []string
	var b strings.Builder
	for _, c := range changes {
		line := c.SessionID + " " + c.UserID
		if b.Len() > 0 && b.Len()+len(line)+1 > notifyPayloadMax {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() == 0 {
			b.WriteString(instanceID)
		}
		b.WriteString("\n" + line)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// DecodeSessionChanges reads a payload made by EncodeSessionChanges.
func DecodeSessionChanges(payload string) (instanceID string, changes []SessionChange) {
	lines := strings.Split(payload, "\n")
	for _, l := range lines[1:] {
		id, user, _ := strings.Cut(l, " ")
		if id != "" {
			changes = append(changes, SessionChange{SessionID: id, UserID: user})
		}
	}
	return lines[0], changes
}

// SweepResult counts what one sweep did, by rule.
type SweepResult struct {
	TimedOut, Canceled, ConnectionLimit int
	// Orphaned counts the connections closed because their instance died.
	Orphaned int
}

// SweepSessions applies the background rules once, one set-based statement
// per rule, each in its own transaction: the open connections of instances
// unseen for the grace period close (system error; see
// closeOrphanedConnections), expired live sessions terminate (timed out;
// canceling ones keep canceled), canceling sessions with no open
// connection terminate (canceled), and active sessions whose limit is used
// up with every connection closed terminate (connection limit); then
// SweepAccess expires undecided requests and ended grants. Safe when
// several instances run it at once on one Postgres (rows another instance
// is moving are skipped).
func (s *Store) SweepSessions(ctx context.Context) (SweepResult, error) {
	var r SweepResult
	var err error
	if r.Orphaned, err = s.closeOrphanedConnections(ctx); err != nil {
		return r, err
	}
	rules := []struct {
		event SessionEvent
		cond  func() (string, []any)
		n     *int
	}{
		{EventExpire, func() (string, []any) { return "expires_at <= ?", []any{s.now()} }, &r.TimedOut},
		{EventConnectionsClosed, func() (string, []any) { return "open_connections = 0", nil }, &r.Canceled},
		{EventLimitReached, func() (string, []any) {
			return "connection_limit > 0 AND connection_count >= connection_limit AND open_connections = 0", nil
		}, &r.ConnectionLimit},
	}
	for _, rule := range rules {
		cond, args := rule.cond()
		err := s.Transact(ctx, func(tx *Store) error {
			moved, err := tx.terminateSessions(ctx, rule.event, cond, args, true)
			*rule.n = len(moved)
			return err
		})
		if err != nil {
			return r, err
		}
	}
	// Then access requests and grants (access_grant.go): grants end after
	// their sessions timed out above, so those keep the reason "timed out".
	_, err = s.SweepAccess(ctx)
	return r, err
}

// NextSessionExpiry returns the earliest expiration of a live session, or
// false when none lives (the sweeper may use it to sleep precisely).
func (s *Store) NextSessionExpiry(ctx context.Context) (time.Time, bool, error) {
	var t []time.Time
	err := s.q(ctx).Raw("SELECT expires_at FROM sessions WHERE state IN ('pending', 'active') ORDER BY expires_at LIMIT 1").Scan(&t).Error
	if err != nil || len(t) == 0 {
		return time.Time{}, false, err
	}
	return t[0], true, nil
}

// CountLiveSessions counts sessions not yet terminated, across all scopes.
// It is for operational metrics only (no actor: never show it to users).
func (s *Store) CountLiveSessions(ctx context.Context) (int64, error) {
	var n int64
	err := s.q(ctx).Table("sessions").Where("state <> ?", StateTerminated).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count live sessions: %w", err)
	}
	return n, nil
}
