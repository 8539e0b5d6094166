package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestCloseSessionByEndUser: the end user closing an idle session
// terminates it (closed by end-user); with an open connection it goes
// canceling, the worker is told to cut the connection as closed by end-user,
// and it terminates closed by end-user (not canceled) when the connection
// is closed, by ConnectionClosed or by the sweep; idempotent; ended and
// unknown tokens are refused; the warehouse records the reason.
func TestCloseSessionByEndUser(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) { testCloseSessionByEndUser(t, d) })
	}
}

func testCloseSessionByEndUser(t *testing.T, d models.Dialect) {
	var mu sync.Mutex
	var ends []models.SessionEnd
	f := newSessionFixture(t, d, models.SessionOptions{Ended: func(e []models.SessionEnd) {
		mu.Lock()
		defer mu.Unlock()
		ends = append(ends, e...)
	}})
	takeEnds := func() []models.SessionEnd {
		mu.Lock()
		defer mu.Unlock()
		out := ends
		ends = nil
		return out
	}
	ctx := context.Background()
	wantWarehouse := func(id string) {
		t.Helper()
		rec, err := f.store.GetHistorySession(ctx, f.admin, id)
		mustNil(t, err)
		if rec.Session.State != "terminated" || rec.Session.TerminationReason != string(models.ReasonClosedByEndUser) {
			t.Fatalf("warehouse: %s / %q", rec.Session.State, rec.Session.TerminationReason)
		}
		last := rec.States[len(rec.States)-1]
		if last.State != "terminated" || last.Reason != string(models.ReasonClosedByEndUser) {
			t.Fatalf("warehouse timeline: %+v", rec.States)
		}
		for _, c := range rec.Connections {
			if c.ClosedReason != string(models.ReasonClosedByEndUser) {
				t.Fatalf("warehouse connection %+v", c)
			}
		}
	}

	// Idle: straight to terminated, closed by end-user; idempotent.
	idle := f.start(t)
	f.clock.Add(time.Minute)
	got, err := f.store.CloseSessionByEndUser(ctx, idle.Token)
	if err != nil || got.ID != idle.Session.ID || got.State != models.StateTerminated ||
		got.ReasonText() != string(models.ReasonClosedByEndUser) || got.EndedAt == nil || !got.EndedAt.Equal(f.clock.Now()) {
		t.Fatalf("close idle: %v %+v", err, got)
	}
	again, err := f.store.CloseSessionByEndUser(ctx, idle.Token)
	if err != nil || again.State != models.StateTerminated || again.ReasonText() != string(models.ReasonClosedByEndUser) {
		t.Fatalf("second close: %v %+v", err, again)
	}
	det := f.get(t, idle.Session.ID)
	checkHistory(t, det)
	if len(det.History) != 2 || det.Brokered[0].RevokedAt == nil {
		t.Fatalf("after close: %+v", det)
	}
	if e := takeEnds(); len(e) != 0 {
		t.Fatalf("an idle session has nothing to cut: %+v", e)
	}
	wantWarehouse(idle.Session.ID)

	// Live: canceling, the worker cuts with closed by end-user, then
	// terminated closed by end-user when the connection closes.
	live := f.start(t)
	adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: live.Token, ClientAddr: "127.0.0.1:5000", UserIP: "192.0.2.1"})
	mustNil(t, err)
	got, err = f.store.CloseSessionByEndUser(ctx, live.Token)
	if err != nil || got.State != models.StateCanceling || got.TerminationReason != nil {
		t.Fatalf("close live: %v %+v", err, got)
	}
	if e := takeEnds(); len(e) != 1 || e[0] != (models.SessionEnd{SessionID: live.Session.ID, Reason: "closed by end-user"}) {
		t.Fatalf("ended hook: %+v", e)
	}
	if again, err := f.store.CloseSessionByEndUser(ctx, live.Token); err != nil || again.State != models.StateCanceling {
		t.Fatalf("second close while canceling: %v %+v", err, again)
	}
	if _, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: live.Token}); !errors.Is(err, models.ErrSessionEnded) {
		t.Fatalf("admit on a closed session: %v", err)
	}
	// A cancel now changes nothing: the user's close came first.
	if c, err := f.store.CancelSession(ctx, f.admin, live.Session.ID); err != nil || c.State != models.StateCanceling {
		t.Fatalf("cancel after close: %v %+v", err, c)
	}
	gone, err := f.store.EndedSessions(ctx, []string{live.Session.ID})
	if err != nil || gone[live.Session.ID] != "closed by end-user" {
		t.Fatalf("reconciliation: %v %v", err, gone)
	}
	mustNil(t, f.store.ConnectionClosed(ctx, adm.Connection.ID, 10, 20, "closed by end-user"))
	det = f.get(t, live.Session.ID)
	checkHistory(t, det)
	if det.State != models.StateTerminated || det.ReasonText() != string(models.ReasonClosedByEndUser) || len(det.History) != 4 ||
		det.Connections[0].ClosedReason == nil || *det.Connections[0].ClosedReason != "closed by end-user" || det.Brokered[0].RevokedAt == nil {
		t.Fatalf("after the connection closed: %+v %+v", det.Session, det.Connections)
	}
	if again, err := f.store.CloseSessionByEndUser(ctx, live.Token); err != nil || again.ReasonText() != string(models.ReasonClosedByEndUser) {
		t.Fatalf("close after termination: %v %+v", err, again)
	}
	wantWarehouse(live.Session.ID)

	// The sweep (connection closed elsewhere, or expiry) keeps the reason too.
	for _, expire := range []bool{false, true} {
		st := f.start(t)
		adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: st.Token, ClientAddr: "127.0.0.1:5001"})
		mustNil(t, err)
		_, err = f.store.CloseSessionByEndUser(ctx, st.Token)
		mustNil(t, err)
		if expire {
			f.clock.Add(2 * time.Hour)
		} else {
			mustNil(t, f.store.DB().Exec("UPDATE sessions SET open_connections = 0 WHERE id = ?", st.Session.ID).Error)
			mustNil(t, f.store.DB().Exec("UPDATE session_connections SET closed_at = ?, closed_reason = 'closed by end-user' WHERE id = ?",
				f.clock.Now(), adm.Connection.ID).Error)
		}
		_, err = f.store.SweepSessions(ctx)
		mustNil(t, err)
		det := f.get(t, st.Session.ID)
		checkHistory(t, det)
		if det.State != models.StateTerminated || det.ReasonText() != string(models.ReasonClosedByEndUser) {
			t.Fatalf("expire=%v: swept %+v", expire, det.Session)
		}
	}

	// Refusals: unknown token, a session canceled or expired.
	if _, err := f.store.CloseSessionByEndUser(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	canceled := f.start(t)
	_, err = f.store.CancelSession(ctx, f.alice, canceled.Session.ID)
	mustNil(t, err)
	if _, err := f.store.CloseSessionByEndUser(ctx, canceled.Token); !errors.Is(err, models.ErrSessionEnded) {
		t.Fatalf("canceled session: %v", err)
	}
	if d := f.get(t, canceled.Session.ID); d.ReasonText() != "canceled" {
		t.Fatalf("a refused close changed the reason: %+v", d.Session)
	}
	expired := f.start(t)
	f.clock.Add(2 * time.Hour)
	if _, err := f.store.CloseSessionByEndUser(ctx, expired.Token); !errors.Is(err, models.ErrSessionExpired) {
		t.Fatalf("expired session: %v", err)
	}
}
