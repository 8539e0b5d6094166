package models_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"gatehouse/models"
)

// TestWebhookTerminationOrder: a session that ends with a connection open
// reports its last connection_closed before terminated, on every path
// that ends it: canceled then closed by the worker (the close path, and on
// Postgres its one-statement form), expired with the connection open, and
// canceled then expired with the connection still open (session moves).
func TestWebhookTerminationOrder(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		rec := newReceiver(t)
		rec.hook(t, f, "Sessions", "session.canceled", "session.connection_closed", "session.terminated")
		d := newDeliverer(f.store)
		// open starts a session with one connection open.
		open := func() (sessionID, connectionID string) {
			t.Helper()
			st := f.start(t)
			adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: st.Token, ClientAddr: "192.0.2.1:5000", UserIP: "192.0.2.1"})
			if err != nil {
				t.Fatal(err)
			}
			if err := f.store.ConnectionConnected(ctx, adm.Connection.ID, "10.0.0.1:5432"); err != nil {
				t.Fatal(err)
			}
			return st.Session.ID, adm.Connection.ID
		}
		cancel := func(sid string) {
			t.Helper()
			if _, err := f.store.CancelSession(ctx, f.admin, sid); err != nil {
				t.Fatal(err)
			}
		}
		canceled, closed, terminated := models.EventSessionCanceled, models.EventSessionConnectionClosed, models.EventSessionTerminated
		want := map[string][]string{}

		// Canceled, then the worker reports the connection closed.
		sid, cid := open()
		cancel(sid)
		if err := f.store.ConnectionClosed(ctx, cid, 10, 20, "canceled"); err != nil {
			t.Fatal(err)
		}
		want[sid] = []string{canceled, closed, terminated}
		// The same through the batch form the workers use.
		sid, cid = open()
		cancel(sid)
		if _, err := f.store.ConnectionsClosed(ctx, []models.ConnectionEnd{{ConnectionID: cid, BytesUp: 1, Reason: "canceled"}}); err != nil {
			t.Fatal(err)
		}
		want[sid] = []string{canceled, closed, terminated}
		// Expired with the connection open: the sweep closes it.
		expiring, _ := open()
		want[expiring] = []string{closed, terminated}
		// Canceled, the connection never reported closed, then expired.
		stuck, _ := open()
		cancel(stuck)
		want[stuck] = []string{canceled, closed, terminated}
		f.clock.Add(2 * time.Hour) // past the target's one-hour sessions
		if _, err := f.store.SweepSessions(ctx); err != nil {
			t.Fatal(err)
		}

		drain(t, d)
		got := map[string][]string{}
		for _, g := range rec.deliveries() {
			got[g.SessionID] = append(got[g.SessionID], g.Type)
		}
		for sid, w := range want {
			if !slices.Equal(got[sid], w) {
				t.Errorf("session %s: events %v, want %v", sid, got[sid], w)
			}
		}
	})
}

// TestWebhookOneEndpointDownTheOtherServed: while one endpoint's receiver
// is down, a session's events still reach the other endpoint as they
// happen; at the down one the first failure stays pending and the
// session's later events wait behind it (written as pending rows, not
// sent), then all go out once, in order, when it is back.
func TestWebhookOneEndpointDownTheOtherServed(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		up, down := newReceiver(t), newReceiver(t)
		up.hook(t, f, "Up", "session.*")
		downHook := down.hook(t, f, "Down", "session.*")
		down.down.Store(true)
		d := newDeliverer(f.store)
		st := f.start(t)
		drain(t, d)
		if _, err := f.store.CancelSession(ctx, f.admin, st.Session.ID); err != nil {
			t.Fatal(err)
		}
		drain(t, d)
		types := func(r *receiver) (ok, refused []string) {
			for _, g := range r.deliveries() {
				if g.OK {
					ok = append(ok, g.Type)
				} else {
					refused = append(refused, g.Type)
				}
			}
			return ok, refused
		}
		story := []string{models.EventSessionStarted, models.EventSessionCanceled, models.EventSessionTerminated}
		if ok, _ := types(up); !slices.Equal(ok, story) {
			t.Fatalf("the healthy endpoint got %v, want %v at once", ok, story)
		}
		if _, refused := types(down); !slices.Equal(refused, story[:1]) {
			t.Fatalf("the down endpoint was tried with %v, want only the first event (the others wait)", refused)
		}
		var waiting []struct {
			EventType string
			Attempts  int
		}
		f.store.DB().Raw("SELECT event_type, attempts FROM webhook_deliveries WHERE endpoint_id = ? AND state = 'pending' ORDER BY seq",
			downHook.ID).Scan(&waiting)
		if len(waiting) != 3 || waiting[0].Attempts != 1 || waiting[1].Attempts != 0 || waiting[2].Attempts != 0 {
			t.Fatalf("pending at the down endpoint: %+v, want the three events, only the first attempted", waiting)
		}
		down.down.Store(false)
		for range 10 {
			f.clock.Add(time.Minute)
			drain(t, d)
		}
		if ok, _ := types(down); !slices.Equal(ok, story) {
			t.Errorf("the endpoint back up got %v, want %v", ok, story)
		}
		if ok, _ := types(up); len(ok) != len(story) {
			t.Errorf("the healthy endpoint got %v after, want nothing more", ok)
		}
	})
}

// TestWebhookExpiringSoonSentOnceWhenQueuedTwice: two instances' sweeps can
// both queue session.expiring_soon for one session and endpoint (each
// checks before the other commits). The second event is not sent: the
// claim sees the first one's delivery under the same dedupe key and marks
// the event done.
func TestWebhookExpiringSoonSentOnceWhenQueuedTwice(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		rec := newReceiver(t)
		rec.hook(t, f, "Expiring", models.EventSessionExpiringSoon)
		d := newDeliverer(f.store)
		st := f.start(t)
		f.clock.Add(50 * time.Minute) // the target's sessions last an hour; the lead is 15 min
		if n, err := f.store.QueueExpiringSessions(ctx); err != nil || n != 1 {
			t.Fatalf("queued %d (%v), want 1", n, err)
		}
		// The other instance's copy of the same event, queued before the
		// first was sent.
		db := f.store.DB()
		if err := db.Exec(`INSERT INTO webhook_events (message_id, event_type, family, ordering_key, dedupe_key, endpoint_id, payload, created_at)
			SELECT 'msg_copy', event_type, family, ordering_key, dedupe_key, endpoint_id, payload, created_at FROM webhook_events`).Error; err != nil {
			t.Fatal(err)
		}
		drain(t, d)
		drain(t, d)
		var got []string
		for _, g := range rec.deliveries() {
			if g.SessionID == st.Session.ID {
				got = append(got, g.ID)
			}
		}
		if len(got) != 1 {
			t.Errorf("expiring_soon sent %d times (%v), want once", len(got), got)
		}
		var unfinished int64
		db.Raw("SELECT count(*) FROM webhook_events WHERE NOT queued").Scan(&unfinished)
		if unfinished != 0 {
			t.Errorf("%d events left unfinished", unfinished)
		}
	})
}
