package models_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestWebhookTwoInstancesDeliverOnce: two instances (each its own Store
// and connection pool) deliver the same Postgres queue at once; every
// event reaches the receiver exactly once.
func TestWebhookTwoInstancesDeliverOnce(t *testing.T) {
	f := newSessionFixture(t, models.Postgres, models.SessionOptions{})
	ctx := context.Background()
	other := secondInstance(t, f)

	rec := newReceiver(t)
	rec.hook(t, f, "Sessions", "session.started", "session.canceled", "session.terminated")
	const sessions = 40
	for range sessions {
		st := f.start(t)
		if _, err := f.store.CancelSession(ctx, f.admin, st.Session.ID); err != nil {
			t.Fatal(err)
		}
	}
	var queued int64
	f.store.DB().Raw("SELECT count(*) FROM webhook_events").Scan(&queued)
	if queued != 3*sessions {
		t.Fatalf("%d events queued, want %d", queued, 3*sessions)
	}
	var wg sync.WaitGroup
	for i, s := range []*models.Store{f.store, other} {
		d := newDeliverer(s)
		d.Batch, d.Parallel, d.UserAgent = 4, 4, fmt.Sprint("instance-", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := d.RunOnce(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got := rec.deliveries()
	ids, agents := map[string]int{}, map[string]int{}
	for _, g := range got {
		ids[g.ID]++
		agents[g.Agent]++
	}
	if len(agents) != 2 {
		t.Errorf("deliveries by instance: %v (want both to deliver)", agents)
	}
	if int64(len(ids)) != queued {
		t.Errorf("%d distinct events received, want %d", len(ids), queued)
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("%s received %d times", id, n)
		}
	}
	bySession := map[string][]string{}
	for _, g := range got {
		bySession[g.SessionID] = append(bySession[g.SessionID], g.Type)
	}
	for sid, types := range bySession {
		if len(types) != 3 || types[0] != models.EventSessionStarted || types[2] != models.EventSessionTerminated {
			t.Errorf("session %s: %v", sid, types)
		}
	}
}

// secondInstance is another instance's Store (its own connection pool) on
// the Postgres database of f, with the same clock and root key.
func secondInstance(t *testing.T, f *sessionFixture) *models.Store {
	t.Helper()
	ctx := context.Background()
	var name string
	if err := f.store.DB().Raw("SELECT current_database()").Scan(&name).Error; err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dbtest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db2, dialect, err := models.OpenDB(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db2.DB()
	t.Cleanup(func() { sqlDB.Close() })
	return models.NewStore(db2, dialect, models.Options{Now: f.clock.Now, Crypter: f.crypter})
}
