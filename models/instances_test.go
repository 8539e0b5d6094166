package models_test

import (
	"context"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestDeadInstanceConnections: the open connections of an instance unseen
// for the grace period are closed by another instance's sweep with reason
// "system error" (their flushed bytes kept, in the warehouse too), and the
// usual rules then finish its canceled session and its used-up limit; a
// session under its limit stays active and admits again; the other
// instance's connections are untouched. The dead instance, heard from
// again, learns it was dropped. On both databases.
func TestDeadInstanceConnections(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			grace := 30 * time.Second
			f := newSessionFixture(t, d, models.SessionOptions{InstanceID: "inst-dead", InstanceGrace: grace})
			other := models.NewStore(f.store.DB(), f.store.Dialect(), models.Options{Now: f.clock.Now, Crypter: f.crypter,
				Sessions: models.SessionOptions{InstanceID: "inst-live", InstanceGrace: grace}})
			mustNil(t, f.store.RegisterInstance(ctx))
			mustNil(t, other.RegisterInstance(ctx))
			admit := func(store *models.Store, token string) string {
				t.Helper()
				adm, err := store.AdmitConnection(ctx, models.AdmitInput{Token: token, ClientAddr: "127.0.0.1:5000", UserIP: "192.0.2.1"})
				if err != nil {
					t.Fatalf("admit: %v", err)
				}
				return adm.Connection.ID
			}
			canceled, limited, open, elsewhere := f.start(t), f.start(t), f.start(t), f.start(t)
			admit(f.store, canceled.Token)
			if _, err := f.store.CancelSession(ctx, f.alice, canceled.Session.ID); err != nil {
				t.Fatal(err)
			}
			admit(f.store, limited.Token)
			admit(f.store, limited.Token) // the target's limit is 2
			openConn := admit(f.store, open.Token)
			mustNil(t, f.store.FlushConnectionsBytes(ctx, []models.ConnectionBytes{{ConnectionID: openConn, BytesUp: 10, BytesDown: 20}}))
			admit(other, elsewhere.Token)

			f.clock.Add(20 * time.Second) // within the grace period: nothing happens
			if _, err := other.InstanceHeartbeat(ctx); err != nil {
				t.Fatal(err)
			}
			if r, err := other.SweepSessions(ctx); err != nil || r.Orphaned != 0 {
				t.Fatalf("sweep within the grace period: %+v %v", r, err)
			}
			if got := f.get(t, canceled.Session.ID).State; got != models.StateCanceling {
				t.Fatalf("canceled session %s, want canceling while its connection may live", got)
			}

			f.clock.Add(15 * time.Second) // inst-dead unseen for 35 s, inst-live for 15 s
			r, err := other.SweepSessions(ctx)
			if err != nil || r.Orphaned != 4 || r.Canceled != 1 || r.ConnectionLimit != 1 {
				t.Fatalf("sweep after the grace period: %+v %v", r, err)
			}
			for _, c := range []struct {
				id     string
				state  models.SessionState
				reason string
			}{
				{canceled.Session.ID, models.StateTerminated, "canceled"},
				{limited.Session.ID, models.StateTerminated, "connection limit"},
				{open.Session.ID, models.StateActive, ""},
				{elsewhere.Session.ID, models.StateActive, ""},
			} {
				s := f.get(t, c.id)
				if s.State != c.state || s.ReasonText() != c.reason {
					t.Errorf("session %s: %s/%s, want %s/%s", c.id, s.State, s.ReasonText(), c.state, c.reason)
				}
				checkHistory(t, s)
				wantOpen := 0
				if c.id == elsewhere.Session.ID {
					wantOpen = 1
				}
				if s.OpenConnections != wantOpen {
					t.Errorf("session %s: %d open connections, want %d", c.id, s.OpenConnections, wantOpen)
				}
				for _, conn := range s.Connections {
					closed := conn.ClosedReason != nil
					if closed == (c.id == elsewhere.Session.ID) {
						t.Errorf("session %s connection %s closed %v (%v)", c.id, conn.ID, closed, conn.ClosedReason)
					}
				}
			}
			o := f.get(t, open.Session.ID)
			if c := o.Connections[0]; *c.ClosedReason != "system error" || c.BytesUp != 10 || c.BytesDown != 20 || !c.ClosedAt.Equal(f.clock.Now()) {
				t.Errorf("orphaned connection: %+v", c)
			}
			var wh struct {
				ClosedReason string
				BytesUp      int64
			}
			mustNil(t, f.store.DB().Raw("SELECT closed_reason, bytes_up FROM warehouse_connections WHERE connection_id = ?", openConn).Scan(&wh).Error)
			if wh.ClosedReason != "system error" || wh.BytesUp != 10 {
				t.Errorf("warehouse connection: %+v", wh)
			}
			var instances []string
			mustNil(t, f.store.DB().Raw("SELECT id FROM worker_instances ORDER BY id").Scan(&instances).Error)
			if len(instances) != 1 || instances[0] != "inst-live" {
				t.Errorf("instances after the sweep: %v", instances)
			}
			// A second sweep finds nothing more.
			if r, err := other.SweepSessions(ctx); err != nil || r.Orphaned != 0 {
				t.Errorf("second sweep: %+v %v", r, err)
			}
			// The session under its limit admits again (a fresh client).
			admit(other, open.Token)

			// The dead instance comes back: it learns it was dropped, once.
			if reg, err := f.store.InstanceHeartbeat(ctx); err != nil || reg {
				t.Errorf("heartbeat of the dropped instance: %v %v, want not registered", reg, err)
			}
			if reg, err := f.store.InstanceHeartbeat(ctx); err != nil || !reg {
				t.Errorf("heartbeat after registering again: %v %v", reg, err)
			}
			// A clean shutdown deregisters.
			mustNil(t, other.DeregisterInstance(ctx))
			mustNil(t, f.store.DB().Raw("SELECT id FROM worker_instances ORDER BY id").Scan(&instances).Error)
			if len(instances) != 1 || instances[0] != "inst-dead" {
				t.Errorf("instances after deregistering inst-live: %v", instances)
			}
		})
	}
}
