package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
)

// sessionIn starts a session as alice and brings it to state through the
// use cases: active has one open connection, canceling is a canceled
// active session, terminated a canceled idle one.
func (f *sessionFixture) sessionIn(t *testing.T, st models.SessionState) string {
	t.Helper()
	ctx := context.Background()
	s := f.start(t)
	if st == models.StateActive || st == models.StateCanceling {
		if _, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: s.Token}); err != nil {
			t.Fatal(err)
		}
	}
	if st == models.StateCanceling || st == models.StateTerminated {
		if _, err := f.store.CancelSession(ctx, f.alice, s.Session.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.get(t, s.Session.ID).State; got != st {
		t.Fatalf("set up %s, got %s", st, got)
	}
	return s.Session.ID
}

// TestSessionStateGuardInDatabase is the database-level counterpart of
// TestSessionTransitions: a raw UPDATE of a real session row from every
// state to every state. The allowed moves (recording the state they left)
// and same-state updates succeed; every other move is refused by the
// database itself, even when the row it would write passes the CHECKs
// (previous_state chosen so that the (previous_state, state) pair is one
// of the allowed moves); and a terminated session's state, reason and end
// time are final.
func TestSessionStateGuardInDatabase(t *testing.T) {
	allowed := map[string]bool{"pending>active": true, "pending>canceling": true, "pending>terminated": true,
		"active>canceling": true, "active>terminated": true, "canceling>terminated": true}
	// A previous state that makes the row itself pass 00006's CHECKs.
	plausiblePrev := map[models.SessionState]any{models.StatePending: nil, models.StateActive: "pending",
		models.StateCanceling: "active", models.StateTerminated: "canceling"}
	refused := func(t *testing.T, err error, what string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: accepted", what)
		}
		if msg := err.Error(); !strings.Contains(msg, "state move") && !strings.Contains(msg, "are final") {
			t.Fatalf("%s: refused, but not by the state guard: %v", what, err)
		}
	}
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		db := f.store.DB()
		stateOf := func(id string) models.SessionState {
			var st models.SessionState
			if err := db.Raw("SELECT state FROM sessions WHERE id = ?", id).Scan(&st).Error; err != nil {
				t.Fatal(err)
			}
			return st
		}
		for _, from := range models.SessionStates {
			for _, to := range models.SessionStates {
				name := string(from) + ">" + string(to)
				id := f.sessionIn(t, from)
				if from == to {
					// Not a move: counters and bytes change in place.
					if err := db.Exec("UPDATE sessions SET state = ?, bytes_up = bytes_up + 1 WHERE id = ?", to, id).Error; err != nil {
						t.Fatalf("%s (same state): %v", name, err)
					}
					continue
				}
				var prev, reason, ended any = plausiblePrev[to], nil, nil
				if allowed[name] {
					prev = string(from)
				}
				set := "state = ?, previous_state = ?, termination_reason = ?, ended_at = ?"
				if to == models.StateTerminated {
					reason, ended = "canceled", f.clock.Now()
					set += ", open_connections = 0"
				}
				if to == models.StatePending {
					set += ", open_connections = 0, connection_count = 0"
				}
				err := db.Exec("UPDATE sessions SET "+set+" WHERE id = ?", to, prev, reason, ended, id).Error
				if allowed[name] {
					if err != nil {
						t.Fatalf("%s: allowed move refused: %v", name, err)
					}
					if got := stateOf(id); got != to {
						t.Fatalf("%s: state %s after the move", name, got)
					}
					continue
				}
				refused(t, err, name)
				if got := stateOf(id); got != from {
					t.Fatalf("%s: state %s after a refused move", name, got)
				}
			}
		}

		// An allowed pair that does not record the state it left.
		id := f.sessionIn(t, models.StatePending)
		refused(t, db.Exec("UPDATE sessions SET state = 'canceling', previous_state = 'active' WHERE id = ?", id).Error,
			"pending>canceling recorded as coming from active")

		// A terminated session's record is final…
		id = f.sessionIn(t, models.StateTerminated)
		later := f.clock.Now().Add(time.Hour)
		for _, c := range []struct {
			what string
			sql  string
			args []any
		}{
			{"new termination reason", "UPDATE sessions SET termination_reason = 'timed out' WHERE id = ?", []any{id}},
			{"new end time", "UPDATE sessions SET ended_at = ? WHERE id = ?", []any{later, id}},
			{"back to pending", "UPDATE sessions SET state = 'pending', previous_state = NULL, termination_reason = NULL, ended_at = NULL WHERE id = ?", []any{id}},
		} {
			refused(t, db.Exec(c.sql, c.args...).Error, c.what)
		}
		if d := f.get(t, id); d.State != models.StateTerminated || d.TerminationReason == nil || *d.TerminationReason != models.ReasonCanceled {
			t.Fatalf("terminated record changed: %+v", d.Session)
		}
		// …but it may still be purged (retention is a DELETE).
		if err := db.Exec("DELETE FROM sessions WHERE id = ?", id).Error; err != nil {
			t.Fatalf("delete a terminated session: %v", err)
		}
	})
}
