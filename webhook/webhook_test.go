package webhook_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/webhook"
)

// TestSignStandardWebhooksVector checks Sign against the example of the
// Standard Webhooks specification.
func TestSignStandardWebhooksVector(t *testing.T) {
	got, err := webhook.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
	if _, err := webhook.Sign("not-base64!", "m", 1, nil); err == nil {
		t.Error("a bad secret signed")
	}
}

// TestClientRefusesPrivateDestinations: the guard checks the address
// actually dialled, so a name resolving to loopback is refused as well as
// a literal address; --webhook-allow-private lets them through.
func TestClientRefusesPrivateDestinations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	_, port, _ := net.SplitHostPort(u.Host)
	guarded := webhook.NewClient(false, 2*time.Second)
	for _, target := range []string{srv.URL, "http://localhost:" + port + "/", "http://[::1]:" + port + "/"} {
		_, _, err := guarded.Post(context.Background(), target, http.Header{}, []byte("{}"), 1024)
		if err == nil {
			t.Errorf("%s: reached a loopback address", target)
			continue
		}
		if !errors.Is(err, webhook.ErrPrivateDestination) && !strings.Contains(err.Error(), "private") {
			t.Errorf("%s: %v, want the private-destination refusal", target, err)
		}
	}
	open := webhook.NewClient(true, 2*time.Second)
	status, _, err := open.Post(context.Background(), srv.URL, http.Header{}, []byte("{}"), 1024)
	if err != nil {
		t.Fatalf("allowed client: %v", err)
	}
	if status != 204 {
		t.Errorf("status %d", status)
	}
	// Redirects are not followed (a public URL could point at a private one).
	redir := httptest.NewServer(http.RedirectHandler(srv.URL, http.StatusFound))
	defer redir.Close()
	status, _, err = open.Post(context.Background(), redir.URL, http.Header{}, []byte("{}"), 1024)
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusFound {
		t.Errorf("redirect followed: %d", status)
	}
}

// TestForbiddenRanges lists the address classes the guard refuses.
func TestForbiddenRanges(t *testing.T) {
	for addr, refused := range map[string]bool{
		"127.0.0.1:80": true, "10.1.2.3:443": true, "172.16.0.1:443": true, "192.168.1.1:443": true,
		"169.254.169.254:80": true, "100.64.0.1:80": true, "0.0.0.0:80": true, "[::1]:80": true,
		"[fe80::1]:80": true, "[fd00::1]:80": true, "[::ffff:127.0.0.1]:80": true, "224.0.0.1:80": true,
		"93.184.215.14:443": false, "[2606:4700::6810:85e5]:443": false,
	} {
		err := webhook.CheckDial(addr)
		if (err != nil) != refused {
			t.Errorf("%s: refused=%v, want %v", addr, err != nil, refused)
		}
	}
}

// clockStore is the deliverer's Store for tests of Send alone, which only
// reads the time (the queue is tested with real databases in models).
type clockStore struct{ webhook.Store }

func (clockStore) Now() time.Time { return time.Now() }

func job(url string) *models.WebhookJob {
	return &models.WebhookJob{WebhookDelivery: models.WebhookDelivery{MessageID: "msg_test", Payload: `{"type":"session.started"}`},
		URL: url, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
}

// sendWithin runs d.Send and fails the test if it does not return within
// a generous bound.
func sendWithin(t *testing.T, d *webhook.Deliverer, j *models.WebhookJob) models.WebhookAttempt {
	t.Helper()
	done := make(chan models.WebhookAttempt, 1)
	go func() { done <- d.Send(context.Background(), j) }()
	select {
	case at := <-done:
		return at
	case <-time.After(5 * time.Second):
		t.Fatal("Send did not return within 5 s")
		return models.WebhookAttempt{}
	}
}

// TestSendTimeout: a receiver that never answers is a failed attempt
// after the timeout, both through the client's own timeout and through the
// deliverer's Timeout when the client has none (the lease relies on it).
func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	for name, client := range map[string]*webhook.Client{
		"client timeout":    webhook.NewClient(true, 300*time.Millisecond),
		"no client timeout": webhook.NewClient(true, 0),
	} {
		d := &webhook.Deliverer{Store: clockStore{}, Client: client, Timeout: 300 * time.Millisecond}
		at := sendWithin(t, d, job(srv.URL))
		if at.OK || at.Error == "" || at.Status != 0 {
			t.Errorf("%s: attempt %+v, want a failure without a status", name, at)
		}
	}
	d := &webhook.Deliverer{Timeout: 10 * time.Second, Batch: 64, Parallel: 8}
	if got, want := d.Lease(), 8*10*time.Second+webhook.LeaseMargin; got != want {
		t.Errorf("lease %s, want %s (eight rounds of the timeout, plus the margin)", got, want)
	}
}

// TestSendResponseCap: at most MaxResponseBytes of an answer is read, even
// of one that never ends.
func TestSendResponseCap(t *testing.T) {
	chunk := []byte(strings.Repeat("x", 4096))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		limit := 1 << 20 // 1 MiB, or without end
		if r.URL.Path == "/endless" {
			limit = -1
		}
		for n := 0; limit < 0 || n < limit; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return // the client hung up
			}
		}
	}))
	defer srv.Close()
	d := &webhook.Deliverer{Store: clockStore{}, Client: webhook.NewClient(true, 30*time.Second), Timeout: 30 * time.Second}
	for _, path := range []string{"/big", "/endless"} {
		at := sendWithin(t, d, job(srv.URL+path))
		if !at.OK || at.Status != 200 || len(at.Response) != webhook.MaxResponseBytes {
			t.Errorf("%s: OK=%v status %d, %d bytes read, want 200 and %d", path, at.OK, at.Status, len(at.Response), webhook.MaxResponseBytes)
		}
	}
}
