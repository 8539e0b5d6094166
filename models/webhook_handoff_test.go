package models_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"gatehouse/models"
)

// handoffRecorder is a deliverer as the Store sees it (models.WebhookHandoff):
// it records what it is handed.
type handoffRecorder struct {
	mu     sync.Mutex
	room   bool
	handed []models.HandedWebhookEvent
}

func (h *handoffRecorder) Room() bool                  { h.mu.Lock(); defer h.mu.Unlock(); return h.room }
func (h *handoffRecorder) HandoffLease() time.Duration { return time.Minute }
func (h *handoffRecorder) Hand(ev models.HandedWebhookEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handed = append(h.handed, ev)
}

func (h *handoffRecorder) take() []models.HandedWebhookEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	got := h.handed
	h.handed = nil
	return got
}

// eventClaim is an event's claim state, by its type and ordering key.
func eventClaim(t *testing.T, s *models.Store, typ, key string) (claims int, locked bool) {
	t.Helper()
	var row struct {
		Claims int
		Locked bool
	}
	if err := s.DB().Raw(`SELECT claims, locked_until IS NOT NULL AS locked FROM webhook_events
		WHERE event_type = ? AND ordering_key = ?`, typ, key).Scan(&row).Error; err != nil {
		t.Fatal(err)
	}
	return row.Claims, row.Locked
}

// handoffStore is f's store with h as this instance's deliverer.
func handoffStore(f *sessionFixture, h models.WebhookHandoff, wake func()) *models.Store {
	return models.NewStore(f.store.DB(), f.store.Dialect(), models.Options{Now: f.clock.Now, Crypter: f.crypter,
		Webhooks: models.WebhookOptions{Wake: wake, Handoff: h}})
}

// startOn starts a session as alice through s and returns its id.
func startOn(t *testing.T, f *sessionFixture, s *models.Store) string {
	t.Helper()
	st, err := s.StartSession(context.Background(), f.alice, models.StartSessionInput{TargetID: f.target, ClientIP: "192.0.2.1", UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return st.Session.ID
}

// TestWebhookEventsHandedToDeliverer: with this instance's deliverer as the
// Store's handoff, a session start's INSERT claims its event for the
// deliverer, which gets it only once the start has committed and sends it
// with no claim of its own; the session's later events wait for it (not
// claimed at their INSERT, and not by the claim either until it is queued)
// and arrive after it; a rolled-back event is never handed; an event queued
// while the deliverer has no room is left to the claim; and a handed event
// whose lease is too short to send it is released and sent by the claim.
func TestWebhookEventsHandedToDeliverer(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		rec := newReceiver(t)
		rec.hook(t, f, "Sessions", "session.started", "session.canceled", "session.terminated")
		h := &handoffRecorder{room: true}
		hs := handoffStore(f, h, nil)
		d := newDeliverer(hs)

		// Handed only after the commit.
		var sid string
		err := hs.Transact(ctx, func(tx *models.Store) error {
			st, err := tx.StartSession(ctx, f.alice, models.StartSessionInput{TargetID: f.target, ClientIP: "192.0.2.1", UserAgent: "test"})
			if err != nil {
				return err
			}
			sid = st.Session.ID
			if got := h.take(); len(got) != 0 {
				t.Errorf("handed before the commit: %d events", len(got))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		handed := h.take()
		if len(handed) != 1 {
			t.Fatalf("handed %d events, want the start's", len(handed))
		}
		if claims, locked := eventClaim(t, hs, models.EventSessionStarted, sid); claims != 1 || !locked {
			t.Fatalf("started: claims %d, locked %v: want claimed by its INSERT", claims, locked)
		}
		if got := handed[0].Until.Sub(f.clock.Now()); got != time.Minute {
			t.Errorf("lease %v, want the handoff's minute", got)
		}
		// The claim does not take it from the deliverer it was handed to.
		if jobs, err := hs.ClaimWebhookDeliveries(ctx, 64, time.Minute); err != nil || len(jobs) != 0 {
			t.Fatalf("the claim took %d deliveries (%v), want none", len(jobs), err)
		}

		// The session's next events: not claimed at their INSERT while the
		// start's is unqueued, nor by the claim.
		if _, err := hs.CancelSession(ctx, f.admin, sid); err != nil {
			t.Fatal(err)
		}
		if got := h.take(); len(got) != 0 {
			t.Errorf("handed %d later events of the session, want none", len(got))
		}
		if claims, locked := eventClaim(t, hs, models.EventSessionCanceled, sid); claims != 0 || locked {
			t.Errorf("canceled: claims %d, locked %v: want unclaimed", claims, locked)
		}
		if jobs, err := hs.ClaimWebhookDeliveries(ctx, 64, time.Minute); err != nil || len(jobs) != 0 {
			t.Fatalf("the claim took %d deliveries (%v) before the session's first event was sent", len(jobs), err)
		}

		// A rolled-back start hands nothing.
		boom := errors.New("boom")
		err = hs.Transact(ctx, func(tx *models.Store) error {
			if _, err := tx.StartSession(ctx, f.alice, models.StartSessionInput{TargetID: f.target, ClientIP: "192.0.2.1", UserAgent: "test"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || len(h.take()) != 0 {
			t.Fatalf("rolled back: %v, handed %d", err, len(h.take()))
		}

		// No room: queued for the claim, unclaimed.
		h.mu.Lock()
		h.room = false
		h.mu.Unlock()
		second := f.start(t).Session.ID // through f.store: no handoff at all
		third := startOn(t, f, hs)
		for _, id := range []string{second, third} {
			if claims, locked := eventClaim(t, hs, models.EventSessionStarted, id); claims != 0 || locked {
				t.Errorf("%s: claims %d, locked %v: want unclaimed", id, claims, locked)
			}
		}
		if len(h.take()) != 0 {
			t.Error("handed with no room")
		}

		// The deliverer sends the handed event, then the claim the rest,
		// each once and the session's in order.
		for _, ev := range handed {
			d.Hand(ev)
		}
		drain(t, d)
		var got []string
		for _, g := range rec.deliveries() {
			if g.SessionID == sid {
				got = append(got, g.Type)
			}
		}
		if want := []string{models.EventSessionStarted, models.EventSessionCanceled, models.EventSessionTerminated}; !slices.Equal(got, want) {
			t.Errorf("session %s: %v, want %v", sid, got, want)
		}
		if n := len(rec.deliveries()); n != 5 {
			t.Errorf("%d deliveries, want 5 (three of the canceled session, two starts)", n)
		}
		if claims, _ := eventClaim(t, hs, models.EventSessionStarted, sid); claims != 1 {
			t.Errorf("the handed event was claimed again (%d claims)", claims)
		}
		var left int64
		if err := hs.DB().Raw(`SELECT (SELECT count(*) FROM webhook_events WHERE NOT queued)
			+ (SELECT count(*) FROM webhook_deliveries WHERE state <> 'delivered')`).Scan(&left).Error; err != nil || left != 0 {
			t.Errorf("%d events or deliveries left (%v)", left, err)
		}

		// Handed with too short a lease left: released, and the claim sends it.
		h.mu.Lock()
		h.room = true
		h.mu.Unlock()
		late := startOn(t, f, hs)
		for _, ev := range h.take() {
			d.Hand(ev)
		}
		f.clock.Add(50 * time.Second) // 10 s of the minute left: less than a batch's lease
		drain(t, d)
		if claims, _ := eventClaim(t, hs, models.EventSessionStarted, late); claims != 2 {
			t.Errorf("late handed event: %d claims, want 2 (released, then claimed)", claims)
		}
		if n := len(rec.deliveries()); n != 6 {
			t.Errorf("%d deliveries, want 6", n)
		}
	})
}

// TestDelivererHandoffLifecycle: the deliverer takes handed events only
// while it runs (before, a start's event is left to the claim), sends them
// as they come, and frees the claims of those it still holds when it stops.
func TestDelivererHandoffLifecycle(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		rec := newReceiver(t)
		rec.hook(t, f, "Sessions", "session.started")
		d := newDeliverer(nil)
		hs := handoffStore(f, d, d.Wake)
		d.Store = hs
		start := func() string { t.Helper(); return startOn(t, f, hs) }
		if d.Room() {
			t.Fatal("room before Run")
		}
		before := start()
		if claims, locked := eventClaim(t, hs, models.EventSessionStarted, before); claims != 0 || locked {
			t.Fatalf("queued before Run: claims %d, locked %v", claims, locked)
		}

		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = d.Run(runCtx) }()
		for deadline := time.Now().Add(5 * time.Second); !d.Room(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("no room while running")
			}
		}
		during := start()
		for deadline := time.Now().Add(10 * time.Second); len(rec.deliveries()) < 2; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d deliveries while running, want 2", len(rec.deliveries()))
			}
		}
		if claims, _ := eventClaim(t, hs, models.EventSessionStarted, during); claims != 1 {
			t.Errorf("the event handed while running: %d claims, want its INSERT's only", claims)
		}
		stop()
		<-done
		if d.Room() {
			t.Error("room after Run returned")
		}

		// An event still held when Run stops is released: the next claim
		// takes it at once.
		h := &handoffRecorder{room: true}
		held := startOn(t, f, handoffStore(f, h, nil))
		for _, ev := range h.take() {
			d.Hand(ev)
		}
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		_ = d.Run(canceled)
		if claims, locked := eventClaim(t, hs, models.EventSessionStarted, held); claims != 1 || locked {
			t.Fatalf("held at the stop: claims %d, locked %v, want released", claims, locked)
		}
		drain(t, d)
		if n := len(rec.deliveries()); n != 3 {
			t.Errorf("%d deliveries, want 3", n)
		}
	})
}

// TestDelivererServesClaimedBesideHanded: a steady stream of handed events
// does not hold back the events the claim must take (queued while the
// deliverer had no room): a pass claims beside the handed batches.
func TestDelivererServesClaimedBesideHanded(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		rec := newReceiver(t)
		rec.hook(t, f, "Sessions", "session.started")
		h := &handoffRecorder{room: true}
		hs := handoffStore(f, h, nil)
		start := func() string { t.Helper(); return startOn(t, f, hs) }
		var handedIDs []string
		for range 3 {
			handedIDs = append(handedIDs, start())
		}
		h.mu.Lock()
		h.room = false
		h.mu.Unlock()
		claimedID := start()
		d := newDeliverer(hs)
		d.Batch = 1 // one event a batch: three rounds of handed events
		for _, ev := range h.take() {
			d.Hand(ev)
		}
		drain(t, d)
		var got []string
		for _, g := range rec.deliveries() {
			got = append(got, g.SessionID)
		}
		if len(got) != 4 {
			t.Fatalf("%d deliveries, want 4", len(got))
		}
		if i := slices.Index(got, claimedID); i < 0 || i > 1 {
			t.Errorf("the claimed event was delivered %d of %v (handed %v): want right after the first handed batch", i, got, handedIDs)
		}
	})
}
