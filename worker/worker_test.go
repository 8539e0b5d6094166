package worker_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/tunnel"
	"gatehouse/worker"
	"gatehouse/worker/workertest"
)

// env is a worker behind a real HTTP server, an echo service and a fake store.
type env struct {
	w      *worker.Worker
	srv    *httptest.Server
	fake   *workertest.Sessions
	echo   string // echo service address
	cancel context.CancelFunc
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the worker's configuration changed by configure.
func newEnvWith(t *testing.T, configure func(*worker.Config)) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echoDone := make(chan error, 1)
	go func() { echoDone <- worker.ServeEcho(ctx, ln) }()
	fake := workertest.New()
	cfg := worker.Config{Sessions: fake, Logger: slog.New(slog.DiscardHandler), FlushInterval: 50 * time.Millisecond}
	if configure != nil {
		configure(&cfg)
	}
	w := worker.New(cfg)
	runDone := make(chan error, 1)
	go func() { runDone <- w.Run(ctx) }()
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-runDone; err != nil {
			t.Errorf("worker Run: %v", err)
		}
		if err := <-echoDone; err != nil {
			t.Errorf("ServeEcho: %v", err)
		}
	})
	return &env{w: w, srv: srv, fake: fake, echo: ln.Addr().String(), cancel: cancel}
}

func (e *env) session(id string, limit int, ttl time.Duration) *workertest.Session {
	return e.fake.Add(workertest.Session{ID: id, Token: "tok-" + id, Endpoint: e.echo, Expires: time.Now().Add(ttl), Limit: limit})
}

// relayed opens a tunnel (open) with first, reads first's echo back (the
// relay is up) and returns the tunnel, closed when the test ends.
func relayed(t testing.TB, addr, token string, first []byte) net.Conn {
	t.Helper()
	c, br, err := open(t, addr, token, first)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.ReadFull(br, make([]byte, len(first))); err != nil {
		t.Fatal(err)
	}
	return c
}

// open sends a tunnel request followed at once, in the same write, by first
// (the first-byte trap), and returns the tunnel after the 101.
func open(t testing.TB, addr, token string, first []byte) (net.Conn, *bufio.Reader, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second)) // a lost byte fails, never hangs
	req := "POST " + tunnel.Path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
		"\r\nConnection: Upgrade\r\nUpgrade: " + tunnel.Protocol + "\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write(append([]byte(req), first...)); err != nil {
		c.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		var r tunnel.Refusal
		_ = json.NewDecoder(resp.Body).Decode(&r)
		c.Close()
		return nil, nil, fmt.Errorf("%d %s: %s", resp.StatusCode, r.Code, r.Message)
	}
	return c, br, nil
}

func TestFirstBytesUnderParallelLoad(t *testing.T) {
	e := newEnv(t)
	e.session("s_a", -1, time.Hour)
	addr := e.srv.Listener.Addr().String()
	const n = 500
	var wg sync.WaitGroup
	var lost atomic.Int64
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			first := []byte{byte(i), byte(i >> 8), 'x'}
			c, br, err := open(t, addr, "tok-s_a", first)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			got := make([]byte, 3)
			if _, err := io.ReadFull(br, got); err != nil {
				errs <- fmt.Errorf("conn %d: %v", i, err)
				return
			}
			if string(got) != string(first) {
				lost.Add(1)
				errs <- fmt.Errorf("conn %d: echoed %q, sent %q", i, got, first)
			}
			c.(*net.TCPConn).CloseWrite()
			if rest, _ := io.ReadAll(br); len(rest) != 0 {
				errs <- fmt.Errorf("conn %d: extra bytes %q", i, rest)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := e.fake.WaitClosed(n, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, c := range e.fake.Connections("s_a") {
		if !c.Connected || c.Reason != worker.ReasonClosedByEndUser || c.Up != 3 || c.Down != 3 {
			t.Errorf("connection %s: connected=%v reason=%q up=%d down=%d; want true, %q, 3, 3",
				c.ID, c.Connected, c.Reason, c.Up, c.Down, worker.ReasonClosedByEndUser)
		}
		if !c.Client.Addr.Addr().IsLoopback() || c.Client.UserIP != c.Client.Addr.Addr() {
			t.Errorf("connection %s: client %v", c.ID, c.Client)
		}
	}
	t.Logf("lost first bytes: %d of %d", lost.Load(), n)
}

func TestCancelCutsEveryLiveConnectionOfTheSession(t *testing.T) {
	e := newEnv(t)
	e.session("s_a", -1, time.Hour)
	e.session("s_b", -1, time.Hour)
	addr := e.srv.Listener.Addr().String()
	type tc struct {
		c  net.Conn
		br *bufio.Reader
	}
	var a, b []tc
	for i := range 25 {
		sess := "s_a"
		if i >= 20 {
			sess = "s_b"
		}
		c, br, err := open(t, addr, "tok-"+sess, []byte("hi"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.ReadFull(br, make([]byte, 2)); err != nil {
			t.Fatal(err)
		}
		if sess == "s_a" {
			a = append(a, tc{c, br})
		} else {
			b = append(b, tc{c, br})
		}
	}
	if got := e.w.LiveConnections("s_a"); got != 20 {
		t.Fatalf("live connections of s_a = %d, want 20", got)
	}
	start := time.Now()
	delays := make(chan time.Duration, len(a))
	for _, x := range a {
		go func() {
			_, err := x.br.ReadByte() // blocks until the worker cuts
			if err != io.EOF && !errors.Is(err, net.ErrClosed) && !strings.Contains(fmt.Sprint(err), "reset") {
				t.Errorf("read after cancel: %v", err)
			}
			delays <- time.Since(start)
		}()
	}
	if n := e.w.Cancel("s_a", worker.ReasonCanceled); n != 20 {
		t.Errorf("Cancel cut %d connections, want 20", n)
	}
	var worst time.Duration
	for range a {
		d := <-delays
		worst = max(worst, d)
	}
	t.Logf("Cancel: all 20 clients saw the close within %v", worst)
	if err := e.fake.WaitClosed(20, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, c := range e.fake.Connections("s_a") {
		if c.Reason != worker.ReasonCanceled || c.Up != 2 || c.Down != 2 {
			t.Errorf("%s: reason %q up %d down %d, want canceled 2 2", c.ID, c.Reason, c.Up, c.Down)
		}
	}
	// The other session is untouched.
	for _, x := range b {
		x.c.Write([]byte("ok"))
		got := make([]byte, 2)
		if _, err := io.ReadFull(x.br, got); err != nil || string(got) != "ok" {
			t.Errorf("session b after cancel of a: %q %v", got, err)
		}
	}
	// A connection admitted just after the cancel (store not yet updated) is cut too.
	if _, _, err := open(t, addr, "tok-s_a", nil); err == nil || !strings.Contains(err.Error(), tunnel.CodeSessionEnded) {
		t.Errorf("tunnel right after Cancel: %v, want %s", err, tunnel.CodeSessionEnded)
	}
}

func TestExpiryDeadlineCutsWithTimedOut(t *testing.T) {
	e := newEnv(t)
	e.session("s_a", -1, 300*time.Millisecond)
	c, br, err := open(t, e.srv.Listener.Addr().String(), "tok-s_a", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	rest, _ := io.ReadAll(br) // echo "x", then the cut at expiry
	if string(rest) != "x" {
		t.Errorf("read %q, want x", rest)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cut after %v, want about 300ms", d)
	}
	if err := e.fake.WaitClosed(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := e.fake.Connections("s_a")[0]; got.Reason != worker.ReasonTimedOut || got.Up != 1 || got.Down != 1 {
		t.Errorf("recorded %+v, want timed out, 1 up, 1 down", got)
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t)
	e.session("s_ok", 1, time.Hour)
	e.session("s_ended", -1, time.Hour).Ended = true
	e.fake.End("tok-s_ended")
	e.session("s_expired", -1, -time.Second)
	e.session("s_limit", 0, time.Hour)
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	e.fake.Add(workertest.Session{ID: "s_dead", Token: "tok-s_dead", Endpoint: deadAddr, Expires: time.Now().Add(time.Hour), Limit: -1})
	addr := e.srv.Listener.Addr().String()
	for _, tt := range []struct{ token, want, msg string }{
		{"nope", "401 bad_token", "does not know this session token"},
		{"tok-s_ended", "410 session_ended", "session has ended"},
		{"tok-s_expired", "410 expired", "session has expired"},
		{"tok-s_limit", "403 limit_reached", "connection limit is reached"},
		{"tok-s_dead", "502 host_refused", "could not connect to the host " + deadAddr},
	} {
		_, _, err := open(t, addr, tt.token, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("token %s: %v; want %q with %q", tt.token, err, tt.want, tt.msg)
		}
	}
	// A refused dial is recorded closed with "network error", never connected.
	got := e.fake.Connections("s_dead")
	if len(got) != 1 || got[0].Connected || !got[0].Closed || got[0].Reason != worker.ReasonNetworkError {
		t.Errorf("refused dial recorded %+v, want one closed %q not connected", got, worker.ReasonNetworkError)
	}
	// Not an upgrade.
	resp, err := http.Post(e.srv.URL+tunnel.Path, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("plain POST: %d, want 426", resp.StatusCode)
	}
	// A store failure is a system error without its text.
	e.fake.Err = errors.New("database on fire")
	if _, _, err := open(t, addr, "tok-s_ok", nil); err == nil || !strings.Contains(err.Error(), "500 system_error") || strings.Contains(err.Error(), "fire") {
		t.Errorf("store failure: %v", err)
	}
}

func TestAdmissionIsNotSerialized(t *testing.T) {
	e := newEnv(t)
	e.session("s_a", -1, time.Hour)
	const n = 16
	var inflight, peak atomic.Int64
	all := make(chan struct{})
	var once sync.Once
	e.fake.AdmitHook = func() {
		cur := inflight.Add(1)
		for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
		}
		if cur == n {
			once.Do(func() { close(all) })
		}
		select { // every admission waits until all n are inside at once
		case <-all:
		case <-time.After(5 * time.Second):
		}
		inflight.Add(-1)
	}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c, _, err := open(t, e.srv.Listener.Addr().String(), "tok-s_a", nil)
			if err != nil {
				t.Error(err)
				return
			}
			c.Close()
		})
	}
	wg.Wait()
	if peak.Load() != n {
		t.Errorf("at most %d admissions ran at once, want %d", peak.Load(), n)
	}
}

// TestBytesAreFlushedInBatches: the running totals of many live connections
// go to the store in calls of at most CloseBatch connections, each
// connection once per flush, not a call per connection.
func TestBytesAreFlushedInBatches(t *testing.T) {
	e := newEnvWith(t, func(c *worker.Config) { c.CloseBatch = 3; c.FlushInterval = 300 * time.Millisecond })
	e.session("s_a", -1, time.Hour)
	const n = 7
	for range n {
		c, br, err := open(t, e.srv.Listener.Addr().String(), "tok-s_a", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(br, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		flushed := 0
		for _, c := range e.fake.Connections("s_a") {
			if c.Flushes > 0 && c.Up == 4 && c.Down == 4 {
				flushed++
			}
		}
		if flushed == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d connections flushed", flushed, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	calls, total := e.fake.BytesBatches(), 0
	for _, size := range calls {
		if size > 3 {
			t.Errorf("a flush call of %d connections, more than CloseBatch (3)", size)
		}
		total += size
	}
	// Each connection moved its bytes once: one record each, and not one
	// call per connection.
	if total != n || len(calls) == n {
		t.Errorf("flush calls %v: want the %d connections once each, in calls of up to 3", calls, n)
	}
}

func TestBytesAreFlushedWhileLiveAndReconcileCuts(t *testing.T) {
	e := newEnv(t)
	e.session("s_a", -1, time.Hour)
	c, br, err := open(t, e.srv.Listener.Addr().String(), "tok-s_a", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := strings.Repeat("z", 100000)
	go c.Write([]byte(msg))
	if _, err := io.ReadFull(br, make([]byte, len(msg))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := e.fake.Connections("s_a")[0]
		if got.Flushes > 0 && got.Up == int64(len(msg)) && got.Down == int64(len(msg)) && !got.Closed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no flush of the running totals: %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var asked []string
	n, err := e.w.Reconcile(context.Background(), func(ctx context.Context, ids []string) (map[string]string, error) {
		asked = ids
		return map[string]string{"s_a": worker.ReasonTimedOut}, nil
	})
	if err != nil || n != 1 || len(asked) != 1 || asked[0] != "s_a" {
		t.Fatalf("Reconcile = %d, %v (asked %v); want 1 cut of s_a", n, err, asked)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Error("connection still open after Reconcile")
	}
	if err := e.fake.WaitClosed(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := e.fake.Connections("s_a")[0]; got.Reason != worker.ReasonTimedOut {
		t.Errorf("reason %q, want timed out", got.Reason)
	}
}

func TestParseNotification(t *testing.T) {
	id, reason, ok := worker.ParseNotification("s_123 timed out")
	if id != "s_123" || reason != "timed out" || !ok {
		t.Errorf("got %q %q %v", id, reason, ok)
	}
	if _, _, ok := worker.ParseNotification(" "); ok {
		t.Error("empty payload parsed")
	}
}

func TestShutdownCutsEverythingAndRefusesNewTunnels(t *testing.T) {
	e := newEnv(t)
	e.session("s_a", -1, time.Hour)
	addr := e.srv.Listener.Addr().String()
	c, br, err := open(t, addr, "tok-s_a", []byte("y"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.ReadFull(br, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.w.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Error("connection open after Shutdown")
	}
	if got := e.fake.Connections("s_a")[0]; !got.Closed || got.Reason != worker.ReasonSystemError {
		t.Errorf("recorded %+v, want closed with %q", got, worker.ReasonSystemError)
	}
	if _, _, err := open(t, addr, "tok-s_a", nil); err == nil || !strings.Contains(err.Error(), "503 "+tunnel.CodeUnavailable) {
		t.Errorf("tunnel after Shutdown: %v", err)
	}
	if got := e.fake.Connections("s_a"); len(got) != 2 || !got[0].Closed || !got[1].Closed {
		t.Errorf("every admitted connection must be recorded closed: %+v", got)
	}
}

// TestShutdownWaitsForTheCloseRecords: a connection cut by Shutdown while
// its connect is still being recorded (the store slow) leaves the live
// registry at once, but its close is recorded only after the connect:
// Shutdown returns once that close is recorded, not before.
func TestShutdownWaitsForTheCloseRecords(t *testing.T) {
	e := newEnv(t)
	e.session("s_a", -1, time.Hour)
	connecting, release := make(chan struct{}, 1), make(chan struct{})
	e.fake.ConnectedHook = func() { connecting <- struct{}{}; <-release }
	relayed(t, e.srv.Listener.Addr().String(), "tok-s_a", []byte("y"))
	<-connecting
	go func() {
		time.Sleep(200 * time.Millisecond)
		close(release)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.w.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.fake.Connections("s_a")[0]; !got.Connected || !got.Closed || got.Reason != worker.ReasonSystemError {
		t.Errorf("when Shutdown returned: %+v, want connected and closed with %q", got, worker.ReasonSystemError)
	}
}

// TestBadTokenThrottle: an address that presented BadTokenBurst unknown
// tokens gets 429 with Retry-After, on tunnels and info alike, without a
// store lookup (even with a good token) until one refill period passes.
func TestBadTokenThrottle(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go worker.ServeEcho(ctx, ln)
	fake := workertest.New()
	fake.Add(workertest.Session{ID: "s_good", Token: "tok-good", Endpoint: ln.Addr().String(), Expires: time.Now().Add(time.Hour), Limit: -1})
	var lookups, throttled atomic.Int64
	fake.AdmitHook = func() { lookups.Add(1) }
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC).UnixNano())
	w := worker.New(worker.Config{Sessions: fake, Logger: slog.New(slog.DiscardHandler),
		BadTokenBurst: 3, BadTokenRefill: 10 * time.Second,
		Now:        func() time.Time { return time.Unix(0, clock.Load()).UTC() },
		OnThrottle: func() { throttled.Add(1) }})
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	for i := 0; i < 3; i++ {
		if _, _, err := open(t, addr, fmt.Sprintf("guess-%d", i), nil); err == nil || !strings.Contains(err.Error(), "401 "+tunnel.CodeBadToken) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	before := lookups.Load()
	_, _, err = open(t, addr, "tok-good", nil)
	if err == nil || !strings.Contains(err.Error(), "429 "+tunnel.CodeRateLimited) || !strings.Contains(err.Error(), "try again in 10 s") {
		t.Fatalf("after the burst, a good token: %v", err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+tunnel.InfoPath, nil)
	req.Header.Set("Authorization", "Bearer tok-good")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "10" {
		t.Errorf("info after the burst: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if n := lookups.Load() - before; n != 0 {
		t.Errorf("%d store lookups while throttled", n)
	}
	if n := throttled.Load(); n != 2 {
		t.Errorf("OnThrottle called %d times, want 2", n)
	}

	clock.Add(int64(10 * time.Second)) // one attempt comes back
	c, br, err := open(t, addr, "tok-good", []byte("hi"))
	if err != nil {
		t.Fatalf("after one refill: %v", err)
	}
	defer c.Close()
	buf := make([]byte, 2)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "hi" {
		t.Fatalf("echo %q %v", buf, err)
	}
	// A good token spends nothing: the address is not throttled again.
	if _, _, err := open(t, addr, "guess-again", nil); err == nil || !strings.Contains(err.Error(), "401 "+tunnel.CodeBadToken) {
		t.Fatalf("the refilled attempt: %v", err)
	}
	if _, _, err := open(t, addr, "tok-good", nil); err == nil || !strings.Contains(err.Error(), "429 ") {
		t.Fatalf("spent again: %v", err)
	}
}

// TestCloseEndpoint: DELETE /v1/proxy/session closes the token's session as
// closed by its end user (idempotent) and refuses unknown, ended and
// expired sessions with the usual refusals.
func TestCloseEndpoint(t *testing.T) {
	e := newEnv(t)
	e.session("s_ok", -1, time.Hour)
	e.session("s_ended", -1, time.Hour)
	e.fake.End("tok-s_ended")
	e.session("s_expired", -1, -time.Second)
	del := func(token string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+tunnel.InfoPath, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	for range 2 {
		status, body := del("tok-s_ok")
		var c tunnel.Closed
		if err := json.Unmarshal(body, &c); status != http.StatusOK || err != nil ||
			c != (tunnel.Closed{SessionID: "s_ok", State: "terminated", Reason: "closed by end-user"}) {
			t.Fatalf("close: %d %s", status, body)
		}
	}
	if s := e.fake.Session("tok-s_ok"); !s.ClosedByEndUser || s.CloseCalls != 2 {
		t.Fatalf("fake session %+v", s)
	}
	for _, tt := range []struct {
		token  string
		status int
		code   string
	}{
		{"", http.StatusUnauthorized, tunnel.CodeBadToken},
		{"nope", http.StatusUnauthorized, tunnel.CodeBadToken},
		{"tok-s_ended", http.StatusGone, tunnel.CodeSessionEnded},
		{"tok-s_expired", http.StatusGone, tunnel.CodeExpired},
	} {
		status, body := del(tt.token)
		var r tunnel.Refusal
		if err := json.Unmarshal(body, &r); status != tt.status || err != nil || r.Code != tt.code || r.Message == "" {
			t.Errorf("token %q: %d %s, want %d %s", tt.token, status, body, tt.status, tt.code)
		}
	}
}

// TestConnectionEndRecordedWhenTheStoreComesBack: a connection cut while
// the store cannot record its end (the database out of reach) is recorded,
// with its reason and bytes, at a later flush once the store answers again.
func TestConnectionEndRecordedWhenTheStoreComesBack(t *testing.T) {
	e := newEnv(t)
	e.session("s_a", -1, time.Hour)
	relayed(t, e.srv.Listener.Addr().String(), "tok-s_a", []byte("hello"))
	e.fake.SetCloseErr(errors.New("database out of reach"))
	if n := e.w.CutAll(worker.ReasonSystemError); n != 1 {
		t.Fatalf("CutAll cut %d connections, want 1", n)
	}
	if err := e.fake.WaitClosed(1, 300*time.Millisecond); err == nil {
		t.Fatal("recorded while the store fails")
	}
	e.fake.SetCloseErr(nil)
	if err := e.fake.WaitClosed(1, 5*time.Second); err != nil {
		t.Fatalf("not recorded once the store answers: %v", err)
	}
	conns := e.fake.Connections("s_a")
	if len(conns) != 1 || !conns[0].Closed || conns[0].Reason != worker.ReasonSystemError || conns[0].Up != 5 || conns[0].Down != 5 {
		t.Fatalf("recorded: %+v", conns)
	}
}

// TestCloseAtTheExpirationIsTimedOut: a client that closes its side as the
// session expires (as `gatehouse connect` does at the expiration, perhaps
// a hair before this worker's deadline) is recorded timed out, not closed
// by end-user; long before the expiration a clean close stays the user's.
func TestCloseAtTheExpirationIsTimedOut(t *testing.T) {
	e := newEnv(t)
	e.session("s_soon", -1, 400*time.Millisecond)
	e.session("s_later", -1, time.Hour)
	addr := e.srv.Listener.Addr().String()
	for _, s := range []string{"s_soon", "s_later"} {
		c, br, err := open(t, addr, "tok-"+s, []byte("hi"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(br, make([]byte, 2)); err != nil {
			t.Fatal(err)
		}
		c.Close() // clean close by the client
	}
	if err := e.fake.WaitClosed(2, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]string{"s_soon": worker.ReasonTimedOut, "s_later": worker.ReasonClosedByEndUser} {
		if conns := e.fake.Connections(s); len(conns) != 1 || conns[0].Reason != want {
			t.Errorf("%s: %+v, want reason %q", s, conns, want)
		}
	}
}

// TestMassCloseIsRecordedInBatches: when hundreds of connections end at
// once, their ends are recorded in a few ConnectionsClosed calls (the ends
// that arrive while one batch is recorded make the next), not one call
// each queued on the session (issue 11, finding 10).
func TestMassCloseIsRecordedInBatches(t *testing.T) {
	e := newEnv(t)
	e.session("s_m", -1, time.Hour)
	addr := e.srv.Listener.Addr().String()
	const n = 300
	for range n {
		c, _, err := open(t, addr, "tok-s_m", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	gate := make(chan struct{})
	var once sync.Once
	e.fake.CloseHook = func() { once.Do(func() { <-gate }) } // the first batch waits for the rest to queue
	if got := e.w.Cancel("s_m", worker.ReasonCanceled); got != n {
		t.Fatalf("Cancel cut %d, want %d", got, n)
	}
	for e.w.LiveConnections("s_m") > 0 {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let the last relays queue their ends
	close(gate)
	if err := e.fake.WaitClosed(n, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	batches := e.fake.CloseBatches()
	total := 0
	for _, b := range batches {
		total += b
		if b > 500 {
			t.Errorf("a batch of %d ends, want at most 500", b)
		}
	}
	if total != n || len(batches) > 5 {
		t.Errorf("%d ends recorded in %d calls %v, want %d in a few", total, len(batches), batches, n)
	}
	for _, c := range e.fake.Connections("s_m") {
		if !c.Closed || c.Reason != worker.ReasonCanceled {
			t.Errorf("%s: closed %v reason %q", c.ID, c.Closed, c.Reason)
		}
	}
}

// TestEndsWithinTheLingerAreRecordedTogether: connections that end one
// after the other within Config.CloseLinger are recorded in one call, each
// with the time it ended; with no linger each is recorded on its own.
func TestEndsWithinTheLingerAreRecordedTogether(t *testing.T) {
	for _, tc := range []struct {
		linger  time.Duration
		batches int
	}{{200 * time.Millisecond, 1}, {-1, 2}} {
		t.Run(fmt.Sprint(tc.linger), func(t *testing.T) {
			e := newEnvWith(t, func(c *worker.Config) { c.CloseLinger = tc.linger })
			e.session("s_l", -1, time.Hour)
			addr := e.srv.Listener.Addr().String()
			var conns []net.Conn
			for range 2 {
				conns = append(conns, relayed(t, addr, "tok-s_l", []byte("x")))
			}
			before := time.Now()
			conns[0].Close()
			time.Sleep(50 * time.Millisecond)
			conns[1].Close()
			if err := e.fake.WaitClosed(2, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if got := e.fake.CloseBatches(); len(got) != tc.batches {
				t.Errorf("ends recorded in calls %v, want %d", got, tc.batches)
			}
			cs := e.fake.Connections("s_l")
			slices.SortFunc(cs, func(a, b workertest.Connection) int { return a.ClosedAt.Compare(b.ClosedAt) })
			if len(cs) != 2 || cs[0].ClosedAt.Before(before) || cs[1].ClosedAt.Sub(cs[0].ClosedAt) < 40*time.Millisecond {
				t.Errorf("ends at %v and %v, want each when it happened (the second 50 ms after the first, after %v)",
					cs[0].ClosedAt, cs[1].ClosedAt, before)
			}
		})
	}
}
