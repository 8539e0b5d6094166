package models

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	DedupeKey     *string // queued once per endpoint (session.expiring_soon)
	Payload       string  // set on a claimed delivery (WebhookJob); "" in the log
	EventSeq      *int64  // the webhook_events row holding the payload (nil: in Payload)
	State         string  // pending, delivered, failed
	Attempts      int
	CreatedAt     time.Time
	NextAttemptAt time.Time
	LastAttemptAt *time.Time
	LastStatus    int
	LastLatencyMs int
	LastResponse  string
	LastError     string
	DeliveredAt   *time.Time
	// Entries is, on a batch row (batchRows), its deliveries as a JSON
	// array of deliveryEntry; nil on every other row. The delivery log
	// lists each entry as a delivery of its own (entryDeliveries).
	Entries *string
}

// TableName is the delivery queue's table.
func (WebhookDelivery) TableName() string { return "webhook_deliveries" }

// WebhookJob is a claimed delivery with what sending it needs.
type WebhookJob struct {
	WebhookDelivery
	URL    string
	Format string
	Secret string // the endpoint's signing secret (whsec_…)
	// eventClaims is, for a delivery sent straight from its claimed event
	// (no row yet), the event's claim count when it was claimed; 0 for a
	// claimed delivery row.
	eventClaims int
}

// WebhookAttempt is the outcome of sending a delivery once.
type WebhookAttempt struct {
	OK       bool
	Status   int
	Latency  time.Duration
	Response string // an excerpt of the response body
	Error    string
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
// delivery or its event again, or it was recorded already) is dropped: a
// late result never overwrites a delivery's state or its newer attempt.
// A delivery sent straight from its event is recorded here, once, with its
// outcome, as its event is marked queued (a first-attempt success in its
// endpoint's batch row: finishEventDeliveries).
//
// On SQLite it joins the session starts waiting for the single writer
// (transactGrouped): one commit for them and the batch's results.
func (s *Store) FinishWebhookDeliveries(ctx context.Context, jobs []WebhookJob, attempts []WebhookAttempt) error {
	return s.transactGrouped(ctx, func(ctx context.Context, tx *Store) error {
		ours, err := tx.finishDeliveries(ctx, jobs, attempts)
		if err != nil {
			return err
		}
		if err := tx.finishEventDeliveries(ctx, jobs, attempts, ours); err != nil {
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
		var succeeded []string // one statement clears them all
		for ep, i := range last {
			if attempts[i].OK {
				succeeded = append(succeeded, ep)
				continue
			}
			if err := tx.endpointFailed(ctx, ep, attempts[i]); err != nil {
				return err
			}
		}
		if len(succeeded) > 0 {
			if err := tx.q(ctx).Model(&Webhook{}).Where("id IN ? AND failing_since IS NOT NULL", succeeded).
				Update("failing_since", nil).Error; err != nil {
				return fmt.Errorf("webhooks succeeding: %w", err)
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

// outcome is what an attempt of job makes of its delivery: delivered, or
// retried with exponential backoff until it is older than RetryFor (then
// failed).
func (s *Store) outcome(job *WebhookJob, at WebhookAttempt, now time.Time) finishOutcome {
	o := s.opts.Webhooks.withDefaults()
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
	return k
}

// finishDeliveries records the attempts of claimed delivery rows whose
// claim is still ours, and returns their ids: every claim counts one more
// attempt, so a delivery still pending with the attempt count of our claim
// was claimed by nobody since. A batch's outcomes mostly repeat (the same
// status and answer, the latency in whole milliseconds), so it takes a few
// statements, not one per delivery. Jobs sent from their event are left to
// finishEventDeliveries.
func (s *Store) finishDeliveries(ctx context.Context, jobs []WebhookJob, attempts []WebhookAttempt) (map[string]bool, error) {
	now := s.now()
	var order []finishOutcome
	groups := map[finishOutcome][]string{}
	for i := range jobs {
		if jobs[i].eventClaims > 0 {
			continue
		}
		k := s.outcome(&jobs[i], attempts[i], now)
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], jobs[i].ID)
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

// finishEventDeliveries records the attempts of deliveries sent straight
// from their claimed event: it marks the events queued where the claim is
// still ours (nobody claimed the event since: its claim count is
// unchanged), then records those events' deliveries, each once, with its
// outcome, and adds their ids to ours: the first-attempt successes in one
// batch row per endpoint (batchRows), the others in a row each (a failure
// stays pending, retried like any delivery; a delivery of an event with a
// dedupe key keeps the row the dedupe index sees).
func (s *Store) finishEventDeliveries(ctx context.Context, jobs []WebhookJob, attempts []WebhookAttempt, ours map[string]bool) error {
	byClaims := map[int][]int64{} // claim count -> events
	seen := map[int64]bool{}
	for _, j := range jobs {
		if j.eventClaims > 0 && !seen[*j.EventSeq] {
			seen[*j.EventSeq] = true
			byClaims[j.eventClaims] = append(byClaims[j.eventClaims], *j.EventSeq)
		}
	}
	won := map[int64]bool{}
	for claims, seqs := range byClaims {
		for _, chunk := range chunks(seqs, 500) {
			var got []int64
			if err := s.q(ctx).Raw(`UPDATE webhook_events SET queued = ?, locked_until = NULL
				WHERE seq IN ? AND claims = ? AND NOT queued RETURNING seq`, true, chunk, claims).Scan(&got).Error; err != nil {
				return fmt.Errorf("finish webhook events: %w", err)
			}
			for _, seq := range got {
				won[seq] = true
			}
		}
	}
	now := s.now()
	var rows []WebhookDelivery
	batches := map[string][]deliveryEntry{} // endpoint -> its first-attempt successes
	var endpoints []string
	for i := range jobs {
		if jobs[i].eventClaims == 0 || !won[*jobs[i].EventSeq] {
			continue
		}
		k := s.outcome(&jobs[i], attempts[i], now)
		d := jobs[i].WebhookDelivery
		d.Payload, d.State, d.LastAttemptAt = "", k.state, &now
		d.LastStatus, d.LastLatencyMs, d.LastResponse, d.LastError = k.status, k.latencyMs, k.response, k.err
		if k.state == "delivered" {
			d.DeliveredAt = &now
		}
		if !k.next.IsZero() {
			d.NextAttemptAt = k.next
		}
		ours[d.ID] = true
		if k.state == "delivered" && d.DedupeKey == nil {
			if _, seen := batches[d.EndpointID]; !seen {
				endpoints = append(endpoints, d.EndpointID)
			}
			batches[d.EndpointID] = append(batches[d.EndpointID], deliveryEntry{EventSeq: *d.EventSeq, MessageID: d.MessageID,
				EventType: d.EventType, At: d.CreatedAt, Status: k.status, LatencyMs: k.latencyMs, Response: k.response})
			continue
		}
		rows = append(rows, d)
	}
	for _, ep := range endpoints {
		b, err := batchRows(ep, batches[ep], now)
		if err != nil {
			return err
		}
		rows = append(rows, b...)
	}
	return s.insertDeliveries(ctx, rows)
}

// deliveryEntry is one delivery of a batch row, as its entries hold it
// (migration 00024).
type deliveryEntry struct {
	EventSeq  int64     `json:"seq"`
	MessageID string    `json:"id"`
	EventType string    `json:"type"`
	At        time.Time `json:"at"` // the event's time
	Status    int       `json:"status"`
	LatencyMs int       `json:"ms"`
	Response  string    `json:"response,omitempty"`
}

// batchEntries is the most deliveries one batch row holds.
const batchEntries = 100

// batchRows records an endpoint's deliveries sent from their events and
// delivered at the first attempt, at now, in rows of up to batchEntries,
// oldest event first: one row per endpoint for a batch of results, where a
// row per delivery (each with its index entries) was most of the cost of a
// delivery to the single writer. A batch row is delivered (the claim never
// reads it); its created_at is its newest event's time, so the purge keeps
// it as long as that event, and its next_attempt_at its oldest event's.
// The log lists each entry as a delivery (entryDeliveries).
func batchRows(endpointID string, entries []deliveryEntry, now time.Time) ([]WebhookDelivery, error) {
	slices.SortFunc(entries, func(a, b deliveryEntry) int { return cmp.Compare(a.EventSeq, b.EventSeq) })
	var rows []WebhookDelivery
	for _, chunk := range chunks(entries, batchEntries) {
		js, err := json.Marshal(chunk)
		if err != nil {
			return nil, fmt.Errorf("webhook delivery batch: %w", err)
		}
		oldest, newest := chunk[0].At, chunk[0].At
		for _, e := range chunk[1:] {
			if e.At.Before(oldest) {
				oldest = e.At
			}
			if e.At.After(newest) {
				newest = e.At
			}
		}
		text := string(js)
		rows = append(rows, WebhookDelivery{ID: NewID("whb"), EndpointID: endpointID, State: "delivered", Attempts: 1,
			CreatedAt: newest, NextAttemptAt: oldest, LastAttemptAt: &now, DeliveredAt: &now, Entries: &text})
	}
	return rows, nil
}

// entryDeliveries lists a batch row's entries as deliveries, newest event
// first, each with the id "<row id>.<event seq>" (RedeliverWebhook finds
// it by that id).
func entryDeliveries(row *WebhookDelivery) ([]WebhookDelivery, error) {
	var entries []deliveryEntry
	if err := json.Unmarshal([]byte(*row.Entries), &entries); err != nil {
		return nil, fmt.Errorf("webhook delivery batch %s: %w", row.ID, err)
	}
	out := make([]WebhookDelivery, len(entries))
	for i, e := range entries {
		seq := e.EventSeq
		out[len(entries)-1-i] = WebhookDelivery{Seq: row.Seq, ID: row.ID + "." + strconv.FormatInt(seq, 10), MessageID: e.MessageID,
			EndpointID: row.EndpointID, EventType: e.EventType, EventSeq: &seq, State: "delivered", Attempts: 1, CreatedAt: e.At,
			NextAttemptAt: e.At, LastAttemptAt: row.LastAttemptAt, LastStatus: e.Status, LastLatencyMs: e.LatencyMs,
			LastResponse: e.Response, DeliveredAt: row.DeliveredAt}
	}
	return out, nil
}

// endpointFailed records on an endpoint that its latest attempt failed:
// it starts its failing time, and disables an endpoint failing for
// DisableAfter. (FinishWebhookDeliveries clears the failing time of the
// endpoints whose latest attempt succeeded, all in one statement.)
func (s *Store) endpointFailed(ctx context.Context, endpointID string, at WebhookAttempt) error {
	o, tx, now := s.opts.Webhooks.withDefaults(), s, s.now()
	ep := tx.q(ctx).Model(&Webhook{}).Where("id = ?", endpointID)
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

// deliveryPageSize is how many deliveries a page of the log shows at least
// (when there are that many): a page ends with a whole row, so one ending
// with a batch row shows up to batchEntries-1 more.
const deliveryPageSize = 50

// ListWebhookDeliveries returns an endpoint's delivery log below the cursor
// before (0: newest): each row, and each entry of a batch row, is a
// delivery. ErrNotFound for an unknown or invisible endpoint.
func (s *Store) ListWebhookDeliveries(ctx context.Context, a Actor, endpointID string, before int64) (*WebhookDeliveryPage, error) {
	if _, err := s.GetWebhook(ctx, a, endpointID); err != nil {
		return nil, err
	}
	q := s.q(ctx).Where("endpoint_id = ?", endpointID)
	if before > 0 {
		q = q.Where("seq < ?", before)
	}
	// Every row holds at least one delivery: a page's rows are among the
	// next deliveryPageSize, and one more says whether a page follows.
	var rows []WebhookDelivery
	if err := q.Order("seq DESC").Limit(deliveryPageSize + 1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	page := &WebhookDeliveryPage{}
	for i := range rows {
		if len(page.Items) >= deliveryPageSize {
			page.Next = rows[i-1].Seq
			break
		}
		if rows[i].Entries == nil {
			page.Items = append(page.Items, rows[i])
			continue
		}
		entries, err := entryDeliveries(&rows[i])
		if err != nil {
			return nil, err
		}
		page.Items = append(page.Items, entries...)
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
		d, err := tx.webhookDelivery(ctx, endpointID, deliveryID)
		if err != nil {
			return err
		}
		if d.State == "pending" {
			return fmt.Errorf("webhook delivery %s is still being delivered: %w", deliveryID, ErrConflict)
		}
		// The redelivery carries its own copy of the payload: its event is
		// purged with the deliveries made from it (PurgeWebhookHistory),
		// while the redelivery, made now, is kept as long from now.
		one := []WebhookDelivery{*d}
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

// webhookDelivery reads one delivery of an endpoint's log by its id: a
// row's, or an entry's of a batch row ("<row id>.<event seq>").
func (s *Store) webhookDelivery(ctx context.Context, endpointID, deliveryID string) (*WebhookDelivery, error) {
	rowID, entry, inBatch := strings.Cut(deliveryID, ".")
	var row WebhookDelivery
	if err := s.q(ctx).Where("id = ? AND endpoint_id = ?", rowID, endpointID).Take(&row).Error; err != nil {
		return nil, fmt.Errorf("webhook delivery %s: %w", deliveryID, ErrNotFound)
	}
	if !inBatch && row.Entries == nil {
		return &row, nil
	}
	if inBatch && row.Entries != nil {
		entries, err := entryDeliveries(&row)
		if err != nil {
			return nil, err
		}
		for i := range entries {
			if strconv.FormatInt(*entries[i].EventSeq, 10) == entry {
				return &entries[i], nil
			}
		}
	}
	return nil, fmt.Errorf("webhook delivery %s: %w", deliveryID, ErrNotFound)
}

// PurgeWebhookHistory deletes the events and deliveries older than KeepFor
// (default 30 days), oldest first, in batches, and returns how many rows it
// deleted. Every delivery made from an event has the event's time, so an
// event goes with all of them (a batch row has its newest event's time: it
// goes with that event, after the older ones); a redelivery is as old as
// the Redeliver and carries its own payload. A delivery that old is
// finished (it was given up after RetryFor) or was never attempted because
// its endpoint was disabled, and would be given up at its next attempt. Safe on every
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
