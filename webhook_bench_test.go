package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
	"gatehouse/proccpu"
	"gatehouse/webhook"
)

// BenchmarkWebhookSessionStarts measures what webhooks cost session starts
// (issue 16): starts/s with 16 concurrent callers with three endpoints
// subscribed to everything against the same world with them disabled, in
// alternating rounds of 1,600 starts and once in bursts of 8,000, the CPU
// per start until the deliveries are sent, and the delivery lag from the
// event to the receiver:
//
//	go test -run '^$' -bench BenchmarkWebhookSessionStarts -benchtime 1x -timeout 30m .
func BenchmarkWebhookSessionStarts(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchWebhookStarts(b, d, false)
			}
		})
	}
}

// BenchmarkWebhookStartsReceiversApart is BenchmarkWebhookSessionStarts
// with the receivers in a process of their own (on the same cores: they
// still take CPU from the starts), so that the CPU per start is
// Gatehouse's alone (this process and Postgres's): where the receivers run
// on other machines, a start rate bound by Gatehouse's CPU falls by what
// the deliveries add to it, which it also prints.
//
//	go test -run '^$' -bench BenchmarkWebhookStartsReceiversApart -benchtime 1x -timeout 30m .
func BenchmarkWebhookStartsReceiversApart(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchWebhookStarts(b, d, true)
			}
		})
	}
}

func benchWebhookStarts(b *testing.B, d models.Dialect, apart bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	deliverer := &webhook.Deliverer{Client: webhook.NewClient(true, 10*time.Second), Timeout: 10 * time.Second}
	w := newBenchWorld(b, d, func(o *models.Options) { o.Webhooks.Wake, o.Webhooks.Handoff = deliverer.Wake, deliverer })
	deliverer.Store = w.store
	var running context.CancelFunc
	runDeliverer := func(on bool) {
		if running != nil {
			running()
			running = nil
		}
		if on {
			var dctx context.Context
			dctx, running = context.WithCancel(ctx)
			go func() { _ = deliverer.Run(dctx) }()
		}
	}
	runDeliverer(true)

	recv := newBenchReceiver(b, apart)
	admin := benchAdmin(b, w)
	for i := range 3 {
		if _, _, err := w.store.CreateWebhook(ctx, admin, models.WebhookInput{Name: fmt.Sprint("receiver ", i),
			URL: recv.url + fmt.Sprint("/", i), EventTypes: []string{"*"}}); err != nil {
			b.Fatal(err)
		}
	}
	setEnabled := func(on bool) {
		if err := w.store.DB().Exec("UPDATE webhook_endpoints SET enabled = ?", on).Error; err != nil {
			b.Fatal(err)
		}
	}
	drained := func() {
		for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
			var n int64
			w.store.DB().Raw(`SELECT (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending')
				+ (SELECT count(*) FROM webhook_events WHERE NOT queued)`).Scan(&n)
			if n == 0 {
				return
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d deliveries still pending", n)
			}
		}
	}
	start := func(i int) {
		req := httptest.NewRequest(http.MethodPost, "/targets/"+w.targets[i%len(w.targets)]+"/sessions", strings.NewReader(url.Values{}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range w.alice {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		w.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("start: %d %s", rec.Code, rec.Body.String())
		}
	}
	// The CPU a burst takes per start, until its deliveries are all sent:
	// this process (the starts, the deliverer and the receivers) plus the
	// Postgres server's processes. The difference between the cases is
	// what the deliveries cost.
	var burstCPU0 time.Duration
	var burstStarts int
	cpuNow := func() time.Duration {
		t := proccpu.Self()
		if d == models.Postgres {
			t += proccpu.Named("postgres")
		}
		return t
	}
	rate := func(each int) float64 {
		const callers = 16
		var wg sync.WaitGroup
		burstCPU0, burstStarts = cpuNow(), callers*each
		t0 := time.Now()
		for c := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					start(c*each + i)
				}
			}()
		}
		wg.Wait()
		return float64(callers*each) / time.Since(t0).Seconds()
	}
	setEnabled(false)
	for i := range 50 {
		start(i)
	}
	var without, with, queued []float64
	var cpuWithout, cpuWith []time.Duration
	burstCPU := func() time.Duration { return (cpuNow() - burstCPU0) / time.Duration(burstStarts) }
	var liveLags []time.Duration
	// The database grows by 1,600 sessions a round and starts slow down as
	// it does, so each of the three cases takes each place in the order
	// once (a Latin square): none is favoured by going first.
	cases := []func(){
		func() {
			setEnabled(false)
			without = append(without, rate(100))
			cpuWithout = append(cpuWithout, burstCPU())
		},
		func() {
			setEnabled(true)
			recv.takeLags()
			with = append(with, rate(100))
			drained()
			cpuWith = append(cpuWith, burstCPU())
			liveLags = append(liveLags, recv.takeLags()...)
		},
		func() {
			// The deliverer paused: what queuing alone costs a start, apart
			// from the delivery work competing for the CPU.
			setEnabled(true)
			runDeliverer(false)
			queued = append(queued, rate(100))
			runDeliverer(true)
			drained()
		},
	}
	for i := range 3 {
		for j := range cases {
			cases[(i+j)%len(cases)]()
		}
	}
	// The square's bursts last about 3 s and part of their deliveries are
	// sent after them: bursts five times as long show what deliveries cost
	// once most of them run beside the starts (without, with, without
	// again: the database grows meanwhile).
	var longLags []time.Duration
	longRates, longCPU := make([]float64, 3), make([]time.Duration, 3)
	for i := range longRates {
		setEnabled(i == 1)
		recv.takeLags()
		longRates[i] = rate(500)
		if i == 1 {
			drained()
			longLags = append(longLags, recv.takeLags()...)
		}
		longCPU[i] = burstCPU()
	}
	mid := func(v []float64) float64 { // median of three
		a, b2, c := v[0], v[1], v[2]
		return max(min(a, b2), min(max(a, b2), c))
	}
	midCPU := func(v []time.Duration) time.Duration {
		f := make([]float64, len(v))
		for i, x := range v {
			f[i] = float64(x)
		}
		return time.Duration(mid(f))
	}
	label := string(d)
	if apart {
		label += " (receivers in another process)"
	}
	w0, w1, wq := mid(without), mid(with), mid(queued)
	fmt.Printf("%s: session starts/s, 16 callers: without webhooks %.0f %v, with 3 endpoints %.0f %v (%.1f%%), queued only (deliverer paused) %.0f %v (%.1f%%); lag of the live rounds' %d deliveries p50 %.1f ms p99 %.1f ms\n",
		label, w0, round(without), w1, round(with), 100*(w1-w0)/w0, wq, round(queued), 100*(wq-w0)/w0, len(liveLags), ms(pct(liveLags, 50)), ms(pct(liveLags, 99)))
	c0, c1 := midCPU(cpuWithout), midCPU(cpuWith)
	fmt.Printf("%s: CPU per start (this process%s), median: without webhooks %.0f µs, with 3 endpoints %.0f µs until all are delivered (+%.0f µs, %.0f µs per delivery)\n",
		label, map[bool]string{true: " and Postgres"}[d == models.Postgres], us(c0), us(c1), us(c1-c0), us(c1-c0)/3)
	l0 := (longRates[0] + longRates[2]) / 2
	fmt.Printf("%s: long bursts (8,000 starts): without webhooks %.0f (%.0f, %.0f), with 3 endpoints %.0f (%.1f%%); lag of its %d deliveries p50 %.1f ms p99 %.1f ms\n",
		label, l0, longRates[0], longRates[2], longRates[1], 100*(longRates[1]-l0)/l0, len(longLags), ms(pct(longLags, 50)), ms(pct(longLags, 99)))
	lc0 := (longCPU[0] + longCPU[2]) / 2
	fmt.Printf("%s: long bursts, CPU per start: without webhooks %.0f µs, with 3 endpoints %.0f µs (+%.0f µs, %.0f µs per delivery)\n",
		label, us(lc0), us(longCPU[1]), us(longCPU[1]-lc0), us(longCPU[1]-lc0)/3)
	if apart {
		fmt.Printf("%s: a start rate bound by Gatehouse's CPU alone changes by %.1f%% (square) and %.1f%% (long bursts)\n",
			label, 100*(float64(c0)/float64(c1)-1), 100*(float64(lc0)/float64(longCPU[1])-1))
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func round(v []float64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x + 0.5)
	}
	return out
}

// benchAdmin is the bench world's administrator as an Actor.
func benchAdmin(b *testing.B, w *benchWorld) models.Actor {
	var methodID string
	if err := w.store.DB().Raw("SELECT id FROM auth_methods WHERE type = 'password' ORDER BY created_at LIMIT 1").Scan(&methodID).Error; err != nil {
		b.Fatal(err)
	}
	return dbtest.Login(b, w.store, methodID, "admin", "password")
}

// benchReceiver takes the deliveries of the benchmark's endpoints
// (url + "/0", "/1", …) and keeps the lag of each, from the event's
// timestamp to its arrival.
type benchReceiver struct {
	url      string
	takeLags func() []time.Duration // the lags since the last call
}

// childReceiverEnv makes the test binary a webhook receiver for
// BenchmarkWebhookStartsReceiversApart (TestMain): it prints
// "receiving on URL", takes deliveries and answers GET /lags with the lags
// since the last GET, in microseconds, one a line.
const childReceiverEnv = "GATEHOUSE_TEST_CHILD_RECEIVER"

// receiverHandler answers every delivery with 204 and passes its lag to
// record. The receivers share the machine with the starts: it reads only
// the payload's type and timestamp (the documented field order), not the
// whole JSON.
func receiverHandler(record func(time.Duration)) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		now := time.Now()
		if rest, ok := bytes.CutPrefix(body, []byte(`{"type":"session.`)); ok {
			if _, ts, ok := bytes.Cut(rest, []byte(`"timestamp":"`)); ok {
				if end := bytes.IndexByte(ts, '"'); end > 0 {
					if at, err := time.Parse(time.RFC3339Nano, string(ts[:end])); err == nil {
						record(now.Sub(at))
					}
				}
			}
		}
		rw.WriteHeader(http.StatusNoContent)
	}
}

// lagLog is a list of lags safe for concurrent use.
type lagLog struct {
	mu   sync.Mutex
	lags []time.Duration
}

func (l *lagLog) add(d time.Duration) { l.mu.Lock(); l.lags = append(l.lags, d); l.mu.Unlock() }

func (l *lagLog) take() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lags
	l.lags = nil
	return out
}

// newBenchReceiver starts a receiver in this process, or with apart in a
// child process of this test binary.
func newBenchReceiver(b *testing.B, apart bool) *benchReceiver {
	if !apart {
		var l lagLog
		srv := httptest.NewServer(receiverHandler(l.add))
		b.Cleanup(srv.Close)
		return &benchReceiver{url: srv.URL, takeLags: l.take}
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), childReceiverEnv+"=1")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; time.Sleep(10 * time.Millisecond) {
		if _, u, ok := strings.Cut(out.String(), "receiving on "); ok {
			base = strings.TrimSpace(u)
		} else if time.Now().After(deadline) {
			b.Fatalf("the receiver process did not start:\n%s", out)
		}
	}
	return &benchReceiver{url: base, takeLags: func() []time.Duration {
		resp, err := http.Get(base + "/lags")
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var lags []time.Duration
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			n, err := strconv.ParseInt(sc.Text(), 10, 64)
			if err != nil {
				b.Fatalf("receiver lags: %v", err)
			}
			lags = append(lags, time.Duration(n)*time.Microsecond)
		}
		return lags
	}}
}

// serveChildReceiver is the child receiver process (childReceiverEnv).
func serveChildReceiver() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var l lagLog
	mux := http.NewServeMux()
	mux.HandleFunc("GET /lags", func(rw http.ResponseWriter, r *http.Request) {
		for _, d := range l.take() {
			fmt.Fprintln(rw, d.Microseconds())
		}
	})
	mux.Handle("/", receiverHandler(l.add))
	fmt.Printf("receiving on http://%s\n", ln.Addr())
	return http.Serve(ln, mux)
}
