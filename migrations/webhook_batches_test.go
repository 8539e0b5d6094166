package migrations_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gatehouse/dbtest"
)

// TestWebhookBatchRowsDown: undoing migration 00024 makes every entry of a
// batch row a delivery row again, with its event's time while the event is
// kept (the row's otherwise), so the delivery log loses nothing.
func TestWebhookBatchRowsDown(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			gdb, _, p := migratedTo(t, d, 24)
			eventAt := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			rowAt := eventAt.Add(time.Minute)
			exec := func(q string, args ...any) {
				t.Helper()
				if err := gdb.Exec(q, args...).Error; err != nil {
					t.Fatal(err)
				}
			}
			exec(`INSERT INTO webhook_endpoints (id, name, url, event_types, secret, created_at, updated_at)
				VALUES ('wh_1', 'Sink', 'https://sink.example.com', '*', 'x', ?, ?)`, eventAt, eventAt)
			exec(`INSERT INTO webhook_events (message_id, event_type, family, payload, created_at, queued)
				VALUES ('msg_a', 'session.started', 'session', '{}', ?, ?)`, eventAt, true)
			var seq int64 // the first entry's event; the second's was purged
			if err := gdb.Raw("SELECT seq FROM webhook_events").Row().Scan(&seq); err != nil {
				t.Fatal(err)
			}
			entries := fmt.Sprintf(`[{"seq":%d,"id":"msg_a","type":"session.started","at":"2026-12-01T10:00:00Z","status":204,"ms":3},`+
				`{"seq":%d,"id":"msg_b","type":"session.canceled","at":"2026-12-01T10:00:30Z","status":200,"ms":12,"response":"ok"}]`, seq, seq+1)
			exec(`INSERT INTO webhook_deliveries (id, message_id, endpoint_id, event_type, payload, state, attempts, created_at,
					next_attempt_at, last_attempt_at, delivered_at, entries)
				VALUES ('whb_1', '', 'wh_1', '', '', 'delivered', 1, ?, ?, ?, ?, ?)`, rowAt, eventAt, rowAt, rowAt, entries)
			if _, err := p.DownTo(ctx, 23); err != nil {
				t.Fatal(err)
			}
			var rows []struct {
				ID, MessageID, EventType, State, LastResponse string
				LastStatus, LastLatencyMs, Attempts           int
				EventSeq                                      int64
				CreatedAt, LastAttemptAt, DeliveredAt         time.Time
			}
			if err := gdb.Raw(`SELECT id, message_id, event_type, state, last_response, last_status, last_latency_ms, attempts,
				event_seq, created_at, last_attempt_at, delivered_at FROM webhook_deliveries ORDER BY seq`).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 {
				t.Fatalf("rows after down: %+v, want the two entries", rows)
			}
			a, b := rows[0], rows[1]
			if a.ID != "msg_a_wh_1" || a.MessageID != "msg_a" || a.EventType != "session.started" || a.State != "delivered" ||
				a.LastStatus != 204 || a.LastLatencyMs != 3 || a.LastResponse != "" || a.Attempts != 1 || a.EventSeq != seq ||
				!a.CreatedAt.Equal(eventAt) || !a.LastAttemptAt.Equal(rowAt) || !a.DeliveredAt.Equal(rowAt) {
				t.Errorf("first entry's row: %+v", a)
			}
			// Its event is gone: the row's time stands in for it.
			if b.ID != "msg_b_wh_1" || b.LastStatus != 200 || b.LastLatencyMs != 12 || b.LastResponse != "ok" || b.EventSeq != seq+1 ||
				!b.CreatedAt.Equal(rowAt) {
				t.Errorf("second entry's row: %+v", b)
			}
			if _, err := p.Up(ctx); err != nil {
				t.Fatalf("up again: %v", err)
			}
		})
	}
}
