package models

import (
	"encoding/json"
	"testing"
	"time"
)

// The envelope written around the marshaled data is what json.Marshal
// makes of WebhookPayload, byte for byte: receivers verify the signature
// over these bytes, and docs/webhooks.md documents their shape.
func TestPayloadEnvelopeMatchesMarshal(t *testing.T) {
	at := time.Date(2026, 12, 6, 1, 2, 3, 456789000, time.UTC)
	cases := []struct {
		typ  string
		at   time.Time
		data any
	}{
		{EventSessionStarted, at, SessionEventData{SessionID: "s_1", User: Party{Name: `Zoë "<admin>" & co`, Email: "z@example.com"},
			Target: NamedRef{ID: "t_1", Name: "db\u2028prod\n"}, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}},
		{"change.role", at.Truncate(time.Second), map[string]any{"action": "update", "after": nil}},
		{EventAccessRequested, at.In(time.FixedZone("CET", 3600)), AccessEventData{RequestID: "req_1", Reason: "ünïcode ✓"}},
		{"session.canceled", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), []int{}},
	}
	for _, c := range cases {
		data, err := json.Marshal(c.data)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(WebhookPayload{Type: c.typ, Version: WebhookPayloadVersion, Timestamp: c.at, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		got, err := payloadEnvelope(c.typ, c.at, data)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", c.typ, got, want)
		}
	}
	if _, err := payloadEnvelope("x", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), []byte("{}")); err == nil {
		t.Error("a timestamp json.Marshal refuses was written")
	}
}
