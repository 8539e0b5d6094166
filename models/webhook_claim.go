package models

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ClaimWebhookDeliveries takes up to limit deliveries for this caller for
// lease (long enough to send them all and record the results: see
// webhook.Deliverer): another caller, on any instance, does not take them
// while the lease runs. One transaction (one commit) claims from two
// sources:
//
//   - delivery rows that are due: retries, redeliveries and deliveries
//     that waited behind an earlier one. Only the oldest pending delivery
//     of each endpoint and ordering key is due. Each claim counts an
//     attempt.
//   - queued events, oldest first (claimEvents), each made into one job
//     per enabled endpoint subscribed to it: these deliveries get their row
//     only when FinishWebhookDeliveries records their outcome.
//
// FinishWebhookDeliveries records only the results of claims nobody took
// over since, so deliveries of one session go out in order and, retries
// aside, once. On Postgres concurrent callers skip each other's rows
// (SKIP LOCKED).
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, limit int, lease time.Duration) ([]WebhookJob, error) {
	now := s.now()
	due := s.skipLockedRows(`SELECT d.seq FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.enabled
		WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND (d.locked_until IS NULL OR d.locked_until <= ?)
		AND (d.ordering_key = '' OR NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id
			AND p.ordering_key = d.ordering_key AND p.state = 'pending' AND p.seq < d.seq))
		ORDER BY d.seq LIMIT ?`, "d")
	// Most wake-ups find nothing for the claim (events handed over are
	// claimed already): a read says so without a write transaction (on
	// SQLite, a turn of the single writer).
	var anything bool
	if err := s.rq(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ?
			AND (locked_until IS NULL OR locked_until <= ?))
		OR EXISTS (SELECT 1 FROM webhook_events WHERE NOT queued AND (locked_until IS NULL OR locked_until <= ?))`,
		now, now, now).Row().Scan(&anything); err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	if !anything {
		return nil, nil
	}
	var claimed []WebhookDelivery
	var fresh []WebhookJob
	err := s.Transact(ctx, func(tx *Store) error {
		err := tx.q(ctx).Raw(`UPDATE webhook_deliveries SET locked_until = ?, attempts = attempts + 1 WHERE seq IN (`+due+`)
		RETURNING seq, id, message_id, endpoint_id, event_type, ordering_key, dedupe_key, payload, event_seq, state, attempts,
			created_at, next_attempt_at`, now.Add(lease), now, now, limit).Scan(&claimed).Error
		if err != nil || len(claimed) >= limit {
			return err
		}
		fresh, err = tx.claimEvents(ctx, limit-len(claimed), lease, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	if len(claimed) == 0 && len(fresh) == 0 {
		return nil, nil
	}
	slices.SortFunc(claimed, func(a, b WebhookDelivery) int { return cmp.Compare(a.Seq, b.Seq) })
	if err := s.eventPayloads(ctx, claimed); err != nil {
		return nil, err
	}
	jobs := make([]WebhookJob, 0, len(claimed)+len(fresh))
	for _, d := range claimed {
		jobs = append(jobs, WebhookJob{WebhookDelivery: d})
	}
	jobs = append(jobs, fresh...)
	return s.webhookTargets(ctx, jobs)
}

// webhookTargets fills in each job's URL, format and signing secret, and
// drops the jobs whose endpoint is gone or whose event was purged.
func (s *Store) webhookTargets(ctx context.Context, jobs []WebhookJob) ([]WebhookJob, error) {
	if s.opts.Crypter == nil {
		return nil, nil // no secret to sign with: the leases free them
	}
	var ids []string
	for _, j := range jobs {
		if !slices.Contains(ids, j.EndpointID) {
			ids = append(ids, j.EndpointID)
		}
	}
	var eps []Webhook
	if err := s.rq(ctx).Where("id IN ?", ids).Find(&eps).Error; err != nil {
		return nil, fmt.Errorf("webhook endpoints of the deliveries: %w", err)
	}
	type target struct{ url, format, secret string }
	byID := map[string]target{}
	for _, ep := range eps {
		secret, err := s.opts.Crypter.Decrypt(ep.Secret, ep.ID)
		if err != nil {
			return nil, fmt.Errorf("webhook %s secret: %w", ep.ID, err)
		}
		byID[ep.ID] = target{ep.URL, ep.Format, string(secret)}
	}
	out := jobs[:0]
	for _, j := range jobs {
		t, ok := byID[j.EndpointID]
		if !ok || j.Payload == "" {
			continue // no payload: its event was purged with it (older than KeepFor)
		}
		j.URL, j.Format, j.Secret = t.url, t.format, t.secret
		out = append(out, j)
	}
	return out, nil
}

// claimedEvent is a webhook event as claimEvents takes it.
type claimedEvent struct {
	Seq         int64
	MessageID   string
	EventType   string
	OrderingKey string
	DedupeKey   *string
	Payload     string
	CreatedAt   time.Time
	Claims      int
}

// claimEvents claims queued events for lease, in the caller's transaction,
// oldest first, about room deliveries' worth (at least one event), and
// returns a job for each delivery to send (more than room only when one
// event has more endpoints): one per enabled endpoint that subscribes to
// the event's type (or that it was queued for) and was created by the
// event's time. An event is taken only when no earlier event with its
// ordering key is still unqueued, so one session's events are sent one
// after the other. A delivery whose endpoint still has a pending delivery
// with the same ordering key (a retry) must wait behind it: its row is
// written now, pending, and the claim of delivery rows sends it in turn.
// An event left with nothing to send is marked queued at once; the others
// are marked when their results are recorded.
func (s *Store) claimEvents(ctx context.Context, room int, lease time.Duration, now time.Time) ([]WebhookJob, error) {
	var endpoints int64
	if err := s.q(ctx).Model(&Webhook{}).Where("enabled = ?", true).Count(&endpoints).Error; err != nil {
		return nil, fmt.Errorf("webhook endpoints: %w", err)
	}
	take := room
	if n := int(endpoints); n > 0 {
		take = max(1, room/n)
		if n > room {
			// One event makes more deliveries than the lease was meant
			// for (more subscribed endpoints than room): its lease grows
			// in proportion, so they can all be sent before it runs out.
			lease *= time.Duration((n + room - 1) / room)
		}
	}
	pick := s.skipLockedRows(`SELECT e.seq FROM webhook_events e WHERE NOT e.queued
		AND (e.locked_until IS NULL OR e.locked_until <= ?)
		AND (e.ordering_key = '' OR NOT EXISTS (SELECT 1 FROM webhook_events p WHERE NOT p.queued
			AND p.ordering_key = e.ordering_key AND p.seq < e.seq))
		ORDER BY e.seq LIMIT ?`)
	var evs []claimedEvent
	if err := s.q(ctx).Raw(`UPDATE webhook_events SET locked_until = ?, claims = claims + 1 WHERE seq IN (`+pick+`)
		RETURNING seq, message_id, event_type, ordering_key, dedupe_key, payload, created_at, claims`,
		now.Add(lease), now, take).Scan(&evs).Error; err != nil {
		return nil, fmt.Errorf("claim webhook events: %w", err)
	}
	if len(evs) == 0 {
		return nil, nil
	}
	jobs, wait, idle, err := s.eventJobs(s.q(ctx), evs)
	if err != nil {
		return nil, err
	}
	if err := s.settleEvents(ctx, wait, idle, false); err != nil {
		return nil, err
	}
	return jobs, nil
}

// eventJobs pairs claimed events with their endpoints, reading through db:
// the jobs to send, the deliveries that must wait behind a pending one of
// their endpoint and ordering key (settleEvents writes them pending), and
// the events left with nothing to send (settleEvents marks them queued).
func (s *Store) eventJobs(db *gorm.DB, evs []claimedEvent) (jobs []WebhookJob, wait []WebhookDelivery, idle []int64, err error) {
	seqs := make([]int64, len(evs))
	bySeq := make(map[int64]*claimedEvent, len(evs))
	for i := range evs {
		seqs[i], bySeq[evs[i].Seq] = evs[i].Seq, &evs[i]
	}
	// One statement, read after the claim, pairs the events with their
	// endpoints (the subscriptions matched as enqueueFor matches them) and
	// says which deliveries must wait behind a pending one and which were
	// written already (by a claim taken over since, or a dedupe key's
	// earlier event).
	var pairs []struct {
		Seq          int64
		EndpointID   string
		Behind, Made bool
	}
	if err := db.Raw(`SELECT e.seq, w.id AS endpoint_id,
		(e.ordering_key <> '' AND EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = w.id
			AND p.ordering_key = e.ordering_key AND p.state = 'pending')) AS behind,
		((e.claims > 1 AND EXISTS (SELECT 1 FROM webhook_deliveries m WHERE m.id = e.message_id || '_' || w.id))
			OR (e.dedupe_key IS NOT NULL AND EXISTS (SELECT 1 FROM webhook_deliveries m WHERE m.endpoint_id = w.id
				AND m.dedupe_key = e.dedupe_key))) AS made
		FROM webhook_events e JOIN webhook_endpoints w ON w.enabled AND w.created_at <= e.created_at
			AND (e.endpoint_id = w.id OR e.endpoint_id IS NULL AND (`+s.subscribedSQL("' ' || e.event_type || ' '",
		"' ' || e.family || '.* '", "' * '")+`))
		WHERE e.seq IN ? ORDER BY e.seq, w.id`, seqs).Scan(&pairs).Error; err != nil {
		return nil, nil, nil, fmt.Errorf("webhook deliveries of the claimed events: %w", err)
	}
	sending := map[int64]bool{}
	for _, p := range pairs {
		if p.Made {
			continue
		}
		e := bySeq[p.Seq]
		d := WebhookDelivery{ID: e.MessageID + "_" + p.EndpointID, MessageID: e.MessageID, EndpointID: p.EndpointID,
			EventType: e.EventType, OrderingKey: e.OrderingKey, DedupeKey: e.DedupeKey, EventSeq: &e.Seq, State: "pending",
			CreatedAt: e.CreatedAt, NextAttemptAt: e.CreatedAt}
		if p.Behind {
			wait = append(wait, d)
			continue
		}
		d.Payload, d.Attempts = e.Payload, 1
		jobs = append(jobs, WebhookJob{WebhookDelivery: d, eventClaims: e.Claims})
		sending[e.Seq] = true
	}
	for _, seq := range seqs {
		if !sending[seq] {
			idle = append(idle, seq)
		}
	}
	return jobs, wait, idle, nil
}

// settleEvents writes the deliveries that wait behind a pending one
// (pending, sent in turn by the claim of delivery rows) and marks the
// events with nothing to send queued; handed events (claimed in the
// transaction that queued them: their first claim) only while that claim
// is still theirs.
func (s *Store) settleEvents(ctx context.Context, wait []WebhookDelivery, idle []int64, handed bool) error {
	if err := s.insertDeliveries(ctx, wait); err != nil {
		return err
	}
	if len(idle) == 0 {
		return nil
	}
	fence := ""
	if handed {
		fence = " AND claims = 1 AND NOT queued"
	}
	if err := s.q(ctx).Exec("UPDATE webhook_events SET queued = ?, locked_until = NULL WHERE seq IN ?"+fence, true, idle).Error; err != nil {
		return fmt.Errorf("webhook events queued: %w", err)
	}
	return nil
}

// insertDeliveries writes delivery rows, many per statement (seq is the
// table's own); a row whose id (or endpoint and dedupe key) exists already
// is left as it is.
func (s *Store) insertDeliveries(ctx context.Context, rows []WebhookDelivery) error {
	if len(rows) == 0 {
		return nil
	}
	if err := s.q(ctx).Omit("Seq").Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 100).Error; err != nil {
		return fmt.Errorf("write webhook deliveries: %w", err)
	}
	return nil
}
