package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse/models"
)

// Store is what the deliverer needs from the domain: the durable queue.
type Store interface {
	ClaimWebhookDeliveries(ctx context.Context, limit int, lease time.Duration) ([]models.WebhookJob, error)
	HandedWebhookJobs(ctx context.Context, handed []models.HandedWebhookEvent) ([]models.WebhookJob, error)
	ReleaseHandedWebhookEvents(ctx context.Context, handed []models.HandedWebhookEvent) error
	FinishWebhookDeliveries(ctx context.Context, jobs []models.WebhookJob, attempts []models.WebhookAttempt) error
	QueueExpiringSessions(ctx context.Context) (int, error)
	PurgeWebhookHistory(ctx context.Context) (int, error)
	Now() time.Time
}

// MaxResponseBytes is how much of a receiver's response is read (the rest
// is discarded unread; the connection is then closed).
const MaxResponseBytes = 64 << 10

// Deliverer sends queued deliveries. Run it once per instance: instances
// sharing a Postgres database claim disjoint deliveries.
type Deliverer struct {
	Store  Store
	Client *Client
	Logger *slog.Logger
	// Timeout bounds each request (Send enforces it whatever the
	// Client's own timeout). A claimed batch's lease covers sending the
	// whole batch at that bound plus LeaseMargin (see Lease), so no other
	// instance takes a delivery this one is still sending.
	Timeout time.Duration
	// Interval is how often the queue is polled without a wake-up
	// (default 1 s); Batch how many deliveries are claimed at once
	// (default 64); Parallel how many are sent at once (default 8).
	Interval        time.Duration
	Batch, Parallel int
	// Coalesce is how long a wake-up waits for more events before
	// claiming (default 20 ms): fewer, larger claims under load.
	Coalesce time.Duration
	// UserAgent is sent with every request.
	UserAgent string

	once sync.Once
	wake chan struct{}

	// The events the Store handed over (Hand), claimed for this deliverer
	// in the transaction that queued them; running counts Run calls.
	mu      sync.Mutex
	handed  []models.HandedWebhookEvent
	running atomic.Int32
	// fanout is how many deliveries the last handed batch made per event
	// (its endpoints), which sizes the next one.
	fanout atomic.Int32
}

func (d *Deliverer) init() {
	d.once.Do(func() {
		d.wake = make(chan struct{}, 1)
		if d.Interval <= 0 {
			d.Interval = time.Second
		}
		if d.Batch <= 0 {
			d.Batch = 64
		}
		if d.Parallel <= 0 {
			d.Parallel = 8
		}
		if d.Coalesce <= 0 {
			d.Coalesce = 20 * time.Millisecond
		}
		if d.Timeout <= 0 {
			d.Timeout = 10 * time.Second
		}
		if d.Logger == nil {
			d.Logger = slog.New(slog.DiscardHandler)
		}
		if d.UserAgent == "" {
			d.UserAgent = "Gatehouse-Webhooks/1"
		}
	})
}

// Wake tells the deliverer that deliveries were queued (models'
// WebhookOptions.Wake). It never blocks.
func (d *Deliverer) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Room reports whether the deliverer takes handed events
// (models.WebhookHandoff): it runs, and fewer than MaxHanded batches'
// worth of deliveries wait.
func (d *Deliverer) Room() bool {
	d.init()
	if d.running.Load() == 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.handed)*max(1, int(d.fanout.Load())) < MaxHanded*d.Batch
}

// MaxHanded is how many batches' worth of handed deliveries may wait:
// beyond it, events go to the claim, which costs more (on Postgres a
// transaction of several round trips per batch). With four, Postgres's
// deliverer fell behind in the benchmark's bursts and sent most events
// through the claim (lag p50 0.3-0.9 s against 0.05 s). Sixteen (1,024
// deliveries, about 340 events with three endpoints) is well within a
// handed event's lease: the deliverer sends them in about a second.
const MaxHanded = 16

// HandoffLease is the lease of an event claimed for this deliverer when it
// is queued: a batch's Lease, plus LeaseMargin to wait its turn. A handed
// event is sent only while a whole Lease of it is left (takeHanded).
func (d *Deliverer) HandoffLease() time.Duration { return d.Lease() + LeaseMargin }

// Hand takes an event claimed for this deliverer (models.WebhookHandoff)
// and wakes it. It never blocks.
func (d *Deliverer) Hand(ev models.HandedWebhookEvent) {
	d.init()
	d.mu.Lock()
	d.handed = append(d.handed, ev)
	d.mu.Unlock()
	d.Wake()
}

// takeHanded takes the handed events of the next batch, about Batch
// deliveries' worth, oldest first. Those with less than a Lease left are
// released instead (their claim freed at once for the next claim), so
// that no handed delivery is sent after its lease could run out.
func (d *Deliverer) takeHanded(ctx context.Context) []models.HandedWebhookEvent {
	n := max(1, d.Batch/max(1, int(d.fanout.Load())))
	for {
		d.mu.Lock()
		take := d.handed[:min(n, len(d.handed))]
		d.handed = d.handed[len(take):]
		if len(d.handed) == 0 {
			d.handed = nil // let the backing array go
		}
		d.mu.Unlock()
		if len(take) == 0 {
			return nil
		}
		now := d.Store.Now()
		var send, late []models.HandedWebhookEvent
		for _, ev := range take {
			if ev.Until.Sub(now) < d.Lease() {
				late = append(late, ev)
			} else {
				send = append(send, ev)
			}
		}
		if len(late) > 0 {
			if err := d.Store.ReleaseHandedWebhookEvents(ctx, late); err != nil && ctx.Err() == nil {
				d.Logger.Error("webhooks: release late handed events", "error", err)
			}
		}
		if len(send) > 0 {
			return send
		}
	}
}

// releaseHanded frees the claims of the handed events left when Run stops,
// so another instance, or this one's next Run, sends them at once.
func (d *Deliverer) releaseHanded() {
	if d.running.Load() > 0 {
		return // another Run still takes them
	}
	d.mu.Lock()
	left := d.handed
	d.handed = nil
	d.mu.Unlock()
	if len(left) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Store.ReleaseHandedWebhookEvents(ctx, left); err != nil {
		d.Logger.Error("webhooks: release handed events", "error", err)
	}
}

// PurgeEvery is how often Run deletes the events and deliveries older than
// their retention (models' PurgeWebhookHistory).
const PurgeEvery = time.Hour

// Run delivers until ctx ends: at every wake-up or tick it queues the
// expiring-soon events and sends everything due; once an hour (and when it
// starts) it purges the history older than its retention.
func (d *Deliverer) Run(ctx context.Context) error {
	d.init()
	d.running.Add(1)
	defer func() {
		d.running.Add(-1)
		d.releaseHanded()
	}()
	t := time.NewTicker(d.Interval)
	defer t.Stop()
	defer d.Client.CloseIdle()
	lastSweep, lastPurge := time.Time{}, time.Time{}
	for {
		if time.Since(lastPurge) >= PurgeEvery {
			lastPurge = time.Now()
			if n, err := d.Store.PurgeWebhookHistory(ctx); err != nil && ctx.Err() == nil {
				d.Logger.Error("webhooks: purge history", "error", err)
			} else if n > 0 {
				d.Logger.Info("webhooks: purged history older than its retention", "rows", n)
			}
		}
		if time.Since(lastSweep) >= d.Interval {
			lastSweep = time.Now()
			if _, err := d.Store.QueueExpiringSessions(ctx); err != nil && ctx.Err() == nil {
				d.Logger.Error("webhooks: queue expiring sessions", "error", err)
			}
		}
		if _, err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
			d.Logger.Error("webhooks: deliver", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
			// Let a burst of events gather: one claim takes them all.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(d.Coalesce):
			}
		case <-t.C:
		}
	}
}

// RunOnce sends everything due now, claim after claim, and returns how
// many attempts it made.
func (d *Deliverer) RunOnce(ctx context.Context) (int, error) {
	d.init()
	n := 0
	var lastClaim time.Time
	for ctx.Err() == nil {
		// Each round sends a batch of handed events (they need no claim),
		// then what the claim finds due (retries, events queued while the
		// deliverer had no room or that waited behind an earlier one):
		// every round once no handed event is left, and at least once an
		// Interval while they keep coming, so a steady stream of them
		// never holds the claimed ones back for long. (A claim after every
		// handed batch put Postgres's deliverer behind in the benchmark's
		// bursts: lag p50 0.2-1.3 s against 0.05 s.)
		sent := 0
		handed := d.takeHanded(ctx)
		if len(handed) > 0 {
			jobs, err := d.Store.HandedWebhookJobs(ctx, handed)
			if err != nil {
				return n, err
			}
			d.fanout.Store(int32(max(1, (len(jobs)+len(handed)-1)/len(handed))))
			if sent, err = d.sendBatch(ctx, jobs); err != nil || ctx.Err() != nil {
				return n + sent, err
			}
			n += sent
		}
		if len(handed) > 0 && time.Since(lastClaim) < d.Interval {
			continue
		}
		lastClaim = time.Now()
		jobs, err := d.Store.ClaimWebhookDeliveries(ctx, d.Batch, d.Lease())
		if err != nil {
			return n, err
		}
		claimed, err := d.sendBatch(ctx, jobs)
		n += claimed
		if err != nil || (len(handed) == 0 && claimed == 0) {
			return n, err
		}
	}
	return n, nil
}

// sendBatch sends jobs, Parallel at a time, and records the whole batch in
// one transaction; it returns how many it sent. When ctx ends first,
// nothing is recorded: the leases free the deliveries.
func (d *Deliverer) sendBatch(ctx context.Context, jobs []models.WebhookJob) (int, error) {
	if len(jobs) == 0 {
		return 0, nil
	}
	sem := make(chan struct{}, d.Parallel)
	var wg sync.WaitGroup
	attempts := make([]models.WebhookAttempt, len(jobs))
	for i := range jobs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			attempts[i] = d.Send(ctx, &jobs[i])
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return 0, nil // shutting down: the leases free the deliveries
	}
	if err := d.Store.FinishWebhookDeliveries(ctx, jobs, attempts); err != nil {
		return 0, err
	}
	return len(jobs), nil
}

// LeaseMargin is what a claim's lease adds to the time its batch may take
// to send: the time to record the results.
const LeaseMargin = 10 * time.Second

// Lease is how long a claim of Batch deliveries is held: they are sent
// Parallel at a time, each within Timeout, so the last one is answered
// within ceil(Batch/Parallel)·Timeout; LeaseMargin more records the
// results. (A crash frees the claimed deliveries after as long.)
func (d *Deliverer) Lease() time.Duration {
	d.init()
	rounds := (d.Batch + d.Parallel - 1) / d.Parallel
	return time.Duration(rounds)*d.Timeout + LeaseMargin
}

// Send makes one attempt of a delivery: a signed POST of its payload (or
// its Slack-compatible form), ended after Timeout (a failure), reading at
// most MaxResponseBytes of the answer; any 2xx answer is a success.
func (d *Deliverer) Send(ctx context.Context, job *models.WebhookJob) models.WebhookAttempt {
	d.init()
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	body := []byte(job.Payload)
	if job.Format == models.WebhookFormatSlack {
		body = SlackBody(job.Payload)
	}
	ts := d.Store.Now().Unix()
	sig, err := Sign(job.Secret, job.MessageID, ts, body)
	if err != nil {
		return models.WebhookAttempt{Error: err.Error()}
	}
	header := http.Header{}
	header.Set("Content-Type", "application/json")
	header.Set("User-Agent", d.UserAgent)
	header.Set("webhook-id", job.MessageID)
	header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	header.Set("webhook-signature", sig)
	start := time.Now()
	status, excerpt, err := d.Client.Post(ctx, job.URL, header, body, MaxResponseBytes)
	if err != nil && status == 0 {
		return models.WebhookAttempt{Latency: time.Since(start), Error: err.Error()}
	}
	// An answer cut short after its status still counts by its status.
	at := models.WebhookAttempt{Status: status, Latency: time.Since(start), Response: string(excerpt),
		OK: status >= 200 && status < 300}
	if !at.OK {
		at.Error = fmt.Sprintf("HTTP %d", status)
	}
	return at
}

// SlackBody turns a standard payload into a Slack-compatible message
// ({"text": …}) for incoming-webhook URLs.
func SlackBody(payload string) []byte {
	var p struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal([]byte(payload), &p)
	var d struct {
		SessionID         string `json:"session_id"`
		TerminationReason string `json:"termination_reason"`
		ExpiresInSeconds  int    `json:"expires_in_seconds"`
		User              struct{ Name string }
		Target            struct{ Name string }
		Action            string
		Actor             struct{ Name string }
		Resource          struct{ Type, Name, ID string }
		RequestID         string `json:"request_id"`
		Requester         struct{ Name string }
	}
	_ = json.Unmarshal(p.Data, &d)
	var text string
	switch {
	case strings.HasPrefix(p.Type, "session."):
		text = fmt.Sprintf("Gatehouse: %s — %s on %s (%s)", p.Type, d.User.Name, d.Target.Name, d.SessionID)
		if d.TerminationReason != "" {
			text += ", reason: " + d.TerminationReason
		}
		if d.ExpiresInSeconds > 0 {
			text += fmt.Sprintf(", expires in %d min", (d.ExpiresInSeconds+59)/60)
		}
	case strings.HasPrefix(p.Type, "change."):
		who := d.Actor.Name
		if who == "" {
			who = "someone"
		}
		text = fmt.Sprintf("Gatehouse: %s %s %s %q (%s)", who, d.Action, d.Resource.Type, d.Resource.Name, d.Resource.ID)
	default:
		text = fmt.Sprintf("Gatehouse: %s — request %s by %s", p.Type, d.RequestID, d.Requester.Name)
	}
	b, _ := json.Marshal(map[string]string{"text": text})
	return b
}
