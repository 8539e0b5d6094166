package webhook_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"gatehouse/webhook"
)

// countingServer is an httptest server that counts the connections it
// accepted.
func countingServer(t *testing.T, tlsToo bool, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if tlsToo {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &conns
}

func post(t *testing.T, c *webhook.Client, url string, body string, max int) (int, string) {
	t.Helper()
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("webhook-id", "msg_1")
	status, answer, err := c.Post(context.Background(), url, h, []byte(body), max)
	if err != nil {
		t.Fatalf("post %s: %v", url, err)
	}
	return status, string(answer)
}

// TestClientKeepsConnections: one connection carries request after
// request, whatever the answer's framing (length, chunks, none); the
// request arrives whole; an answer longer than the cap or one that asks to
// close is not followed by a reuse of its connection.
func TestClientKeepsConnections(t *testing.T) {
	srv, conns := countingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Webhook-Id") != "msg_1" || r.Header.Get("Content-Type") != "application/json" ||
			r.ContentLength != int64(len(body)) {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/chunked":
			w.WriteHeader(http.StatusOK)
			for range 3 {
				_, _ = w.Write([]byte("part "))
				w.(http.Flusher).Flush()
			}
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = w.Write([]byte("bye"))
		case "/auth":
			user, pass, _ := r.BasicAuth()
			_, _ = io.WriteString(w, user+":"+pass)
		case "/long":
			_, _ = w.Write([]byte(strings.Repeat("y", 100)))
		case "/early":
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusAccepted)
		default:
			_, _ = w.Write(body)
		}
	})
	c := webhook.NewClient(true, 0)
	for i := range 20 {
		body := strings.Repeat("x", i*100)
		if status, answer := post(t, c, srv.URL+"/echo?n=1", body, 1<<20); status != 200 || answer != body {
			t.Fatalf("echo %d: status %d, %d bytes back", i, status, len(answer))
		}
		if status, answer := post(t, c, srv.URL+"/chunked", "{}", 1024); status != 200 || answer != "part part part " {
			t.Fatalf("chunked: status %d, %q", status, answer)
		}
		if status, answer := post(t, c, srv.URL+"/early", "{}", 1024); status != http.StatusAccepted || answer != "" {
			t.Fatalf("after an informational answer: status %d, %q", status, answer)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("60 requests took %d connections, want 1", n)
	}
	if status, answer := post(t, c, srv.URL+"/chunked", "{}", 1024); status != 200 || answer != "part part part " {
		t.Fatalf("chunked: status %d, %q", status, answer)
	}
	withUser := strings.Replace(srv.URL, "http://", "http://hook:s%40cret@", 1)
	if status, answer := post(t, c, withUser+"/auth", "{}", 1024); status != 200 || answer != "hook:s@cret" {
		t.Fatalf("the URL's user: status %d, %q", status, answer)
	}
	if status, answer := post(t, c, srv.URL+"/close", "{}", 1024); status != 200 || answer != "bye" {
		t.Fatalf("close: status %d, %q", status, answer)
	}
	post(t, c, srv.URL+"/echo", "{}", 1024)
	if n := conns.Load(); n != 2 {
		t.Errorf("after an answer with Connection: close, %d connections, want 2", n)
	}
	if status, answer := post(t, c, srv.URL+"/long", "{}", 10); status != 200 || answer != "yyyyyyyyyy" {
		t.Fatalf("capped: status %d, %q", status, answer)
	}
	post(t, c, srv.URL+"/echo", "{}", 1024)
	if n := conns.Load(); n != 3 {
		t.Errorf("after an answer longer than the cap, %d connections, want 3 (its rest is not read)", n)
	}
	c.CloseIdle()
	post(t, c, srv.URL+"/echo", "{}", 1024)
	if n := conns.Load(); n != 4 {
		t.Errorf("after CloseIdle, %d connections, want 4", n)
	}
}

// TestClientSendsAgainOnAClosedKeptConnection: a receiver that closes a
// kept connection without saying so (as at the end of its keep-alive
// timeout) makes the next request go on a new connection, once; a request
// that a new connection fails to get answered is a failure, not sent
// again.
func TestClientSendsAgainOnAClosedKeptConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var requests atomic.Int32
	answer := atomic.Bool{}
	answer.Store(true)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close() // after one request, unannounced
				req, err := http.ReadRequest(bufio.NewReader(nc))
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				requests.Add(1)
				if answer.Load() {
					_, _ = io.WriteString(nc, "HTTP/1.1 204 No Content\r\n\r\n")
				}
			}()
		}
	}()
	c := webhook.NewClient(true, 0)
	url := "http://" + ln.Addr().String() + "/"
	for i := range 3 {
		if status, _ := post(t, c, url, "{}", 1024); status != 204 {
			t.Fatalf("request %d: status %d", i, status)
		}
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("the receiver got %d requests, want 3 (none twice)", n)
	}
	answer.Store(false)
	if _, _, err := c.Post(context.Background(), url, http.Header{}, []byte("{}"), 1024); err == nil {
		t.Fatal("an unanswered request succeeded")
	}
	if n := requests.Load(); n != 4 {
		t.Errorf("the receiver got %d requests, want 4: the unanswered one once", n)
	}
}

// TestClientTLS: https endpoints are verified against the configured roots
// and their connections kept too.
func TestClientTLS(t *testing.T) {
	srv, conns := countingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || r.ProtoMajor != 1 {
			http.Error(w, "want HTTP/1.1 over TLS", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	if _, _, err := webhook.NewClient(true, 0).Post(context.Background(), srv.URL, http.Header{}, nil, 1024); err == nil {
		t.Fatal("an untrusted certificate was accepted")
	}
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c := webhook.NewClient(true, 0)
	c.TLS = &tls.Config{RootCAs: roots}
	for range 5 {
		if status, answer := post(t, c, srv.URL+"/hook", "{}", 1024); status != http.StatusNoContent {
			t.Fatalf("status %d: %s", status, answer)
		}
	}
	if n := conns.Load(); n != 2 { // the refused handshake, then one kept connection
		t.Errorf("%d connections, want 2", n)
	}
}
