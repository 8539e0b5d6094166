package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/webhook"
)

// TestWebhookLogOfBatchRows: deliveries sent from their event and
// delivered at the first attempt are recorded in one row per endpoint and
// batch of results, and the log still lists every one of them once, newest
// first, across pages, beside the rows of a failure retried and of a
// redelivery; Redeliver finds a batch entry by the id the log gives it.
func TestWebhookLogOfBatchRows(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		rec := newReceiver(t)
		w := rec.hook(t, f, "Starts", models.EventSessionStarted)
		other := newReceiver(t).hook(t, f, "Other", models.EventSessionStarted)
		// Batches of 7 deliveries (3 events for the 2 endpoints, and one
		// more when the claim is rounded up): rows of a few entries.
		d := &webhook.Deliverer{Store: f.store, Client: webhook.NewClient(true, 5*time.Second), Timeout: 5 * time.Second, Batch: 7}
		const n = 130
		for range 60 {
			f.start(t)
		}
		drainAll(t, d)
		rec.down.Store(true) // one event's first attempt fails: a row, retried
		f.start(t)
		drainAll(t, d)
		rec.down.Store(false)
		f.clock.Add(time.Hour) // past its backoff
		for range n - 61 {
			f.start(t)
		}
		drainAll(t, d)

		var rows struct{ Batch, Single int }
		if err := f.store.DB().Raw(`SELECT count(*) FILTER (WHERE entries IS NOT NULL) AS batch,
			count(*) FILTER (WHERE entries IS NULL) AS single FROM webhook_deliveries WHERE endpoint_id = ?`, w.ID).
			Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if rows.Single != 1 || rows.Batch < n/4 || rows.Batch > n/2 {
			t.Errorf("rows %+v: want one for the failure and one per batch of about 3 deliveries", rows)
		}

		// The entries are as migration 00024 documents them (its down reads
		// them so): the keys of a delivery with an empty response.
		var text string
		if err := f.store.DB().Raw("SELECT entries FROM webhook_deliveries WHERE endpoint_id = ? AND entries IS NOT NULL ORDER BY seq LIMIT 1",
			w.ID).Row().Scan(&text); err != nil {
			t.Fatal(err)
		}
		var entries []map[string]any
		if err := json.Unmarshal([]byte(text), &entries); err != nil || len(entries) == 0 {
			t.Fatalf("entries %s: %v", text, err)
		}
		if keys := slices.Sorted(maps.Keys(entries[0])); !slices.Equal(keys, []string{"at", "id", "ms", "seq", "status", "type"}) {
			t.Errorf("an entry's keys: %v", keys)
		}

		// Redeliver an entry from the middle of the log by its id.
		all := walkLog(t, f, w.ID)
		if len(all) != n {
			t.Fatalf("the log lists %d deliveries, want %d", len(all), n)
		}
		entry := all[n/2]
		if entry.State != "delivered" || entry.Attempts != 1 || entry.LastStatus != 204 || entry.EventSeq == nil ||
			entry.LastAttemptAt == nil || entry.DeliveredAt == nil || entry.CreatedAt.IsZero() {
			t.Fatalf("entry %+v: want a first-attempt success with its event and times", entry)
		}
		if err := f.store.RedeliverWebhook(ctx, f.admin, w.ID, entry.ID); err != nil {
			t.Fatalf("redeliver %s: %v", entry.ID, err)
		}
		drainAll(t, d)
		if n := rec.received(entry.MessageID); n != 2 {
			t.Errorf("message %s received %d times after Redeliver, want 2", entry.MessageID, n)
		}

		all = walkLog(t, f, w.ID)
		if len(all) != n+1 || all[0].MessageID != entry.MessageID || all[0].State != "delivered" || all[0].ID == entry.ID {
			t.Fatalf("log head %+v: want the redelivery first, %d deliveries", all[0], n+1)
		}
		// The retried failure is listed once, delivered at its second
		// attempt; every message once (the redelivery aside).
		seen := map[string]int{}
		retried := 0
		for _, it := range all {
			seen[it.MessageID]++
			if it.Attempts == 2 && it.State == "delivered" {
				retried++
			}
		}
		if retried != 1 || len(seen) != n || seen[entry.MessageID] != 2 {
			t.Errorf("%d retried, %d messages (%d of the redelivered): want 1, %d, 2", retried, len(seen), seen[entry.MessageID], n)
		}

		// Ids that name no delivery of this endpoint.
		rowID, _, _ := strings.Cut(entry.ID, ".")
		for _, bad := range []string{
			rowID,                        // the batch row itself
			rowID + ".999999",            // an event it does not hold
			rowID + ".x",                 // not a number
			"whb_nothing00000." + "1",    // no such row
			entry.MessageID + "_" + w.ID, // the id its job had
		} {
			if err := f.store.RedeliverWebhook(ctx, f.admin, w.ID, bad); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("redeliver %q: %v, want not found", bad, err)
			}
		}
		if err := f.store.RedeliverWebhook(ctx, f.admin, other.ID, entry.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("redeliver another endpoint's entry: %v, want not found", err)
		}
		if err := f.store.RedeliverWebhook(ctx, f.bob, w.ID, entry.ID); err == nil {
			t.Error("bob redelivered")
		}
	})
}

// walkLog reads an endpoint's whole delivery log page by page and checks
// its order: newest row first, a batch row's entries newest event first,
// every page at least 50 deliveries but the last, ending with a whole row.
func walkLog(t *testing.T, f *sessionFixture, endpointID string) []models.WebhookDelivery {
	t.Helper()
	var all []models.WebhookDelivery
	ids := map[string]bool{}
	for before := int64(0); ; {
		page, err := f.store.ListWebhookDeliveries(context.Background(), f.admin, endpointID, before)
		if err != nil {
			t.Fatal(err)
		}
		if page.Next > 0 && len(page.Items) < 50 {
			t.Errorf("a page of %d deliveries before the last", len(page.Items))
		}
		for i, it := range page.Items {
			if ids[it.ID] {
				t.Errorf("delivery %s listed twice", it.ID)
			}
			ids[it.ID] = true
			if i > 0 {
				prev := page.Items[i-1]
				if it.Seq > prev.Seq || it.Seq == prev.Seq && *it.EventSeq >= *prev.EventSeq {
					t.Errorf("%s listed after %s", it.ID, prev.ID)
				}
			}
		}
		all = append(all, page.Items...)
		if page.Next == 0 {
			return all
		}
		if last := page.Items[len(page.Items)-1]; page.Next != last.Seq {
			t.Fatalf("page ends at row %d, next page below %d: a row split across pages", last.Seq, page.Next)
		}
		before = page.Next
	}
}

// drainAll runs the deliverer until a pass sends nothing.
func drainAll(t *testing.T, d *webhook.Deliverer) {
	t.Helper()
	for range 1000 {
		n, err := d.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the deliverer never ran out of deliveries")
}
