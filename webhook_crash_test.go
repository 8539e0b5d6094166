package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/models"
)

// TestWebhookSurvivesKill9: Gatehouse is killed (SIGKILL) after the
// session's start committed and while its webhook was being sent; the
// restarted instance delivers it, with the same webhook-id.
func TestWebhookSurvivesKill9(t *testing.T) {
	w := newProxyWorldEnv(t, models.Postgres, 0, map[string]string{
		"GATEHOUSE_WEBHOOK_ALLOW_PRIVATE": "true", "GATEHOUSE_WEBHOOK_TIMEOUT": "2s"})
	var (
		mu       sync.Mutex
		attempts []string // webhook-id of each request, in order
		hang     = make(chan struct{})
		arrived  = make(chan struct{}, 1)
	)
	recv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		attempts = append(attempts, r.Header.Get("webhook-id"))
		first := len(attempts) == 1
		mu.Unlock()
		if first { // the first attempt never gets an answer: Gatehouse dies meanwhile
			arrived <- struct{}{}
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	defer close(hang)
	rootKey, _ := base64.StdEncoding.DecodeString(w.Env["GATEHOUSE_ROOT_KEY"])
	crypter, err := models.NewCrypter(rootKey)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := crypter.Encrypt([]byte(models.NewWebhookSecret()), "wh_crash")
	if err != nil {
		t.Fatal(err)
	}
	w.exec(t, `INSERT INTO webhook_endpoints (id, name, url, event_types, secret, created_at, updated_at)
		VALUES ('wh_crash', 'crash', ?, 'session.started', ?, now(), now())`, recv.URL, secret)

	child, u := startChildServe(t, w.Env)
	c := client(t)
	id, _ := startSession(t, c, &testApp{URL: u})
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the webhook was not sent")
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	var state string
	db, _, err := models.OpenDB(context.Background(), w.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	// The delivery was being sent straight from its event: the event is
	// claimed and not yet queued, and no delivery row is written.
	var ev struct {
		N              int
		Queued, Locked bool
		Rows           int
	}
	if err := db.Raw(`SELECT count(*) OVER () AS n, queued, locked_until IS NOT NULL AS locked,
		(SELECT count(*) FROM webhook_deliveries) AS rows FROM webhook_events`).Scan(&ev).Error; err != nil ||
		ev.N != 1 || ev.Queued || !ev.Locked || ev.Rows != 0 {
		t.Fatalf("after the kill: %+v (%v), want one claimed event, not queued, and no delivery row", ev, err)
	}

	// The restart: the dead instance's lease (its batch of 64, eight at a
	// time, at the 2 s timeout: 16 s, plus 10 s) must run out first.
	startChildServe(t, w.Env)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err := db.Raw("SELECT coalesce(max(state), '') FROM webhook_deliveries").Row().Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered after the restart (state %s)", state)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(attempts) != 2 || attempts[0] != attempts[1] || attempts[0] == "" {
		t.Errorf("attempts %v: want the same webhook-id twice", attempts)
	}
	// The delivery, delivered at its first attempt after the restart, is
	// an entry of a batch row naming its event.
	var got struct {
		Payload, Entries string
		Seq              int64
	}
	if err := db.Raw("SELECT e.payload, e.seq, d.entries FROM webhook_deliveries d, webhook_events e").Scan(&got).Error; err != nil ||
		!strings.Contains(got.Payload, id) || !strings.Contains(got.Entries, fmt.Sprintf(`"seq":%d,`, got.Seq)) {
		t.Errorf("delivery %s of event %d, payload %s: want the event of session %s (%v)", got.Entries, got.Seq, got.Payload, id, err)
	}
}
