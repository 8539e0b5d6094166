package models_test

import (
	"context"
	"testing"

	"gatehouse/models"
)

// TestFailedDialGivesItsSlotBack: on a target with a connection limit of 1,
// a connection whose dial failed (closed "network error", never connected)
// is recorded but does not use up the limit: the session stays usable and
// the next connection is admitted; a connection that did connect still
// counts, so the one after it ends the session (connection limit).
func TestFailedDialGivesItsSlotBack(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		must(t, f.store.DB().Exec("UPDATE targets SET session_connection_limit = 1 WHERE id = ?", f.target).Error)
		st := f.start(t)
		admit := func() *models.Admission {
			t.Helper()
			adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: st.Token, ClientAddr: "127.0.0.1:40000", UserIP: "192.0.2.9"})
			if err != nil {
				t.Fatalf("admit: %v", err)
			}
			return adm
		}
		failed := admit()
		must(t, f.store.ConnectionClosed(ctx, failed.Connection.ID, 0, 0, "network error"))
		d := f.get(t, st.Session.ID)
		if d.State != models.StateActive || d.ConnectionCount != 0 || d.OpenConnections != 0 || len(d.Connections) != 1 ||
			d.ConnectionsLeft() != 1 || d.Connections[0].ClosedReason == nil || *d.Connections[0].ClosedReason != "network error" {
			t.Fatalf("after a failed dial: %+v, connections %+v", d.Session, d.Connections)
		}
		// The slot is free again: a real connection is admitted and counts.
		ok := admit()
		must(t, f.store.ConnectionConnected(ctx, ok.Connection.ID, "127.0.0.1:7"))
		must(t, f.store.ConnectionClosed(ctx, ok.Connection.ID, 5, 5, "closed by end-user"))
		d = f.get(t, st.Session.ID)
		if d.State != models.StateTerminated || d.ReasonText() != "connection limit" || d.ConnectionCount != 1 || len(d.Connections) != 2 {
			t.Fatalf("after a real connection: %+v", d.Session)
		}
		// History still counts both attempts.
		var n int64
		must(t, f.store.DB().Table("warehouse_connections").Where("session_id = ?", st.Session.ID).Count(&n).Error)
		if n != 2 {
			t.Fatalf("warehouse connections = %d, want 2", n)
		}
	})
}
