package webhook_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

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
		resp, err := guarded.Post(target, "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: reached a loopback address", target)
			continue
		}
		if !errors.Is(err, webhook.ErrPrivateDestination) && !strings.Contains(err.Error(), "private") {
			t.Errorf("%s: %v, want the private-destination refusal", target, err)
		}
	}
	open := webhook.NewClient(true, 2*time.Second)
	resp, err := open.Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("allowed client: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Errorf("status %d", resp.StatusCode)
	}
	// Redirects are not followed (a public URL could point at a private one).
	redir := httptest.NewServer(http.RedirectHandler(srv.URL, http.StatusFound))
	defer redir.Close()
	resp, err = open.Get(redir.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("redirect followed: %d", resp.StatusCode)
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
