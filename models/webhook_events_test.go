package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
)

// TestWebhookEventStoredOnce: a session start queues one event row holding
// the payload, written in the start's transaction, for any number of
// subscribed endpoints; the deliverer makes it into one narrow delivery per
// endpoint subscribed when the event happened (not one created later), and
// each receiver gets the whole payload.
func TestWebhookEventStoredOnce(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		db := f.store.DB()
		events := func(typ string) (n int64) {
			t.Helper()
			if err := db.Raw("SELECT count(*) FROM webhook_events WHERE event_type = ?", typ).Scan(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		// Nobody subscribed: nothing is written.
		f.start(t)
		if n := events("session.started"); n != 0 {
			t.Fatalf("%d session.started events queued with no endpoint", n)
		}
		recAccess, recStarted, recAll := newReceiver(t), newReceiver(t), newReceiver(t)
		recAccess.hook(t, f, "Access", "access.*")
		wStarted := recStarted.hook(t, f, "Starts", "session.started")
		wAll := recAll.hook(t, f, "Everything", "*")

		st := f.start(t)
		if n := events("session.started"); n != 1 {
			t.Fatalf("%d session.started events queued, want 1 for two endpoints", n)
		}
		var ev struct {
			Seq     int64
			Payload string
			Queued  bool
		}
		if err := db.Raw("SELECT seq, payload, queued FROM webhook_events WHERE event_type = 'session.started'").Scan(&ev).Error; err != nil {
			t.Fatal(err)
		}
		if ev.Queued || !strings.Contains(ev.Payload, st.Session.ID) {
			t.Fatalf("event %+v: want unqueued, with session %s in its payload", ev, st.Session.ID)
		}
		var made int64
		db.Raw("SELECT count(*) FROM webhook_deliveries WHERE event_seq = ?", ev.Seq).Scan(&made)
		if made != 0 {
			t.Fatalf("%d deliveries before the deliverer ran", made)
		}

		// An endpoint created after the event does not receive it.
		f.clock.Add(time.Second)
		recLate := newReceiver(t)
		recLate.hook(t, f, "Late", "*")

		drain(t, newDeliverer(f.store))
		// Each endpoint's log lists the delivery, made from the event (its
		// payload left in the event), delivered; both first-attempt
		// successes are in batch rows, one per endpoint.
		for _, w := range []*models.Webhook{wStarted, wAll} {
			page, err := f.store.ListWebhookDeliveries(context.Background(), f.admin, w.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			var made []models.WebhookDelivery
			for _, it := range page.Items {
				if it.EventSeq != nil && *it.EventSeq == ev.Seq {
					made = append(made, it)
				}
			}
			if len(made) != 1 || made[0].State != "delivered" || made[0].Payload != "" || made[0].Attempts != 1 ||
				made[0].EventType != "session.started" || made[0].LastStatus != 204 {
				t.Errorf("%s's deliveries of the event: %+v, want one, delivered at the first attempt", w.Name, made)
			}
		}
		var rows []struct {
			EndpointID, Payload, State string
			Batch                      bool
		}
		if err := db.Raw("SELECT endpoint_id, payload, state, entries IS NOT NULL AS batch FROM webhook_deliveries WHERE endpoint_id IN ? ORDER BY endpoint_id",
			[]string{wStarted.ID, wAll.ID}).Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		batched := map[string]bool{}
		for _, r := range rows {
			if !r.Batch || r.State != "delivered" || r.Payload != "" {
				t.Errorf("delivery row %+v: want only delivered batch rows, without payload", r)
			}
			batched[r.EndpointID] = true
		}
		if len(batched) != 2 {
			t.Errorf("delivery rows %+v: want batch rows for both endpoints", rows)
		}
		db.Raw("SELECT queued FROM webhook_events WHERE seq = ?", ev.Seq).Scan(&ev.Queued)
		if !ev.Queued {
			t.Error("the event is not marked queued after its deliveries were made")
		}
		for name, rec := range map[string]*receiver{"Starts": recStarted, "Everything": recAll} {
			got := 0
			for _, d := range rec.deliveries() {
				if d.Type == "session.started" && d.SessionID == st.Session.ID && strings.Contains(d.Body, st.Session.ID) {
					got++
				}
			}
			if got != 1 {
				t.Errorf("%s received session.started of %s %d times, want once", name, st.Session.ID, got)
			}
		}
		for name, rec := range map[string]*receiver{"Access": recAccess, "Late": recLate} {
			for _, d := range rec.deliveries() {
				if d.Type == "session.started" {
					t.Errorf("%s received %s of %s", name, d.Type, d.SessionID)
				}
			}
		}
	})
}

// TestWebhookHistoryPurged: events and deliveries older than the retention
// (30 days by default) are deleted; newer ones stay, and a redelivery made
// later keeps its own payload (it can be redelivered again after its
// event is gone).
func TestWebhookHistoryPurged(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		rec := newReceiver(t)
		w := rec.hook(t, f, "Starts", "session.started")
		d := newDeliverer(f.store)
		old := f.start(t)
		drain(t, d)
		f.clock.Add(20 * 24 * time.Hour)
		page, err := f.store.ListWebhookDeliveries(ctx, f.admin, w.ID, 0)
		if err != nil || len(page.Items) != 1 || page.Items[0].State != "delivered" {
			t.Fatalf("delivery log %+v: %v", page, err)
		}
		first := page.Items[0]
		if err := f.store.RedeliverWebhook(ctx, f.admin, w.ID, first.ID); err != nil {
			t.Fatal(err)
		}
		drain(t, d)
		f.clock.Add(15 * 24 * time.Hour) // the first event is 35 days old, the redelivery 15
		f.loginAliceOIDC(t)              // her first login has ended by now
		recent := f.start(t)
		drain(t, d)

		n, err := f.store.PurgeWebhookHistory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("purged %d rows, want 2 (the old event and its delivery)", n)
		}
		var payloads []string
		f.store.DB().Raw("SELECT payload FROM webhook_events ORDER BY seq").Scan(&payloads)
		if len(payloads) != 1 || !strings.Contains(payloads[0], recent.Session.ID) {
			t.Errorf("events kept: %d, want only the recent one", len(payloads))
		}
		page, err = f.store.ListWebhookDeliveries(ctx, f.admin, w.ID, 0)
		if err != nil || len(page.Items) != 2 {
			t.Fatalf("delivery log after the purge: %+v %v, want the redelivery and the recent one", page, err)
		}
		for _, it := range page.Items {
			if it.ID == first.ID {
				t.Error("the 35-day-old delivery is still in the log")
			}
		}
		redelivery := page.Items[1] // newest first
		if redelivery.MessageID != first.MessageID {
			t.Fatalf("log %+v: want the redelivery of %s second", page.Items, first.MessageID)
		}
		if err := f.store.RedeliverWebhook(ctx, f.admin, w.ID, redelivery.ID); err != nil {
			t.Fatalf("redeliver after the event was purged: %v", err)
		}
		drain(t, d)
		got := 0
		for _, g := range rec.deliveries() {
			if g.ID == first.MessageID && g.OK && g.SessionID == old.Session.ID {
				got++
			}
		}
		if got != 3 {
			t.Errorf("message %s delivered %d times with its payload, want 3", first.MessageID, got)
		}
		if n, err := f.store.PurgeWebhookHistory(ctx); err != nil || n != 0 {
			t.Errorf("second purge: %d rows, %v; want nothing left to purge", n, err)
		}
	})
}
