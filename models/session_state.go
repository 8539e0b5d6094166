package models

import (
	"slices"
	"strings"
)

// SessionState is where a session is in its life (DOMAIN.md).
type SessionState string

// The four session states.
const (
	StatePending    SessionState = "pending"
	StateActive     SessionState = "active"
	StateCanceling  SessionState = "canceling"
	StateTerminated SessionState = "terminated"
)

// SessionStates lists the states in life order (filters, tests).
var SessionStates = []SessionState{StatePending, StateActive, StateCanceling, StateTerminated}

// TerminationReason says truthfully why a session terminated.
type TerminationReason string

// The five termination reasons.
const (
	ReasonTimedOut        TerminationReason = "timed out"
	ReasonCanceled        TerminationReason = "canceled"
	ReasonConnectionLimit TerminationReason = "connection limit"
	ReasonClosedByEndUser TerminationReason = "closed by end-user"
	ReasonSystemError     TerminationReason = "system error"
)

// TerminationReasons lists every reason (filters, tests).
var TerminationReasons = []TerminationReason{ReasonTimedOut, ReasonCanceled, ReasonConnectionLimit, ReasonClosedByEndUser, ReasonSystemError}

// SessionEvent is something that happens to a session.
type SessionEvent string

// The session events. Which one applies is decided from the session's row
// (for example CancelLive when it has open connections, CancelIdle when not).
const (
	// EventConnect: a connection was admitted.
	EventConnect SessionEvent = "connect"
	// EventCancelLive: canceled while connections are open; they are being closed.
	EventCancelLive SessionEvent = "cancel-live"
	// EventCancelIdle: canceled with no open connection.
	EventCancelIdle SessionEvent = "cancel-idle"
	// EventExpire: the expiration time passed.
	EventExpire SessionEvent = "expire"
	// EventConnectionsClosed: the last open connection of a canceling session closed.
	EventConnectionsClosed SessionEvent = "connections-closed"
	// EventLimitReached: the limit is used up and every connection is closed.
	EventLimitReached SessionEvent = "limit-reached"
	// EventEndUserClosed: the user ended the session from their client
	// with no open connection.
	EventEndUserClosed SessionEvent = "end-user-closed"
	// EventEndUserClosedLive: the user ended the session from their client
	// while connections are open; they are being closed, and the session
	// then terminates with reason closed by end-user (its ending reason).
	EventEndUserClosedLive SessionEvent = "end-user-closed-live"
	// EventSystemError: the system could not keep the session going.
	EventSystemError SessionEvent = "system-error"
)

// SessionEvents lists every event (tests).
var SessionEvents = []SessionEvent{EventConnect, EventCancelLive, EventCancelIdle, EventExpire,
	EventConnectionsClosed, EventLimitReached, EventEndUserClosed, EventEndUserClosedLive, EventSystemError}

// sessionTransition is one row of THE transition table.
type sessionTransition struct {
	from   SessionState
	event  SessionEvent
	to     SessionState
	reason TerminationReason // set exactly when to is terminated
}

// sessionTransitions is the one transition table of the session state
// machine. A (state, event) pair that is not listed is not allowed. The
// database enforces it again: every move is an UPDATE … WHERE state IN
// (fromStates(event)), CHECK constraints refuse impossible rows, and a
// trigger (migration 00011) refuses any change of state that is not one of
// these moves (setting previous_state to the state left) and any change of
// a terminated session's state, reason or end time.
//
// A canceling session that expires ends with reason canceled: the cancel
// came first and is the truthful reason. The reason canceled of a move out
// of canceling is the default: a session that went canceling remembers the
// reason it is ending for (its ending_reason: canceled, or closed by
// end-user when the user ended it from their client) and terminates with
// that one (see eventReasonCase).
var sessionTransitions = []sessionTransition{
	{StatePending, EventConnect, StateActive, ""},
	{StatePending, EventCancelLive, StateCanceling, ""},
	{StateActive, EventCancelLive, StateCanceling, ""},
	{StatePending, EventCancelIdle, StateTerminated, ReasonCanceled},
	{StateActive, EventCancelIdle, StateTerminated, ReasonCanceled},
	{StateCanceling, EventCancelIdle, StateTerminated, ReasonCanceled},
	{StatePending, EventExpire, StateTerminated, ReasonTimedOut},
	{StateActive, EventExpire, StateTerminated, ReasonTimedOut},
	{StateCanceling, EventExpire, StateTerminated, ReasonCanceled},
	{StateCanceling, EventConnectionsClosed, StateTerminated, ReasonCanceled},
	{StateActive, EventLimitReached, StateTerminated, ReasonConnectionLimit},
	{StatePending, EventEndUserClosed, StateTerminated, ReasonClosedByEndUser},
	{StateActive, EventEndUserClosed, StateTerminated, ReasonClosedByEndUser},
	{StatePending, EventEndUserClosedLive, StateCanceling, ""},
	{StateActive, EventEndUserClosedLive, StateCanceling, ""},
	{StatePending, EventSystemError, StateTerminated, ReasonSystemError},
	{StateActive, EventSystemError, StateTerminated, ReasonSystemError},
	{StateCanceling, EventSystemError, StateTerminated, ReasonSystemError},
}

// NextSessionState returns where event takes a session in state from, the
// termination reason when it terminates, and ok=false when the move is not
// allowed.
func NextSessionState(from SessionState, event SessionEvent) (to SessionState, reason TerminationReason, ok bool) {
	for _, t := range sessionTransitions {
		if t.from == from && t.event == event {
			return t.to, t.reason, true
		}
	}
	return "", "", false
}

// sessionMoveAllowed reports whether DOMAIN.md allows moving from → to.
func sessionMoveAllowed(from, to SessionState) bool {
	for _, t := range sessionTransitions {
		if t.from == from && t.to == to {
			return true
		}
	}
	return false
}

// fromStates returns the states event applies to, in life order.
func fromStates(event SessionEvent) []SessionState {
	var out []SessionState
	for _, st := range SessionStates {
		if _, _, ok := NextSessionState(st, event); ok {
			out = append(out, st)
		}
	}
	return out
}

// stateInSQL is "col IN ('a','b')" for the from-states of event (the states
// are constants, so inlining them is safe).
func stateInSQL(col string, event SessionEvent) string {
	from := fromStates(event)
	q := make([]string, len(from))
	for i, st := range from {
		q[i] = "'" + string(st) + "'"
	}
	return col + " IN (" + strings.Join(q, ", ") + ")"
}

// eventReasonCase is the SQL CASE giving the termination reason of event by
// the row's current state (EventExpire differs for canceling sessions). A
// canceling session whose move gives canceled keeps the reason it went
// canceling for (the sessions.ending_reason column), when it has one.
func eventReasonCase(col string, event SessionEvent) string {
	var b strings.Builder
	b.WriteString("CASE " + col)
	for _, st := range fromStates(event) {
		_, reason, _ := NextSessionState(st, event)
		switch {
		case reason == "":
			b.WriteString(" WHEN '" + string(st) + "' THEN NULL")
		case st == StateCanceling && reason == ReasonCanceled:
			b.WriteString(" WHEN '" + string(st) + "' THEN COALESCE(ending_reason, '" + string(reason) + "')")
		default:
			b.WriteString(" WHEN '" + string(st) + "' THEN '" + string(reason) + "'")
		}
	}
	b.WriteString(" END")
	return b.String()
}

// Live reports whether a session in this state may still be used.
func (st SessionState) Live() bool { return st == StatePending || st == StateActive }

// Final reports whether the state is terminated.
func (st SessionState) Final() bool { return st == StateTerminated }

// ValidSessionState reports whether s names a state.
func ValidSessionState(s string) bool { return slices.Contains(SessionStates, SessionState(s)) }

// ValidTerminationReason reports whether s names a termination reason.
func ValidTerminationReason(s string) bool {
	return slices.Contains(TerminationReasons, TerminationReason(s))
}
