package models_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
	"gatehouse/proccpu"
)

// BenchmarkWebhookDeliveryWrites measures the deliverer's database work
// per delivery (issue 16): a claim of 15 queued events, each sent to three
// endpoints subscribed to everything, and the recording of the 45
// successful attempts, as the deliverer does them during a burst of
// session starts. On SQLite this work holds the single writer, which the
// starts wait for; ns/delivery is the figure.
//
//	go test ./models/ -run '^$' -bench WebhookDeliveryWrites -benchtime 300x
func BenchmarkWebhookDeliveryWrites(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			const events = 15
			f, queue := webhookBenchWorld(b, d, "http://127.0.0.1:9", events)
			ctx := context.Background()
			// The endpoints' own change events go first.
			delivered := func(n int) []models.WebhookAttempt {
				attempts := make([]models.WebhookAttempt, n)
				for i := range attempts {
					attempts[i] = models.WebhookAttempt{OK: true, Status: 204, Latency: time.Millisecond}
				}
				return attempts
			}
			if jobs, err := f.store.ClaimWebhookDeliveries(ctx, 64, time.Minute); err != nil {
				b.Fatal(err)
			} else if err := f.store.FinishWebhookDeliveries(ctx, jobs, delivered(len(jobs))); err != nil {
				b.Fatal(err)
			}
			deliveries := 0
			for b.Loop() {
				b.StopTimer()
				queue()
				b.StartTimer()
				jobs, err := f.store.ClaimWebhookDeliveries(ctx, 3*events, time.Minute)
				if err != nil || len(jobs) != 3*events {
					b.Fatalf("claimed %d deliveries, want %d: %v", len(jobs), 3*events, err)
				}
				if err := f.store.FinishWebhookDeliveries(ctx, jobs, delivered(len(jobs))); err != nil {
					b.Fatal(err)
				}
				deliveries += len(jobs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(deliveries), "ns/delivery")
		})
	}
}

// BenchmarkWebhookDeliverer measures a delivery's whole cost to the
// machine (issue 16): the deliverer drains queued events (15 at a time,
// three endpoints subscribed to everything) through real HTTP requests to
// a receiver in this process, and cpu-µs/delivery is the CPU this process
// and (on Postgres) the database server used per delivery, claims,
// requests, receiver and results included (postgres-cpu-µs/delivery: the
// server's part).
//
//	go test ./models/ -run '^$' -bench WebhookDeliverer -benchtime 300x
func BenchmarkWebhookDeliverer(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			var got atomic.Int64
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				got.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer recv.Close()
			f, queue := webhookBenchWorld(b, d, recv.URL, 15)
			ctx := context.Background()
			deliverer := newDeliverer(f.store)
			deliverer.Batch = 45
			var pgPIDs []int // read once the pool's connections are open
			cpu := func() (self, db time.Duration) {
				for _, pid := range pgPIDs {
					db += proccpu.Of(pid)
				}
				return proccpu.Self(), db
			}
			if _, err := deliverer.RunOnce(ctx); err != nil { // the endpoints' own change events
				b.Fatal(err)
			}
			if d == models.Postgres {
				pgPIDs = proccpu.PIDs("postgres")
			}
			var spent, spentDB time.Duration
			sent := 0
			for b.Loop() {
				b.StopTimer()
				queue()
				got.Store(0)
				b.StartTimer()
				self0, db0 := cpu()
				n, err := deliverer.RunOnce(ctx)
				self1, db1 := cpu()
				spent, spentDB = spent+self1-self0+db1-db0, spentDB+db1-db0
				if err != nil || n != 45 || got.Load() != 45 {
					b.Fatalf("sent %d, received %d, want 45: %v", n, got.Load(), err)
				}
				sent += n
			}
			b.ReportMetric(float64(spent.Microseconds())/float64(sent), "cpu-µs/delivery")
			if d == models.Postgres {
				b.ReportMetric(float64(spentDB.Microseconds())/float64(sent), "postgres-cpu-µs/delivery")
			}
		})
	}
}

// webhookBenchWorld is a session fixture with three endpoints (base + "/0",
// "/1", "/2") subscribed to everything, and queue, which queues n access
// events with about a session.started payload's size in one transaction.
// The endpoints' own change events are queued already.
func webhookBenchWorld(b *testing.B, d models.Dialect, base string, n int) (*sessionFixture, func()) {
	f := newSessionFixture(b, d, models.SessionOptions{})
	ctx := context.Background()
	for i := range 3 {
		if _, _, err := f.store.CreateWebhook(ctx, f.admin, models.WebhookInput{Name: fmt.Sprint("receiver ", i),
			URL: fmt.Sprintf("%s/%d", base, i), EventTypes: []string{"*"}}); err != nil {
			b.Fatal(err)
		}
	}
	return f, func() { queueAccessEvents(b, f.store, n) }
}

// queueAccessEvents queues n access events with about a session.started
// payload's size in one transaction of store.
func queueAccessEvents(b *testing.B, store *models.Store, n int) {
	ctx := context.Background()
	reason := strings.Repeat("r", 900)
	err := store.Transact(ctx, func(tx *models.Store) error {
		for range n {
			if err := tx.EmitAccessEvent(ctx, models.EventAccessRequested, models.AccessEventData{
				RequestID: models.NewID("req"), State: "pending", Reason: reason,
				Requester: models.Party{ID: "u_alice", Name: "Alice", Email: "alice@example.com"}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWebhookEnqueue measures what queuing an event costs the
// transaction of the change it reports (issue 16: on SQLite a session
// start's transaction holds the single writer): 16 events of about a
// session.started payload's size in one transaction, three endpoints
// subscribed to everything; ns/event is the figure.
//
//	go test ./models/ -run '^$' -bench WebhookEnqueue -benchtime 2000x
func BenchmarkWebhookEnqueue(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			const events = 16
			_, queue := webhookBenchWorld(b, d, "http://127.0.0.1:9", events)
			for b.Loop() {
				queue()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
		})
	}
}

// BenchmarkWebhookEnqueueHanded is BenchmarkWebhookEnqueue with a deliverer
// that has room (models.WebhookHandoff): each INSERT also claims its event
// and hands it over at the commit.
//
//	go test ./models/ -run '^$' -bench WebhookEnqueueHanded -benchtime 2000x
func BenchmarkWebhookEnqueueHanded(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			const events = 16
			f, _ := webhookBenchWorld(b, d, "http://127.0.0.1:9", events)
			h := &handoffRecorder{room: true}
			hs := models.NewStore(f.store.DB(), d, models.Options{Now: f.clock.Now, Crypter: f.crypter,
				Webhooks: models.WebhookOptions{Handoff: h}})
			for b.Loop() {
				queueAccessEvents(b, hs, events)
				if n := len(h.take()); n != events {
					b.Fatalf("handed %d events, want %d", n, events)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
		})
	}
}
