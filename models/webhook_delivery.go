package models

import (
	"context"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// WebhookDelivery is one event queued for one endpoint, with its latest
// attempt. MessageID is the webhook-id header, the same for every retry and
// redelivery of the event.
type WebhookDelivery struct {
	Seq           int64
	ID            string
	MessageID     string
	EndpointID    string
	EventType     string
	OrderingKey   string
	Payload       string // set on a claimed delivery (WebhookJob); "" in the log
	EventSeq      *int64 // the webhook_events row holding the payload (nil: in Payload)
	State         string // pending, delivered, failed
	Attempts      int
	CreatedAt     time.Time
	NextAttemptAt time.Time
	LastAttemptAt *time.Time
	LastStatus    int
	LastLatencyMs int
	LastResponse  string
	LastError     string
	DeliveredAt   *time.Time
}

// TableName is the delivery queue's table.
func (WebhookDelivery) TableName() string { return "webhook_deliveries" }

// WebhookJob is a claimed delivery with what sending it needs.
type WebhookJob struct {
	WebhookDelivery
	URL    string
	Format string
	Secret string // the endpoint's signing secret (whsec_…)
}

// WebhookAttempt is the outcome of sending a delivery once.
type WebhookAttempt struct {
	OK       bool
	Status   int
	Latency  time.Duration
	Response string // an excerpt of the response body
	Error    string
}

// webhookFanOutLock is the Postgres advisory lock fanOut takes: one
// instance at a time makes events into deliveries.
const webhookFanOutLock = 7_110_420_002

// fanOut makes up to limit queued events, oldest first, into one delivery
// per endpoint that is enabled, subscribed to the event's type (or is the
// one it was queued for) and was created by the time of the event, in the
// caller's transaction (the claim's), and returns how many events it took.
// The payload stays in the event: a delivery points at it. Safe on every
// instance at once: they take turns (so the deliveries of one ordering key
// are numbered in their events' order), and a delivery's id is its event's
// message id and its endpoint's, so none is made twice.
func (s *Store) fanOut(ctx context.Context, limit int) (int, error) {
	if err := s.advisoryLock(ctx, webhookFanOutLock); err != nil {
		return 0, err
	}
	var seqs []int64
	if err := s.q(ctx).Raw("SELECT seq FROM webhook_events WHERE NOT queued ORDER BY seq LIMIT ?", limit).
		Scan(&seqs).Error; err != nil {
		return 0, fmt.Errorf("webhook events: %w", err)
	}
	if len(seqs) == 0 {
		return 0, nil
	}
	// One statement makes every delivery of the batch, in event order (the
	// claim's ordering rule reads seq), the subscriptions matched as
	// enqueueFor matches them.
	err := s.q(ctx).Exec(`INSERT INTO webhook_deliveries (id, message_id, endpoint_id, event_type, ordering_key,
		dedupe_key, event_seq, created_at, next_attempt_at, payload)
		SELECT e.message_id || '_' || w.id, e.message_id, w.id, e.event_type, e.ordering_key, e.dedupe_key, e.seq,
			e.created_at, e.created_at, ''
		FROM webhook_events e JOIN webhook_endpoints w ON w.enabled AND w.created_at <= e.created_at
			AND (e.endpoint_id = w.id OR e.endpoint_id IS NULL AND (`+s.subscribedSQL("' ' || e.event_type || ' '",
		"' ' || e.family || '.* '", "' * '")+`))
		WHERE e.seq IN ? ORDER BY e.seq, w.id ON CONFLICT DO NOTHING`, seqs).Error
	if err != nil {
		return 0, fmt.Errorf("queue webhook deliveries: %w", err)
	}
	if err := s.q(ctx).Exec("UPDATE webhook_events SET queued = ? WHERE seq IN ?", true, seqs).Error; err != nil {
		return 0, fmt.Errorf("webhook events queued: %w", err)
	}
	return len(seqs), nil
}

// ClaimWebhookDeliveries makes the queued events into deliveries
// (fanOut) and takes up to limit due deliveries of enabled
// endpoints for this caller for lease (long enough to send them all and
// record the results: see webhook.Deliverer): another caller, on any
// instance, does not take them while the lease runs. Each claim counts an
// attempt; FinishWebhookDeliveries records only the results of claims
// nobody took over since. Only the oldest pending delivery of each endpoint and
// ordering key is due, so deliveries of one session go out in order. On
// Postgres concurrent callers skip each other's rows (SKIP LOCKED).
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, limit int, lease time.Duration) ([]WebhookJob, error) {
	now := s.now()
	due := s.skipLockedRows(`SELECT d.seq FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.enabled
		WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND (d.locked_until IS NULL OR d.locked_until <= ?)
		AND (d.ordering_key = '' OR NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id
			AND p.ordering_key = d.ordering_key AND p.state = 'pending' AND p.seq < d.seq))
		ORDER BY d.seq LIMIT ?`, "d")
	var claimed []WebhookDelivery
	// One transaction (one commit) makes the events into deliveries and
	// claims.
	err := s.Transact(ctx, func(tx *Store) error {
		if _, err := tx.fanOut(ctx, max(limit, 256)); err != nil {
			return err
		}
		return tx.q(ctx).Raw(`UPDATE webhook_deliveries SET locked_until = ?, attempts = attempts + 1 WHERE seq IN (`+due+`)
		RETURNING seq, id, message_id, endpoint_id, event_type, ordering_key, payload, event_seq, state, attempts, created_at, next_attempt_at`,
			now.Add(lease), now, now, limit).Scan(&claimed).Error
	})
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	if len(claimed) == 0 {
		return nil, nil
	}
	slices.SortFunc(claimed, func(a, b WebhookDelivery) int { return int(a.Seq - b.Seq) })
	if err := s.eventPayloads(ctx, claimed); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(claimed))
	for _, d := range claimed {
		ids = append(ids, d.EndpointID)
	}
	var eps []Webhook
	if err := s.rq(ctx).Where("id IN ?", ids).Find(&eps).Error; err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	byID := map[string]Webhook{}
	for _, ep := range eps {
		byID[ep.ID] = ep
	}
	jobs := make([]WebhookJob, 0, len(claimed))
	for _, d := range claimed {
		ep, ok := byID[d.EndpointID]
		if !ok || s.opts.Crypter == nil || d.Payload == "" {
			continue // no payload: its event was purged with it (older than KeepFor)
		}
		secret, err := s.opts.Crypter.Decrypt(ep.Secret, ep.ID)
		if err != nil {
			return nil, fmt.Errorf("webhook %s secret: %w", ep.ID, err)
		}
		jobs = append(jobs, WebhookJob{WebhookDelivery: d, URL: ep.URL, Format: ep.Format, Secret: string(secret)})
	}
	return jobs, nil
}

// eventPayloads fills in the payload of deliveries made from events.
func (s *Store) eventPayloads(ctx context.Context, ds []WebhookDelivery) error {
	var seqs []int64
	for _, d := range ds {
		if d.EventSeq != nil {
			seqs = append(seqs, *d.EventSeq)
		}
	}
	payloads := map[int64]string{}
	for _, chunk := range chunks(seqs, 500) {
		var rows []struct {
			Seq     int64
			Payload string
		}
		if err := s.rq(ctx).Raw("SELECT seq, payload FROM webhook_events WHERE seq IN ?", chunk).Scan(&rows).Error; err != nil {
			return fmt.Errorf("webhook payloads: %w", err)
		}
		for _, r := range rows {
			payloads[r.Seq] = r.Payload
		}
	}
	for i, d := range ds {
		if d.EventSeq != nil {
			ds[i].Payload = payloads[*d.EventSeq]
		}
	}
	return nil
}

// excerpt keeps the first n bytes of s that are valid UTF-8.
func excerpt(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// FinishWebhookDelivery records an attempt of a claimed delivery: delivered,
// or retried with exponential backoff until it is older than RetryFor
// (then failed). An endpoint whose deliveries fail for DisableAfter without
// a success is disabled, with the reason shown on its page.
func (s *Store) FinishWebhookDelivery(ctx context.Context, job *WebhookJob, at WebhookAttempt) error {
	return s.FinishWebhookDeliveries(ctx, []WebhookJob{*job}, []WebhookAttempt{at})
}

// FinishWebhookDeliveries is FinishWebhookDelivery for a batch (attempts[i]
// is the outcome of jobs[i]), in one transaction. The result of a claim
// that is no longer ours (its lease ran out and another caller claimed the
// delivery again, or it was recorded already) is dropped: a late result
// never overwrites a delivery's state or its newer attempt.
func (s *Store) FinishWebhookDeliveries(ctx context.Context, jobs []WebhookJob, attempts []WebhookAttempt) error {
	return s.Transact(ctx, func(tx *Store) error {
		ours, err := tx.finishDeliveries(ctx, jobs, attempts)
		if err != nil {
			return err
		}
		last := map[string]int{} // endpoint -> index of its outcome that counts
		for i := range jobs {
			if !ours[jobs[i].ID] {
				continue
			}
			if j, seen := last[jobs[i].EndpointID]; !seen || !attempts[j].OK {
				last[jobs[i].EndpointID] = i // a success in the batch wins
			}
		}
		for ep, i := range last {
			if err := tx.endpointOutcome(ctx, ep, attempts[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// finishOutcome is what finishing a delivery writes; deliveries with the
// same outcome are recorded by one statement.
type finishOutcome struct {
	attempts, status, latencyMs int
	response, err, state        string
	next                        time.Time // zero: unchanged
}

// finishDeliveries records the attempts of claimed deliveries whose claim
// is still ours, and returns their ids: every claim counts one more
// attempt, so a delivery still pending with the attempt count of our claim
// was claimed by nobody since. A batch's outcomes mostly repeat (the same
// status and answer, the latency in whole milliseconds), so it takes a few
// statements, not one per delivery.
func (s *Store) finishDeliveries(ctx context.Context, jobs []WebhookJob, attempts []WebhookAttempt) (map[string]bool, error) {
	o, now := s.opts.Webhooks.withDefaults(), s.now()
	var order []finishOutcome
	groups := map[finishOutcome][]string{}
	for i, job := range jobs {
		at := attempts[i]
		k := finishOutcome{attempts: job.Attempts, status: at.Status, latencyMs: int(at.Latency / time.Millisecond),
			response: excerpt(at.Response, 1024), err: excerpt(at.Error, 512), state: "pending"}
		switch {
		case at.OK:
			k.state = "delivered"
		case now.Sub(job.CreatedAt) >= o.RetryFor:
			k.state = "failed"
		default:
			k.next = now.Add(backoff(o.BackoffBase, o.BackoffMax, job.Attempts))
		}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], job.ID)
	}
	ours := map[string]bool{}
	for _, k := range order {
		var deliveredAt, next any
		if k.state == "delivered" {
			deliveredAt = now
		}
		if !k.next.IsZero() {
			next = k.next
		}
		for _, ids := range chunks(groups[k], 500) {
			var done []string
			err := s.q(ctx).Raw(`UPDATE webhook_deliveries SET locked_until = NULL, last_attempt_at = ?, last_status = ?,
				last_latency_ms = ?, last_response = ?, last_error = ?, state = ?, delivered_at = COALESCE(?, delivered_at),
				next_attempt_at = COALESCE(?, next_attempt_at) WHERE id IN ? AND state = 'pending' AND attempts = ? RETURNING id`,
				now, k.status, k.latencyMs, k.response, k.err, k.state, deliveredAt, next, ids, k.attempts).Scan(&done).Error
			if err != nil {
				return nil, fmt.Errorf("finish webhook deliveries: %w", err)
			}
			for _, id := range done {
				ours[id] = true
			}
		}
	}
	return ours, nil
}

// endpointOutcome records on an endpoint whether its latest attempt
// succeeded: a success clears its failing time; a failure starts it, and
// disables an endpoint failing for DisableAfter.
func (s *Store) endpointOutcome(ctx context.Context, endpointID string, at WebhookAttempt) error {
	o, tx, now := s.opts.Webhooks.withDefaults(), s, s.now()
	ep := tx.q(ctx).Model(&Webhook{}).Where("id = ?", endpointID)
	if at.OK {
		return ep.Where("failing_since IS NOT NULL").Update("failing_since", nil).Error
	}
	if err := ep.Where("failing_since IS NULL").Update("failing_since", now).Error; err != nil {
		return fmt.Errorf("webhook %s failing: %w", endpointID, err)
	}
	last := at.Error
	if last == "" {
		last = fmt.Sprintf("HTTP %d", at.Status)
	}
	reason := fmt.Sprintf("Disabled automatically at %s: every delivery failed for %s (last: %s). Fix the receiver, then enable it again.",
		now.Format(time.RFC3339), o.DisableAfter, excerpt(last, 200))
	due := tx.q(ctx).Model(&Webhook{}).Where("id = ? AND enabled AND failing_since <= ?", endpointID, now.Add(-o.DisableAfter))
	var n int64
	if err := due.Count(&n).Error; err != nil || n == 0 {
		return err
	}
	// Disabling changes an administrator's resource: the change log says
	// so, with the system as the actor.
	return tx.changeTx(ctx, SystemActor, ChangeDisable, WebhookType, endpointID, func(tx *Store) error {
		return tx.q(ctx).Model(&Webhook{}).Where("id = ? AND enabled", endpointID).
			Updates(map[string]any{"enabled": false, "disabled_reason": reason}).Error
	})
}

// ChangeDisable is the change-log action of a webhook endpoint disabled
// automatically (by SystemActor).
const ChangeDisable Action = "disable"

// SystemActor is the actor of changes Gatehouse makes by itself (an
// endpoint failing for days disabled): no user, named "system" in the
// change log. It is never authorized for anything.
var SystemActor = Actor{Name: "system"}

// WebhookDeliveryPage is one page of an endpoint's delivery log, newest
// first; Next is the cursor of the following page (0: none).
type WebhookDeliveryPage struct {
	Items []WebhookDelivery
	Next  int64
}

// ListWebhookDeliveries returns an endpoint's delivery log below the cursor
// before (0: newest). ErrNotFound for an unknown or invisible endpoint.
func (s *Store) ListWebhookDeliveries(ctx context.Context, a Actor, endpointID string, before int64) (*WebhookDeliveryPage, error) {
	if _, err := s.GetWebhook(ctx, a, endpointID); err != nil {
		return nil, err
	}
	q := s.q(ctx).Where("endpoint_id = ?", endpointID)
	if before > 0 {
		q = q.Where("seq < ?", before)
	}
	page := &WebhookDeliveryPage{}
	if err := q.Order("seq DESC").Limit(51).Find(&page.Items).Error; err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	if len(page.Items) > 50 {
		page.Items = page.Items[:50]
		page.Next = page.Items[49].Seq
	}
	return page, nil
}

// RedeliverWebhook queues a delivered or failed delivery again, with the
// same webhook-id (receivers deduplicate on it), at once. It needs update on
// the endpoint. Errors: ErrNotFound, ErrForbidden, ErrConflict (still
// pending).
func (s *Store) RedeliverWebhook(ctx context.Context, a Actor, endpointID, deliveryID string) error {
	return s.Transact(ctx, func(tx *Store) error {
		w, err := tx.GetWebhook(ctx, a, endpointID)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionUpdate, webhookResource(endpointID)); err != nil {
			return err
		}
		var d WebhookDelivery
		if err := tx.q(ctx).Where("id = ? AND endpoint_id = ?", deliveryID, endpointID).Take(&d).Error; err != nil {
			return fmt.Errorf("webhook delivery %s: %w", deliveryID, ErrNotFound)
		}
		if d.State == "pending" {
			return fmt.Errorf("webhook delivery %s is still being delivered: %w", deliveryID, ErrConflict)
		}
		// The redelivery carries its own copy of the payload: its event is
		// purged with the deliveries made from it (PurgeWebhookHistory),
		// while the redelivery, made now, is kept as long from now.
		one := []WebhookDelivery{d}
		if err := tx.eventPayloads(ctx, one); err != nil {
			return err
		}
		if one[0].Payload == "" {
			return fmt.Errorf("webhook delivery %s: its event is no longer kept: %w", deliveryID, ErrConflict)
		}
		now := tx.now()
		err = tx.q(ctx).Exec(`INSERT INTO webhook_deliveries (id, message_id, endpoint_id, event_type, ordering_key,
			payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, '', ?, ?, ?)`,
			NewID("whd"), d.MessageID, endpointID, d.EventType, one[0].Payload, now, now).Error
		if err != nil {
			return fmt.Errorf("redeliver %s: %w", deliveryID, err)
		}
		if wake := tx.opts.Webhooks.Wake; wake != nil {
			tx.afterCommit(wake)
		}
		e := ChangeEvent{Action: "redeliver", ResourceType: WebhookType, ResourceID: endpointID, ResourceName: w.Name, ScopeID: GlobalScopeID}
		return tx.writeChange(ctx, a, &e, nil, map[string]any{"delivery_id": deliveryID, "message_id": d.MessageID, "event_type": d.EventType})
	})
}

// PurgeWebhookHistory deletes the events and deliveries older than KeepFor
// (default 30 days), oldest first, in batches, and returns how many rows it
// deleted. Every delivery made from an event has the event's time, so an
// event goes with all of them; a redelivery is as old as the Redeliver
// and carries its own payload. A delivery that old is finished (it was
// given up after RetryFor) or was never attempted because its endpoint was
// disabled, and would be given up at its next attempt. Safe on every
// instance at once; each batch looks at the oldest 1,000 rows only, so a
// pass over a table with nothing to delete reads no more than that.
func (s *Store) PurgeWebhookHistory(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-s.opts.Webhooks.withDefaults().KeepFor)
	n := 0
	for _, table := range []string{"webhook_deliveries", "webhook_events"} {
		for {
			res := s.q(ctx).Exec(`DELETE FROM `+table+` WHERE seq IN
				(SELECT seq FROM (SELECT seq, created_at FROM `+table+` ORDER BY seq LIMIT 1000) AS oldest WHERE created_at < ?)`, cutoff)
			if res.Error != nil {
				return n, fmt.Errorf("purge %s: %w", table, res.Error)
			}
			n += int(res.RowsAffected)
			if res.RowsAffected < 1000 {
				break
			}
		}
	}
	return n, nil
}
