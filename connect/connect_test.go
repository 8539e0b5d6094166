package connect_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/connect"
	"gatehouse/worker"
	"gatehouse/worker/workertest"
)

// syncBuf is a goroutine-safe output buffer.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	w      *worker.Worker
	srv    *httptest.Server
	fake   *workertest.Sessions
	echo   string
	caFile string
}

// newEnv starts an echo service and a worker behind a real HTTP (or HTTPS) server.
func newEnv(t testing.TB, useTLS bool) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echoDone := make(chan error, 1)
	go func() { echoDone <- worker.ServeEcho(ctx, ln) }()
	fake := workertest.New()
	w := worker.New(worker.Config{Sessions: fake, Logger: slog.New(slog.DiscardHandler)})
	runDone := make(chan error, 1)
	go func() { runDone <- w.Run(ctx) }()
	e := &env{w: w, fake: fake, echo: ln.Addr().String()}
	if useTLS {
		e.srv = httptest.NewTLSServer(w.Handler())
		e.caFile = filepath.Join(t.TempDir(), "ca.pem")
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.srv.Certificate().Raw})
		if err := os.WriteFile(e.caFile, pemBytes, 0o600); err != nil {
			t.Fatal(err)
		}
	} else {
		e.srv = httptest.NewServer(w.Handler())
	}
	t.Cleanup(func() {
		e.srv.Close()
		cancel()
		<-runDone
		<-echoDone
	})
	return e
}

func (e *env) session(id string, limit int, ttl time.Duration) {
	e.fake.Add(workertest.Session{ID: id, Token: "tok-" + id, Endpoint: e.echo, Expires: time.Now().Add(ttl), Limit: limit})
}

// runMain runs `gatehouse connect args…` until it returns; the returned
// function waits for its result.
func runMain(ctx context.Context, args ...string) (stdout, stderr *syncBuf, wait func() error) {
	stdout, stderr = &syncBuf{}, &syncBuf{}
	done := make(chan error, 1)
	go func() {
		done <- connect.Main(ctx, args, func(string) string { return "" }, stdout, stderr)
	}()
	return stdout, stderr, func() error {
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			return fmt.Errorf("connect did not return; stdout %q stderr %q", stdout, stderr)
		}
	}
}

// listenAddr waits for connect's "Listening on" line.
func listenAddr(t testing.TB, out *syncBuf) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, rest, ok := strings.Cut(out.String(), "Listening on "); ok {
			addr, _, _ := strings.Cut(rest, " ")
			return addr
		}
	}
	t.Fatalf("connect never listened: %q", out.String())
	return ""
}

func TestRoundTripThroughConnect(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			e := newEnv(t, useTLS)
			e.session("s_a", -1, time.Hour)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			args := []string{"--addr", e.srv.URL, "--token", "tok-s_a"}
			if useTLS {
				args = append(args, "--ca-file", e.caFile)
			}
			out, errOut, wait := runMain(ctx, args...)
			addr := listenAddr(t, out)
			if !strings.HasPrefix(addr, "127.0.0.1:") || !strings.Contains(out.String(), "for session s_a") ||
				!strings.Contains(out.String(), "connections left: unlimited") {
				t.Errorf("banner %q", out.String())
			}
			const n = 500
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					c, err := net.Dial("tcp", addr)
					if err != nil {
						t.Error(err)
						return
					}
					defer c.Close()
					// A distinct first byte, sent before the tunnel exists.
					msg := append([]byte{byte(i), byte(i >> 8)}, bytes.Repeat([]byte("p"), i*37)...)
					go func() {
						c.Write(msg)
						c.(*net.TCPConn).CloseWrite()
					}()
					got, err := io.ReadAll(c)
					if err != nil || !bytes.Equal(got, msg) {
						t.Errorf("conn %d: got %d bytes (first %v), err %v; want %d bytes (first %v)",
							i, len(got), got[:min(2, len(got))], err, len(msg), msg[:2])
					}
				})
			}
			wg.Wait()
			if err := e.fake.WaitClosed(n, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			var up int64
			for _, c := range e.fake.Connections("s_a") {
				up += c.Up
				if c.Reason != worker.ReasonClosedByEndUser || c.Up != c.Down {
					t.Errorf("%s: %q up %d down %d", c.ID, c.Reason, c.Up, c.Down)
				}
			}
			if want := int64(n*2 + 37*n*(n-1)/2); up != want {
				t.Errorf("total up %d, want %d", up, want)
			}
			cancel()
			if err := wait(); err != nil {
				t.Errorf("connect: %v (stderr %q)", err, errOut)
			}
		})
	}
}

func TestConnectExitsWhenTheSessionIsCanceled(t *testing.T) {
	e := newEnv(t, false)
	e.session("s_a", -1, time.Hour)
	p := &connect.Proxy{ListenAddr: "127.0.0.1:0", Out: &syncBuf{}, Err: &syncBuf{}, PollInterval: 50 * time.Millisecond}
	var err error
	if p.Client, err = connect.NewClient(e.srv.URL, "tok-s_a", nil); err != nil {
		t.Fatal(err)
	}
	ready := make(chan net.Addr, 1)
	p.Ready = func(a net.Addr) { ready <- a }
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	addr := (<-ready).String()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("a"))
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e.fake.End("tok-s_a")
	e.w.Cancel("s_a", worker.ReasonCanceled)
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("local connection still open after cancel")
	}
	t.Logf("cancel → local client saw the close after %v", time.Since(start))
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("connect did not exit after the session ended")
	}
	if out := p.Out.(*syncBuf).String(); !strings.Contains(out, "The session has ended") || !strings.Contains(out, "Exiting.") {
		t.Errorf("output %q", out)
	}
	if err := e.fake.WaitClosed(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := e.fake.Connections("s_a")[0].Reason; got != worker.ReasonCanceled {
		t.Errorf("reason %q", got)
	}
	if s := e.fake.Session("tok-s_a"); s.CloseCalls != 0 {
		t.Errorf("a session that ended on its own was closed by connect: %+v", s)
	}
}

func TestConnectRefusalMessages(t *testing.T) {
	e := newEnv(t, false)
	e.session("s_ended", -1, time.Hour)
	e.fake.End("tok-s_ended")
	e.session("s_expired", -1, -time.Minute)
	// At start: the session is checked first.
	for _, tt := range []struct{ token, want string }{
		{"nope", "Gatehouse does not know this session token"},
		{"tok-s_ended", "The session has ended"},
		{"tok-s_expired", "The session has expired"},
	} {
		_, _, wait := runMain(context.Background(), "--addr", e.srv.URL, "--token", tt.token)
		if err := wait(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("token %s: %v, want %q", tt.token, err, tt.want)
		}
	}
	// Per connection: limit reached and a host that refuses.
	e.session("s_limit", 1, time.Hour)
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	dead.Close()
	e.fake.Add(workertest.Session{ID: "s_dead", Token: "tok-s_dead", Endpoint: dead.Addr().String(), Expires: time.Now().Add(time.Hour), Limit: -1})
	for _, tt := range []struct{ token, want string }{
		{"tok-s_limit", "connection limit is reached"},
		{"tok-s_dead", "could not connect to the host " + dead.Addr().String()},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		out, errOut, wait := runMain(ctx, "--addr", e.srv.URL, "--token", tt.token)
		addr := listenAddr(t, out)
		for i := range 2 { // s_limit: the first connection is admitted, the second refused
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("q"))
			c.(*net.TCPConn).CloseWrite()
			got, _ := io.ReadAll(c)
			c.Close()
			if tt.token == "tok-s_limit" && i == 0 && string(got) != "q" {
				t.Errorf("first connection of s_limit: %q", got)
			}
		}
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(errOut.String(), tt.want) && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		if !strings.Contains(errOut.String(), "refused: ") || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("token %s: stderr %q, want %q", tt.token, errOut, tt.want)
		}
		cancel()
		if err := wait(); err != nil {
			t.Errorf("connect: %v", err)
		}
	}
	// Flags.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "ftp://x", "--token", "t"}, "want the Gatehouse URL"},
		{[]string{"--addr", e.srv.URL}, "missing token"},
		{[]string{"--addr", e.srv.URL, "--token", "t", "extra"}, "need --exec"},
		{[]string{"--addr", e.srv.URL, "--token", "t", "--ca-file", "/nonexistent"}, "--ca-file"},
		{[]string{"--addr", "http://127.0.0.1:1", "--token", "t"}, "cannot reach Gatehouse"},
	} {
		_, _, wait := runMain(context.Background(), tt.args...)
		if err := wait(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestTLSIsVerifiedAndInsecureSaysSo(t *testing.T) {
	e := newEnv(t, true)
	e.session("s_a", -1, time.Hour)
	_, _, wait := runMain(context.Background(), "--addr", e.srv.URL, "--token", "tok-s_a")
	if err := wait(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("unverified certificate: %v, want a certificate error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut, wait := runMain(ctx, "--addr", e.srv.URL, "--token", "tok-s_a", "--insecure")
	listenAddr(t, out)
	if !strings.Contains(errOut.String(), "WARNING: --insecure") {
		t.Errorf("no warning: %q", errOut)
	}
	cancel()
	if err := wait(); err != nil {
		t.Error(err)
	}
}

// TestMain makes the test binary double as the small client that --exec
// runs (GATEHOUSE_HELPER_CLIENT=1): it sends its last argument to
// host:port (the two before it) and prints the echo.
func TestMain(m *testing.M) {
	if role := os.Getenv("GATEHOUSE_BENCH_ROLE"); role != "" {
		os.Exit(benchHelper(role))
	}
	if os.Getenv("GATEHOUSE_HELPER_CLIENT") == "1" {
		os.Exit(helperClient(os.Args[len(os.Args)-3:]))
	}
	os.Exit(m.Run())
}

func helperClient(args []string) int {
	c, err := net.Dial("tcp", net.JoinHostPort(args[0], args[1]))
	if err != nil {
		fmt.Println("dial:", err)
		return 2
	}
	c.Write([]byte(args[2]))
	c.(*net.TCPConn).CloseWrite()
	got, _ := io.ReadAll(c)
	fmt.Printf("echo:%s\n", got)
	return 0
}

func TestExec(t *testing.T) {
	e := newEnv(t, false)
	e.session("s_a", -1, time.Hour)
	t.Setenv("GATEHOUSE_HELPER_CLIENT", "1")
	out, errOut, wait := runMain(context.Background(), "--addr", e.srv.URL, "--token", "tok-s_a",
		"--exec", os.Args[0], "--", "{{host}}", "{{port}}", "hello-through-gatehouse")
	if err := wait(); err != nil {
		t.Fatalf("connect --exec: %v (stderr %q)", err, errOut)
	}
	if !strings.Contains(out.String(), "echo:hello-through-gatehouse") {
		t.Errorf("stdout %q", out)
	}
	if s := e.fake.Session("tok-s_a"); !s.ClosedByEndUser || s.CloseCalls != 1 {
		t.Errorf("the exec command exited: the session was not closed by the end user: %+v", s)
	}
	if !strings.Contains(out.String(), "Session ended (closed by end-user).") {
		t.Errorf("stdout %q", out)
	}
	// A failing command: its exit status comes back as an *ExitError, and
	// the session ends too.
	e.session("s_b", -1, time.Hour)
	_, _, wait = runMain(context.Background(), "--addr", e.srv.URL, "--token", "tok-s_b", "--exec", "sh", "--", "-c", "exit 3")
	err := wait()
	var exit *connect.ExitError
	if !errors.As(err, &exit) || exit.Code != 3 || exit.Command != "sh" {
		t.Errorf("failing command: %v, want an ExitError with code 3", err)
	}
	if s := e.fake.Session("tok-s_b"); !s.ClosedByEndUser {
		t.Errorf("failing command: session not closed: %+v", s)
	}
	// Killed by a signal: 128 + the signal, as a shell reports it.
	e.session("s_c", -1, time.Hour)
	_, _, wait = runMain(context.Background(), "--addr", e.srv.URL, "--token", "tok-s_c", "--exec", "sh", "--", "-c", "kill -TERM $$")
	if err := wait(); !errors.As(err, &exit) || exit.Code != 128+15 {
		t.Errorf("killed command: %v, want an ExitError with code 143", err)
	}
}

// TestKeepSession: with --keep-session neither the --exec command's exit
// nor stopping connect ends the session; without it, stopping connect
// (Ctrl-C: its context canceled) ends it.
func TestKeepSession(t *testing.T) {
	e := newEnv(t, false)
	e.session("s_a", -1, time.Hour)
	out, errOut, wait := runMain(context.Background(), "--addr", e.srv.URL, "--token", "tok-s_a", "--keep-session",
		"--exec", "sh", "--", "-c", "exit 0")
	if err := wait(); err != nil {
		t.Fatalf("connect: %v (stderr %q)", err, errOut)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out2, _, wait2 := runMain(ctx, "--addr", e.srv.URL, "--token", "tok-s_a", "--keep-session")
	listenAddr(t, out2)
	cancel()
	if err := wait2(); err != nil {
		t.Fatal(err)
	}
	if s := e.fake.Session("tok-s_a"); s.Ended || s.CloseCalls != 0 || strings.Contains(out.String()+out2.String(), "Session ended") {
		t.Fatalf("--keep-session closed the session: %+v %q", s, out.String()+out2.String())
	}
	// The session is still usable from another client.
	ctx, cancel = context.WithCancel(context.Background())
	out3, errOut3, wait3 := runMain(ctx, "--addr", e.srv.URL, "--token", "tok-s_a")
	listenAddr(t, out3)
	cancel() // Ctrl-C
	if err := wait3(); err != nil {
		t.Fatalf("connect: %v (stderr %q)", err, errOut3)
	}
	if s := e.fake.Session("tok-s_a"); !s.ClosedByEndUser || s.CloseCalls != 1 || !strings.Contains(out3.String(), "Session ended (closed by end-user).") {
		t.Fatalf("Ctrl-C did not close the session: %+v %q", s, out3)
	}
}

// TestEndSessionIsRetried: the end-session call on exit is tried again when
// the server cannot answer it yet (during a mass close it timed out once
// and the session stayed active until its expiry; issue 11, finding 10).
func TestEndSessionIsRetried(t *testing.T) {
	e := newEnv(t, false)
	e.session("s_a", -1, time.Hour)
	var mu sync.Mutex
	refused := 0
	inner := e.srv.Config.Handler
	e.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		busy := r.Method == http.MethodDelete && refused < 2
		if busy {
			refused++
		}
		mu.Unlock()
		if busy {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"code":"unavailable","message":"busy"}`)
			return
		}
		inner.ServeHTTP(w, r)
	})
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut, wait := runMain(ctx, "--addr", e.srv.URL, "--token", "tok-s_a")
	listenAddr(t, out)
	cancel() // Ctrl-C: connect ends the session on its way out
	if err := wait(); err != nil {
		t.Fatalf("connect: %v (stderr %q)", err, errOut)
	}
	if s := e.fake.Session("tok-s_a"); !s.ClosedByEndUser || !strings.Contains(out.String(), "Session ended (closed by end-user).") ||
		strings.Count(errOut.String(), "trying again") != 2 {
		t.Fatalf("session %+v; stdout %q; stderr %q", s, out, errOut)
	}
}

// TestTunnelsResumeTheTLSSession: every local connection opens its own TLS
// connection to Gatehouse; later ones resume an earlier one's TLS session
// (no certificate sent or checked again: the first byte over TLS took half
// as long), and the first one still verifies the certificate. Each ticket
// serves one resumption, and the spare connection is dialled while the
// tunnel before it is still reading its ticket, so not every later tunnel
// resumes: the test asks for some.
func TestTunnelsResumeTheTLSSession(t *testing.T) {
	e := newEnv(t, true)
	e.session("s_r", -1, time.Hour)
	cfg, err := connect.TLSConfig(e.caFile, false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connect.NewClient(e.srv.URL, "tok-s_r", cfg)
	if err != nil {
		t.Fatal(err)
	}
	resumed := 0
	for i := range 8 {
		tun, err := c.Open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		tc, ok := tun.Conn.(*tls.Conn)
		if !ok {
			t.Fatalf("tunnel %d is a %T, want a TLS connection", i, tun.Conn)
		}
		switch did := tc.ConnectionState().DidResume; {
		case i == 0 && did:
			t.Error("the first tunnel resumed a TLS session")
		case did:
			resumed++
		}
		if _, err := tun.Write([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(tun, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		tun.Close()
	}
	if resumed == 0 {
		t.Error("no tunnel resumed the TLS session")
	}
	// Another client with no trust in the certificate is refused, whatever
	// sessions other clients keep.
	other, err := connect.NewClient(e.srv.URL, "tok-s_r", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("unverified certificate: %v, want a certificate error", err)
	}
}

// echoOnce opens a connection to addr (an echo service, or connect's
// listener in front of one), sends one byte, reads it back and closes.
func echoOnce(tb testing.TB, addr string) {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte{'x'}); err != nil {
		tb.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		tb.Fatal(err)
	}
}

// connLog records the states each server-side connection went through, in
// the order the connections were accepted.
type connLog struct {
	mu     sync.Mutex
	order  []net.Conn
	states map[net.Conn][]http.ConnState
}

func (l *connLog) record(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.states == nil {
		l.states = map[net.Conn][]http.ConnState{}
	}
	if st == http.StateNew {
		l.order = append(l.order, c)
	}
	l.states[c] = append(l.states[c], st)
}

// accepted returns the connections accepted so far and their states.
func (l *connLog) accepted() ([]net.Conn, [][]http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var sts [][]http.ConnState
	for _, c := range l.order {
		sts = append(sts, slices.Clone(l.states[c]))
	}
	return slices.Clone(l.order), sts
}

// waitUnused waits until a connection other than not was accepted and
// has sent nothing yet (a spare), and returns it.
func (l *connLog) waitUnused(t *testing.T, not net.Conn) net.Conn {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		conns, states := l.accepted()
		for i, c := range conns {
			if c != not && len(states[i]) == 1 {
				return c
			}
		}
	}
	t.Fatal("no connection waiting unused")
	return nil
}

// statesOf returns the states c went through.
func (l *connLog) statesOf(c net.Conn) []http.ConnState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.states[c])
}

// TestTheSpareConnection: connect dials a connection to Gatehouse before
// it is needed, so even the first local connection's tunnel goes over a
// connection accepted before the local one was made; a spare that the
// server closed meanwhile is replaced without the tunnel request being
// sent twice.
func TestTheSpareConnection(t *testing.T) {
	e := newEnv(t, false)
	e.session("s_sp", -1, time.Hour)
	var log connLog
	srv := httptest.NewUnstartedServer(e.w.Handler())
	srv.Config.ConnState = log.record
	srv.Start()
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	out, _, wait := runMain(ctx, "--addr", srv.URL, "--token", "tok-s_sp")
	defer func() {
		cancel()
		if err := wait(); err != nil {
			t.Error(err)
		}
	}()
	addr := listenAddr(t, out)
	echo := func() { t.Helper(); echoOnce(t, addr) }

	// The spare is there before any local connection; the first tunnel
	// uses it, and the next spare follows.
	spare := log.waitUnused(t, nil)
	echo()
	if st := log.statesOf(spare); !slices.Contains(st, http.StateHijacked) {
		t.Fatalf("the first tunnel did not go over the spare connection: its states %v", st)
	}
	next := log.waitUnused(t, spare)

	// The server closes the waiting spare; the next tunnel still opens,
	// and is admitted once.
	next.Close()
	echo()
	if got := len(e.fake.Connections("s_sp")); got != 2 {
		t.Errorf("%d connections admitted, want 2 (one per local connection)", got)
	}
}
