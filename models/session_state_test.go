package models

import (
	"strings"
	"testing"
)

// TestSessionTransitions checks every (state, event) pair against the
// expected outcome, and that every move is one DOMAIN.md allows.
func TestSessionTransitions(t *testing.T) {
	type want struct {
		to     SessionState
		reason TerminationReason
	}
	P, A, C, T := StatePending, StateActive, StateCanceling, StateTerminated
	expected := map[SessionState]map[SessionEvent]want{
		P: {
			EventConnect: {A, ""}, EventCancelLive: {C, ""}, EventCancelIdle: {T, ReasonCanceled},
			EventExpire: {T, ReasonTimedOut}, EventEndUserClosed: {T, ReasonClosedByEndUser}, EventEndUserClosedLive: {C, ""}, EventSystemError: {T, ReasonSystemError},
		},
		A: {
			EventCancelLive: {C, ""}, EventCancelIdle: {T, ReasonCanceled}, EventExpire: {T, ReasonTimedOut},
			EventLimitReached: {T, ReasonConnectionLimit}, EventEndUserClosed: {T, ReasonClosedByEndUser}, EventEndUserClosedLive: {C, ""},
			EventSystemError: {T, ReasonSystemError},
		},
		C: {
			EventCancelIdle: {T, ReasonCanceled}, EventExpire: {T, ReasonCanceled}, EventConnectionsClosed: {T, ReasonCanceled},
			EventSystemError: {T, ReasonSystemError},
		},
		T: {},
	}
	domain := map[string]bool{"pending>active": true, "pending>canceling": true, "pending>terminated": true,
		"active>canceling": true, "active>terminated": true, "canceling>terminated": true}
	for _, st := range SessionStates {
		for _, ev := range SessionEvents {
			t.Run(string(st)+"/"+string(ev), func(t *testing.T) {
				to, reason, ok := NextSessionState(st, ev)
				w, allowed := expected[st][ev]
				if ok != allowed {
					t.Fatalf("allowed = %v, want %v", ok, allowed)
				}
				if !ok {
					if to != "" || reason != "" {
						t.Fatalf("refused move returned %q %q", to, reason)
					}
					if strings.Contains(stateInSQL("state", ev), "'"+string(st)+"'") {
						t.Fatalf("SQL from-states of %s include %s", ev, st)
					}
					return
				}
				if to != w.to || reason != w.reason {
					t.Fatalf("got %s (%q), want %s (%q)", to, reason, w.to, w.reason)
				}
				if !domain[string(st)+">"+string(to)] {
					t.Fatalf("%s → %s is not a move DOMAIN.md allows", st, to)
				}
				if (to == StateTerminated) != (reason != "") {
					t.Fatalf("a reason must be set exactly on terminated")
				}
				if !strings.Contains(stateInSQL("state", ev), "'"+string(st)+"'") {
					t.Fatalf("SQL from-states of %s miss %s", ev, st)
				}
				if !sessionMoveAllowed(st, to) {
					t.Fatalf("sessionMoveAllowed(%s, %s) = false", st, to)
				}
			})
		}
	}
	for _, r := range TerminationReasons {
		if !ValidTerminationReason(string(r)) {
			t.Errorf("reason %q not valid", r)
		}
	}
	if ValidSessionState("done") || ValidTerminationReason("unknown") {
		t.Error("unknown names accepted")
	}
}
