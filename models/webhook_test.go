package models_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/webhook"
)

// delivery is one request a test receiver accepted or refused.
type delivery struct {
	ID, Type, SessionID string
	OK                  bool
	Agent               string
	Body                string
}

// receiver is a webhook endpoint written from docs/webhooks.md alone: it
// verifies every signature with its own HMAC and every payload's shape
// against the documented example of its type.
type receiver struct {
	t      *testing.T
	secret string
	docs   map[string]any
	down   atomic.Bool
	mu     sync.Mutex
	got    []delivery
	srv    *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, docs: documentedPayloads(t)}
	r.srv = httptest.NewServer(r)
	t.Cleanup(r.srv.Close)
	return r
}

// documentedPayloads reads the JSON examples of docs/webhooks.md by type.
func documentedPayloads(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, m := range regexp.MustCompile("(?s)### `([a-z._*]+)`\\s*```json\\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		var v any
		if err := json.Unmarshal([]byte(m[2]), &v); err != nil {
			t.Fatalf("docs/webhooks.md example %s: %v", m[1], err)
		}
		out[m[1]] = v
	}
	if len(out) < 5 {
		t.Fatalf("docs/webhooks.md has %d examples", len(out))
	}
	return out
}

// example is the documented payload a type is checked against.
func (r *receiver) example(typ string) any {
	if v, ok := r.docs[typ]; ok {
		return v
	}
	switch {
	case strings.HasPrefix(typ, "session."):
		return r.docs["session.started"]
	case strings.HasPrefix(typ, "access."):
		return r.docs["access.approved"]
	case strings.HasPrefix(typ, "change."):
		return r.docs["change.role"]
	}
	return nil
}

// sameShape checks that got has exactly the documented fields, nested the
// same way (values of "before" and "after" are free-form).
func sameShape(doc, got any, path string) error {
	if doc == nil || got == nil || strings.HasSuffix(path, ".before") || strings.HasSuffix(path, ".after") {
		return nil
	}
	dm, dok := doc.(map[string]any)
	gm, gok := got.(map[string]any)
	if dok != gok {
		return fmt.Errorf("%s: documented %T, got %T", path, doc, got)
	}
	if !dok {
		if fmt.Sprintf("%T", doc) != fmt.Sprintf("%T", got) {
			return fmt.Errorf("%s: documented %T, got %T", path, doc, got)
		}
		return nil
	}
	for k := range dm {
		if _, ok := gm[k]; !ok {
			return fmt.Errorf("%s.%s: documented, missing", path, k)
		}
	}
	for k, v := range gm {
		d, ok := dm[k]
		if !ok {
			return fmt.Errorf("%s.%s: not documented", path, k)
		}
		if err := sameShape(d, v, path+"."+k); err != nil {
			return err
		}
	}
	return nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id, ts, sig := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature")
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if id == "" || ts == "" || !hmac.Equal([]byte(sig), []byte(want)) {
		r.t.Errorf("bad signature on %s: %q", id, sig)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var p struct {
		Type    string
		Version int
		Data    struct {
			SessionID string `json:"session_id"`
		}
	}
	var whole any
	if err := json.Unmarshal(body, &p); err != nil || json.Unmarshal(body, &whole) != nil || p.Version != 1 {
		r.t.Errorf("payload %s: %v %s", id, err, body)
	}
	if err := sameShape(r.example(p.Type), whole, p.Type); err != nil {
		r.t.Errorf("payload of %s differs from docs/webhooks.md: %v\n%s", p.Type, err, body)
	}
	d := delivery{ID: id, Type: p.Type, SessionID: p.Data.SessionID, OK: !r.down.Load(), Agent: req.UserAgent(), Body: string(body)}
	r.mu.Lock()
	r.got = append(r.got, d)
	r.mu.Unlock()
	if !d.OK {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// received counts the successful deliveries of a message (its webhook-id).
func (r *receiver) received(messageID string) int {
	n := 0
	for _, g := range r.deliveries() {
		if g.ID == messageID && g.OK {
			n++
		}
	}
	return n
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// hook registers the receiver as an endpoint for events.
func (r *receiver) hook(t *testing.T, f *sessionFixture, name string, events ...string) *models.Webhook {
	t.Helper()
	w, secret, err := f.store.CreateWebhook(context.Background(), f.admin, models.WebhookInput{Name: name, URL: r.srv.URL, EventTypes: events})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q", secret)
	}
	r.secret = secret
	return w
}

func newDeliverer(store *models.Store) *webhook.Deliverer {
	return &webhook.Deliverer{Store: store, Client: webhook.NewClient(true, 5*time.Second), Timeout: 5 * time.Second}
}

func drain(t *testing.T, d *webhook.Deliverer) {
	t.Helper()
	if _, err := d.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// sessionStory drives one session through every session event: started,
// first connection, connection closed, expiring soon, canceled, terminated.
func sessionStory(t *testing.T, f *sessionFixture) string {
	t.Helper()
	ctx := context.Background()
	st := f.start(t)
	adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: st.Token, ClientAddr: "192.0.2.1:5000", UserIP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.ConnectionConnected(ctx, adm.Connection.ID, "10.0.0.1:5432"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.ConnectionClosed(ctx, adm.Connection.ID, 10, 20, "closed by end-user"); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(50 * time.Minute) // the target's sessions last an hour; the lead is 15 min
	if _, err := f.store.QueueExpiringSessions(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CancelSession(ctx, f.admin, st.Session.ID); err != nil {
		t.Fatal(err)
	}
	return st.Session.ID
}

var storyTypes = []string{models.EventSessionStarted, models.EventSessionFirstConnection, models.EventSessionConnectionClosed,
	models.EventSessionExpiringSoon, models.EventSessionCanceled, models.EventSessionTerminated}

// TestWebhookDeliveriesSignedAndDocumented: every event type is delivered
// once, signed, with the documented payload; the Slack format and an
// access event too.
func TestWebhookDeliveriesSignedAndDocumented(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		rec := newReceiver(t)
		rec.hook(t, f, "Everything", "*")
		d := newDeliverer(f.store)
		sid := sessionStory(t, f)
		if _, err := f.store.QueueExpiringSessions(ctx); err != nil { // once per session and endpoint
			t.Fatal(err)
		}
		now := f.clock.Now()
		err := f.store.Transact(ctx, func(tx *models.Store) error {
			return tx.EmitAccessEvent(ctx, models.EventAccessApproved, models.AccessEventData{RequestID: "ar_1", State: "approved",
				Requester: models.Party{ID: f.alice.UserID, Name: "alice"}, Approver: &models.Party{ID: f.admin.UserID, Name: "admin"},
				Target: models.NamedRef{ID: f.target, Name: "postgres"}, StartsAt: &now, EndsAt: &now, RequestedAt: now})
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.CreateRole(ctx, f.admin, models.GlobalScopeID, models.RoleInput{Name: "Watchers"}); err != nil {
			t.Fatal(err)
		}
		drain(t, d)
		got := rec.deliveries()
		var sessionTypes []string
		seen := map[string]bool{}
		types := map[string]bool{}
		for _, g := range got {
			if seen[g.ID] {
				t.Errorf("%s delivered twice", g.ID)
			}
			seen[g.ID] = true
			types[g.Type] = true
			if g.SessionID == sid && strings.HasPrefix(g.Type, "session.") {
				sessionTypes = append(sessionTypes, g.Type)
			}
		}
		if !slices.Equal(sessionTypes, storyTypes) {
			t.Errorf("session events %v, want %v", sessionTypes, storyTypes)
		}
		for _, want := range []string{"change.role", "change.session", "change.webhook", "access.approved"} {
			if !types[want] {
				t.Errorf("no %s delivered (got %v)", want, types)
			}
		}
		// The delivery log shows them all delivered.
		var pending int64
		f.store.DB().Raw("SELECT count(*) FROM webhook_deliveries WHERE state <> 'delivered'").Scan(&pending)
		if pending != 0 {
			t.Errorf("%d deliveries not delivered", pending)
		}
		// Slack format: {"text": ...}, signed the same way.
		body := webhook.SlackBody(`{"type":"session.terminated","data":{"session_id":"s_1","termination_reason":"canceled","user":{"name":"alice"},"target":{"name":"postgres"}}}`)
		if !strings.Contains(string(body), `"text":"Gatehouse: session.terminated — alice on postgres (s_1), reason: canceled"`) {
			t.Errorf("slack body %s", body)
		}
	})
}

// TestWebhookReceiverDownThenInOrder: the receiver refuses everything for
// a minute; retries (same webhook-id) deliver everything once it is back,
// and each session's events arrive in order.
func TestWebhookReceiverDownThenInOrder(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		rec := newReceiver(t)
		rec.hook(t, f, "Sessions", "session.*")
		d := newDeliverer(f.store)
		rec.down.Store(true)
		var sids []string
		for range 3 {
			sids = append(sids, sessionStory(t, f))
		}
		for elapsed := time.Duration(0); elapsed < time.Minute; elapsed += 5 * time.Second {
			drain(t, d)
			f.clock.Add(5 * time.Second)
		}
		failed := rec.deliveries()
		if len(failed) < 6 {
			t.Fatalf("%d attempts while down", len(failed))
		}
		rec.down.Store(false)
		for range 40 {
			f.clock.Add(time.Minute)
			drain(t, d)
		}
		bySession := map[string][]string{}
		okIDs := map[string]int{}
		for _, g := range rec.deliveries() {
			if g.OK {
				okIDs[g.ID]++
				bySession[g.SessionID] = append(bySession[g.SessionID], g.Type)
			}
		}
		for _, sid := range sids {
			if !slices.Equal(bySession[sid], storyTypes) {
				t.Errorf("session %s: %v, want %v", sid, bySession[sid], storyTypes)
			}
		}
		for _, g := range failed {
			if okIDs[g.ID] != 1 {
				t.Errorf("refused %s (%s) delivered %d times after the receiver came back", g.ID, g.Type, okIDs[g.ID])
			}
		}
	})
}

// TestWebhookEndpointDisabledAfterDays: an endpoint failing for three
// days is disabled with a reason; nothing is sent to it any more.
func TestWebhookEndpointDisabledAfterDays(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		rec := newReceiver(t)
		w := rec.hook(t, f, "Flaky", "session.started")
		rec.down.Store(true)
		d := newDeliverer(f.store)
		for range 75 {
			f.start(t)
			drain(t, d)
			f.clock.Add(time.Hour)
		}
		got, err := f.store.GetWebhook(ctx, f.admin, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Enabled || !strings.Contains(got.DisabledReason, "Disabled automatically") {
			t.Fatalf("endpoint enabled=%v reason %q", got.Enabled, got.DisabledReason)
		}
		n := len(rec.deliveries())
		f.start(t)
		f.clock.Add(time.Hour)
		drain(t, d)
		if len(rec.deliveries()) != n {
			t.Error("a disabled endpoint still receives deliveries")
		}
		// Deliveries older than 24 h were given up.
		var failed int64
		f.store.DB().Raw("SELECT count(*) FROM webhook_deliveries WHERE state = 'failed'").Scan(&failed)
		if failed == 0 {
			t.Error("no delivery was given up after 24 h")
		}
		// Enabling it again clears the notice and resumes.
		rec.down.Store(false)
		in := models.WebhookInput{Name: got.Name, URL: got.URL, EventTypes: got.Events(), Enabled: true}
		if err := f.store.UpdateWebhook(ctx, f.admin, w.ID, got.Version, in); err != nil {
			t.Fatal(err)
		}
		drain(t, d)
		if len(rec.deliveries()) == n {
			t.Error("nothing delivered after enabling the endpoint again")
		}
		page, err := f.store.ListWebhookDeliveries(ctx, f.admin, w.ID, 0)
		if err != nil || len(page.Items) == 0 {
			t.Fatalf("delivery log: %v", err)
		}
		// Redeliver re-sends with the same webhook-id.
		var done models.WebhookDelivery
		for _, it := range page.Items {
			if it.State == "delivered" {
				done = it
				break
			}
		}
		if err := f.store.RedeliverWebhook(ctx, f.admin, w.ID, done.ID); err != nil {
			t.Fatal(err)
		}
		drain(t, d)
		if n := rec.received(done.MessageID); n != 2 {
			t.Errorf("message %s received %d times after Redeliver, want 2", done.MessageID, n)
		}
		if err := f.store.RedeliverWebhook(ctx, f.bob, w.ID, done.ID); err == nil {
			t.Error("bob redelivered")
		}
	})
}

// TestWebhookFormValidation: bad input gets a message per field.
func TestWebhookFormValidation(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		_, _, err := f.store.CreateWebhook(context.Background(), f.admin, models.WebhookInput{Name: "", URL: "ftp://x", EventTypes: []string{"nope"}, Format: "xml", ExpiringLead: 5000})
		fe := models.FieldErrors(err)
		for _, k := range []string{"name", "url", "event_types", "format", "expiring_lead"} {
			if fe[k] == "" {
				t.Errorf("no message for %s (%v)", k, err)
			}
		}
		if _, _, err := f.store.CreateWebhook(context.Background(), f.bob, models.WebhookInput{Name: "x", URL: "https://example.com", EventTypes: []string{"*"}}); err == nil {
			t.Error("bob created a webhook")
		}
		var n int64
		f.store.DB().Raw("SELECT count(*) FROM webhook_endpoints").Scan(&n)
		if n != 0 {
			t.Errorf("%d endpoints written by refused forms", n)
		}
	})
}
