package models

import (
	"context"
	"fmt"
	"time"
)

// Events handed straight to this instance's deliverer (issue 16's
// benchmark). An event is otherwise claimed by the deliverer's own
// transaction after the one that queued it: on SQLite a second turn of the
// single writer per batch, rewriting each event row with its lease, then a
// read of the payload the Store just wrote. When the deliverer has room,
// enqueueFor claims the event in the INSERT that queues it (its first
// claim, with HandoffLease as the lease) and, once the transaction commits,
// hands it over with its payload: the deliverer sends it without a claim
// of its own. A crash, or a deliverer that stops first, leaves the event
// claimed until the lease runs out; any instance's claim then takes it, as
// it takes an event whose claim's lease ran out.
//
// Ordering holds as for claimed events: an event is claimed so only when no
// earlier event with its ordering key is still unqueued, and the claim of
// queued events takes no later one until the handed event is queued.

// WebhookHandoff is this instance's deliverer as the Store hands it the
// events it queues (WebhookOptions.Handoff; webhook.Deliverer).
type WebhookHandoff interface {
	// Room reports whether the deliverer takes an event now: it runs and
	// is not behind.
	Room() bool
	// HandoffLease is the lease of an event claimed for it: long enough
	// to wait its turn and be sent.
	HandoffLease() time.Duration
	// Hand gives the deliverer an event claimed for it, once the
	// transaction that queued it has committed. It never blocks.
	Hand(HandedWebhookEvent)
}

// HandedWebhookEvent is an event claimed for this instance's deliverer by
// the transaction that queued it.
type HandedWebhookEvent struct {
	ev claimedEvent
	// Until is when the claim's lease runs out.
	Until time.Time
}

// handOver hands the deliverer an event its INSERT claimed for it, once
// the transaction commits (a rolled-back one drops it).
func (s *Store) handOver(h WebhookHandoff, ev claimedEvent, until time.Time) {
	s.afterCommit(func() { h.Hand(HandedWebhookEvent{ev: ev, Until: until}) })
}

// HandedWebhookJobs returns the deliveries of handed events to send (with
// their endpoints' addresses and secrets), as ClaimWebhookDeliveries does
// for the events it claims. It only reads, unless a delivery must wait
// behind a pending one of its endpoint and ordering key, or an event has
// nothing to send (its endpoints were disabled since).
func (s *Store) HandedWebhookJobs(ctx context.Context, handed []HandedWebhookEvent) ([]WebhookJob, error) {
	if len(handed) == 0 {
		return nil, nil
	}
	evs := make([]claimedEvent, len(handed))
	for i, h := range handed {
		evs[i] = h.ev
	}
	jobs, wait, idle, err := s.eventJobs(s.rq(ctx), evs)
	if err != nil {
		return nil, err
	}
	if len(wait) > 0 || len(idle) > 0 {
		if err := s.Transact(ctx, func(tx *Store) error { return tx.settleEvents(ctx, wait, idle, true) }); err != nil {
			return nil, err
		}
	}
	if len(jobs) == 0 {
		return nil, nil
	}
	return s.webhookTargets(ctx, jobs)
}

// ReleaseHandedWebhookEvents frees the claims of handed events the
// deliverer will not send (it stops, or their lease is too short for a
// batch): the next claim on any instance takes them at once.
func (s *Store) ReleaseHandedWebhookEvents(ctx context.Context, handed []HandedWebhookEvent) error {
	seqs := make([]int64, len(handed))
	for i, h := range handed {
		seqs[i] = h.ev.Seq
	}
	for _, chunk := range chunks(seqs, 500) {
		if err := s.q(ctx).Exec("UPDATE webhook_events SET locked_until = NULL WHERE seq IN ? AND claims = 1 AND NOT queued",
			chunk).Error; err != nil {
			return fmt.Errorf("release handed webhook events: %w", err)
		}
	}
	return nil
}
