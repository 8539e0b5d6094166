package webhook_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/proccpu"
	"gatehouse/webhook"
)

// BenchmarkPost compares the CPU a delivery's request costs this process,
// receiver included, through the deliverer's Client and through net/http's
// Client set up as the deliverer used it before (Transport with kept
// connections): eight senders at once, a 1.5 KiB body, a 204 answer.
//
//	go test ./webhook/ -run '^$' -bench Post -benchtime 40000x -count 3
func BenchmarkPost(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	body := []byte(strings.Repeat("x", 1500))
	header := func() http.Header {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("User-Agent", "Gatehouse-Webhooks/1")
		h.Set("webhook-id", "msg_0S7kQ2bz4Ftq9XwL1mPc")
		h.Set("webhook-timestamp", "1764950400")
		h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
		return h
	}
	run := func(b *testing.B, post func() int) {
		const senders = 8
		each := (b.N + senders - 1) / senders
		cpu0 := proccpu.Self()
		var wg sync.WaitGroup
		for range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					if status := post(); status != http.StatusNoContent {
						b.Errorf("status %d", status)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64((proccpu.Self()-cpu0).Microseconds())/float64(senders*each), "cpu-µs/request")
	}
	b.Run("client", func(b *testing.B) {
		c := webhook.NewClient(true, 10*time.Second)
		run(b, func() int {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			status, _, err := c.Post(ctx, srv.URL+"/hook", header(), body, webhook.MaxResponseBytes)
			if err != nil {
				b.Error(err)
			}
			return status
		})
	})
	b.Run("net-http", func(b *testing.B) {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext, MaxIdleConnsPerHost: 16,
			IdleConnTimeout: 90 * time.Second, ForceAttemptHTTP2: true}}
		run(b, func() int {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/hook", bytes.NewReader(body))
			req.Header = header()
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return 0
			}
			_, _ = io.ReadAll(io.LimitReader(resp.Body, webhook.MaxResponseBytes))
			resp.Body.Close()
			return resp.StatusCode
		})
	})
}
