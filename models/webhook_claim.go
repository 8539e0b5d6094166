package models

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
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
	var claimed []WebhookDelivery
	var fresh []WebhookJob
	var eps []Webhook
	err := s.Transact(ctx, func(tx *Store) error {
		if err := tx.q(ctx).Where("enabled = ?", true).Order("id").Find(&eps).Error; err != nil {
			return err
		}
		err := tx.q(ctx).Raw(`UPDATE webhook_deliveries SET locked_until = ?, attempts = attempts + 1 WHERE seq IN (`+due+`)
		RETURNING seq, id, message_id, endpoint_id, event_type, ordering_key, dedupe_key, payload, event_seq, state, attempts,
			created_at, next_attempt_at`, now.Add(lease), now, now, limit).Scan(&claimed).Error
		if err != nil || len(claimed) >= limit {
			return err
		}
		fresh, err = tx.claimEvents(ctx, eps, limit-len(claimed), lease, now)
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
	byID := map[string]*Webhook{}
	for i := range eps {
		byID[eps[i].ID] = &eps[i]
	}
	secrets := map[string]string{}
	jobs := make([]WebhookJob, 0, len(claimed)+len(fresh))
	for _, d := range claimed {
		jobs = append(jobs, WebhookJob{WebhookDelivery: d})
	}
	jobs = append(jobs, fresh...)
	out := jobs[:0]
	for _, j := range jobs {
		ep, ok := byID[j.EndpointID]
		if !ok || s.opts.Crypter == nil || j.Payload == "" {
			continue // no payload: its event was purged with it (older than KeepFor)
		}
		secret, ok := secrets[ep.ID]
		if !ok {
			raw, err := s.opts.Crypter.Decrypt(ep.Secret, ep.ID)
			if err != nil {
				return nil, fmt.Errorf("webhook %s secret: %w", ep.ID, err)
			}
			secret = string(raw)
			secrets[ep.ID] = secret
		}
		j.URL, j.Format, j.Secret = ep.URL, ep.Format, secret
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
	EndpointID  *string // queued for this endpoint only
	Payload     string
	CreatedAt   time.Time
	Claims      int
}

// claimEvents claims queued events for lease, in the caller's transaction,
// oldest first, about room deliveries' worth (at least one event), and
// returns a job for each delivery to send (more than room only when one
// event has more endpoints): one per enabled endpoint that
// subscribes to the event's type (or that it was queued for) and was
// created by the event's time. An event is taken only when no earlier
// event with its ordering key is still unqueued, so one session's events
// are sent one after the other. A delivery whose endpoint still has a
// pending delivery with the same ordering key (a retry) must wait behind
// it: its row is written now, pending, and the claim of delivery rows
// sends it in turn. An event left with nothing to send is marked queued
// at once; the others are marked when their results are recorded.
func (s *Store) claimEvents(ctx context.Context, eps []Webhook, room int, lease time.Duration, now time.Time) ([]WebhookJob, error) {
	take := room
	if n := len(eps); n > 0 {
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
		RETURNING seq, message_id, event_type, ordering_key, dedupe_key, endpoint_id, payload, created_at, claims`,
		now.Add(lease), now, take).Scan(&evs).Error; err != nil {
		return nil, fmt.Errorf("claim webhook events: %w", err)
	}
	if len(evs) == 0 {
		return nil, nil
	}
	slices.SortFunc(evs, func(a, b claimedEvent) int { return cmp.Compare(a.Seq, b.Seq) })

	var deliveries []WebhookDelivery
	claims := map[string]int{} // delivery id -> its event's claim count
	var epIDs, keys, again, dedupes []string
	for i := range evs {
		e := &evs[i]
		for _, w := range eps {
			if w.CreatedAt.After(e.CreatedAt) || e.EndpointID != nil && *e.EndpointID != w.ID ||
				e.EndpointID == nil && !subscribes(w.Events(), e.EventType) {
				continue
			}
			seq := e.Seq
			d := WebhookDelivery{ID: e.MessageID + "_" + w.ID, MessageID: e.MessageID, EndpointID: w.ID, EventType: e.EventType,
				OrderingKey: e.OrderingKey, DedupeKey: e.DedupeKey, Payload: e.Payload, EventSeq: &seq, State: "pending",
				CreatedAt: e.CreatedAt, NextAttemptAt: e.CreatedAt}
			deliveries = append(deliveries, d)
			claims[d.ID] = e.Claims
			if !slices.Contains(epIDs, w.ID) {
				epIDs = append(epIDs, w.ID)
			}
			if e.OrderingKey != "" {
				keys = append(keys, e.OrderingKey)
			}
			if e.Claims > 1 {
				again = append(again, d.ID) // claimed before: its row may be written already
			}
			if e.DedupeKey != nil {
				dedupes = append(dedupes, *e.DedupeKey)
			}
		}
	}
	behind, err := s.pendingOrderKeys(ctx, epIDs, slices.Compact(slices.Sorted(slices.Values(keys))))
	if err != nil {
		return nil, err
	}
	made, err := s.madeDeliveries(ctx, again, dedupes)
	if err != nil {
		return nil, err
	}
	var jobs []WebhookJob
	var wait []WebhookDelivery
	sending := map[int64]bool{}
	for _, d := range deliveries {
		switch {
		case made[d.ID] || d.DedupeKey != nil && made[d.EndpointID+" "+*d.DedupeKey]:
		case d.OrderingKey != "" && behind[d.EndpointID+" "+d.OrderingKey]:
			d.Payload = ""
			wait = append(wait, d)
		default:
			d.Attempts = 1
			jobs = append(jobs, WebhookJob{WebhookDelivery: d, eventClaims: claims[d.ID]})
			sending[*d.EventSeq] = true
		}
	}
	if err := s.insertDeliveries(ctx, wait); err != nil {
		return nil, err
	}
	var idle []int64
	for _, e := range evs {
		if !sending[e.Seq] {
			idle = append(idle, e.Seq)
		}
	}
	if len(idle) > 0 {
		if err := s.q(ctx).Exec("UPDATE webhook_events SET queued = ?, locked_until = NULL WHERE seq IN ?", true, idle).Error; err != nil {
			return nil, fmt.Errorf("webhook events queued: %w", err)
		}
	}
	return jobs, nil
}

// pendingOrderKeys returns, as "endpoint key", the endpoints' ordering
// keys among keys that have a pending delivery.
func (s *Store) pendingOrderKeys(ctx context.Context, epIDs, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(epIDs) == 0 || len(keys) == 0 {
		return out, nil
	}
	for _, chunk := range chunks(keys, 500) {
		var rows []struct{ EndpointID, OrderingKey string }
		if err := s.q(ctx).Raw(`SELECT DISTINCT endpoint_id, ordering_key FROM webhook_deliveries
			WHERE state = 'pending' AND endpoint_id IN ? AND ordering_key IN ?`, epIDs, chunk).Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("pending webhook deliveries: %w", err)
		}
		for _, r := range rows {
			out[r.EndpointID+" "+r.OrderingKey] = true
		}
	}
	return out, nil
}

// madeDeliveries returns which of the delivery ids, and which endpoints'
// dedupe keys among dedupes (as "endpoint key"), have a delivery row.
func (s *Store) madeDeliveries(ctx context.Context, ids, dedupes []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, chunk := range chunks(ids, 500) {
		var got []string
		if err := s.q(ctx).Raw("SELECT id FROM webhook_deliveries WHERE id IN ?", chunk).Scan(&got).Error; err != nil {
			return nil, fmt.Errorf("webhook deliveries made: %w", err)
		}
		for _, id := range got {
			out[id] = true
		}
	}
	for _, chunk := range chunks(dedupes, 500) {
		var got []struct{ EndpointID, DedupeKey string }
		if err := s.q(ctx).Raw("SELECT endpoint_id, dedupe_key FROM webhook_deliveries WHERE dedupe_key IN ?", chunk).
			Scan(&got).Error; err != nil {
			return nil, fmt.Errorf("webhook deliveries made: %w", err)
		}
		for _, r := range got {
			out[r.EndpointID+" "+r.DedupeKey] = true
		}
	}
	return out, nil
}

// deliveryColumns are the columns insertDeliveries writes.
const deliveryColumns = `id, message_id, endpoint_id, event_type, ordering_key, dedupe_key, payload, event_seq, state,
	attempts, created_at, next_attempt_at, last_attempt_at, last_status, last_latency_ms, last_response, last_error, delivered_at`

// insertDeliveries writes delivery rows, many per statement; a row whose
// id (or endpoint and dedupe key) exists already is left as it is.
func (s *Store) insertDeliveries(ctx context.Context, rows []WebhookDelivery) error {
	const perRow = 18
	for _, chunk := range chunks(rows, 100) {
		tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", perRow), ", ") + ")"
		args := make([]any, 0, perRow*len(chunk))
		for _, d := range chunk {
			args = append(args, d.ID, d.MessageID, d.EndpointID, d.EventType, d.OrderingKey, d.DedupeKey, d.Payload, d.EventSeq,
				d.State, d.Attempts, d.CreatedAt, d.NextAttemptAt, d.LastAttemptAt, d.LastStatus, d.LastLatencyMs,
				d.LastResponse, d.LastError, d.DeliveredAt)
		}
		sql := "INSERT INTO webhook_deliveries (" + deliveryColumns + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(tuple+", ", len(chunk)), ", ") + " ON CONFLICT DO NOTHING"
		if err := s.q(ctx).Exec(sql, args...).Error; err != nil {
			return fmt.Errorf("write webhook deliveries: %w", err)
		}
	}
	return nil
}
