package models_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/models"
)

// TestWebhookSlowReceiverTwoInstances: the receiver takes 4 s of the
// clock per request of instance A (the timeout is 5 s), so a batch of four sent one at a
// time takes 16 s, longer than one request's timeout plus margin. While
// instance A sends its fourth, instance B claims: it must not take A's
// deliveries (the lease covers A's whole batch), and every event is
// delivered once.
func TestWebhookSlowReceiverTwoInstances(t *testing.T) {
	f := newSessionFixture(t, models.Postgres, models.SessionOptions{})
	ctx := context.Background()
	other := secondInstance(t, f)
	a, b := newDeliverer(f.store), newDeliverer(other)
	a.Batch, a.Parallel, a.UserAgent = 4, 1, "instance-A"
	b.Batch, b.Parallel, b.UserAgent = 4, 1, "instance-B"

	rec := &receiver{t: t, docs: documentedPayloads(t)}
	var fromA atomic.Int32
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The receiver is slow: each of A's requests takes 4 s. (B's
		// requests, made while one of A's is in flight, would take place
		// in parallel with it: they do not move the shared clock.)
		if r.UserAgent() == "instance-A" {
			f.clock.Add(4 * time.Second)
			if fromA.Add(1) == 4 {
				// A's fourth request is in flight, 16 s after A's claim: B polls.
				if _, err := b.RunOnce(ctx); err != nil {
					t.Error(err)
				}
			}
		}
		rec.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.srv.Close)
	rec.hook(t, f, "Starts", models.EventSessionStarted)
	const sessions = 8
	for range sessions {
		f.start(t)
	}
	for range 3 {
		drain(t, a)
		drain(t, b)
	}
	ids, agents := map[string]int{}, map[string]int{}
	for _, g := range rec.deliveries() {
		ids[g.ID]++
		agents[g.Agent]++
	}
	if len(ids) != sessions {
		t.Errorf("%d distinct events received, want %d", len(ids), sessions)
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("%s received %d times", id, n)
		}
	}
	if agents["instance-B"] == 0 {
		t.Errorf("deliveries by instance: %v (B never claimed while A was sending)", agents)
	}
	var undelivered int64
	f.store.DB().Raw("SELECT count(*) FROM webhook_deliveries WHERE state <> 'delivered'").Scan(&undelivered)
	if undelivered != 0 {
		t.Errorf("%d deliveries not delivered", undelivered)
	}
}

// TestWebhookLateResultDropped: a result recorded by a caller whose lease
// ran out, after another caller claimed the delivery again, changes
// nothing: it neither frees the other caller's claim nor overwrites the
// delivered state and its answer.
func TestWebhookLateResultDropped(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		rec := newReceiver(t)
		w := rec.hook(t, f, "Starts", models.EventSessionStarted)
		f.start(t)
		first, err := f.store.ClaimWebhookDeliveries(ctx, 10, 10*time.Second)
		if err != nil || len(first) != 1 {
			t.Fatalf("first claim: %d jobs, %v", len(first), err)
		}
		f.clock.Add(11 * time.Second) // the first caller's lease runs out
		second, err := f.store.ClaimWebhookDeliveries(ctx, 10, 10*time.Second)
		if err != nil || len(second) != 1 || second[0].ID != first[0].ID {
			t.Fatalf("second claim: %v, %v", second, err)
		}
		timeout := models.WebhookAttempt{Error: "context deadline exceeded", Latency: 10 * time.Second}
		if err := f.store.FinishWebhookDelivery(ctx, &first[0], timeout); err != nil {
			t.Fatal(err)
		}
		type row struct {
			State, LastError string
			LastStatus       int
			Locked           bool
		}
		// The delivery as its endpoint's log shows it (none: the zero row),
		// and whether any delivery row is claimed.
		read := func() row {
			page, err := f.store.ListWebhookDeliveries(ctx, f.admin, w.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			var r row
			for _, d := range page.Items {
				if d.MessageID == first[0].MessageID {
					r = row{State: d.State, LastError: d.LastError, LastStatus: d.LastStatus}
				}
			}
			f.store.DB().Raw("SELECT count(*) > 0 FROM webhook_deliveries WHERE locked_until IS NOT NULL").Scan(&r.Locked)
			return r
		}
		// A delivery sent straight from its event has no row until its
		// result is recorded: the event holds the claim.
		var ev struct{ Queued, Locked bool }
		f.store.DB().Raw("SELECT queued, locked_until IS NOT NULL AS locked FROM webhook_events").Scan(&ev)
		if got := read(); got != (row{}) || ev.Queued || !ev.Locked {
			t.Errorf("after the late failure: delivery %+v, event %+v, want no row and the second claim intact", got, ev)
		}
		if third, err := f.store.ClaimWebhookDeliveries(ctx, 10, 10*time.Second); err != nil || len(third) != 0 {
			t.Errorf("a third caller claimed %d while the second holds the lease (%v)", len(third), err)
		}
		if err := f.store.FinishWebhookDelivery(ctx, &second[0], models.WebhookAttempt{OK: true, Status: 204}); err != nil {
			t.Fatal(err)
		}
		if err := f.store.FinishWebhookDelivery(ctx, &first[0], timeout); err != nil {
			t.Fatal(err)
		}
		if got := read(); got != (row{State: "delivered", LastStatus: 204}) {
			t.Errorf("after a late failure on a delivered row: %+v", got)
		}
		got, err := f.store.GetWebhook(ctx, f.admin, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.FailingSince != nil {
			t.Errorf("the endpoint counts as failing (%v) from a late result", got.FailingSince)
		}
	})
}
