package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/worker"
)

// syncBuffer is a goroutine-safe output sink for run's stdout/stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testApp is one `gatehouse args...` run through run(...) in the
// background: the app (launch, launchUntil), a CLI command (start, cliOnce)
// or connect (startConnect).
type testApp struct {
	URL      string // launchUntil: the ready pattern's first group
	Out, Err *syncBuffer
	args     []string
	stop     context.CancelFunc
	done     chan error // run's result; whoever reads it puts it back
	checked  bool       // Stop fails the test when run returned an error
}

var urlPattern = regexp.MustCompile(`https?://127\.0\.0\.1:\d+`)

// start runs `gatehouse args...` in the background with env as its
// environment, without waiting for anything; it is stopped (and waited
// for) when the test ends. It is the one way the tests of package main run
// the binary in the background (launch, launchUntil, cliOnce and
// startConnect build on it); a test that starts the app another way says
// why. A command expected to return at once (a refused configuration) is a
// plain run(...) call.
func start(t testing.TB, env map[string]string, args ...string) *testApp {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := &testApp{Out: &syncBuffer{}, Err: &syncBuffer{}, args: args, stop: cancel, done: make(chan error, 1)}
	getenv := func(k string) string { return env[k] }
	go func() { a.done <- run(ctx, args, getenv, a.Out, a.Err) }()
	t.Cleanup(func() { a.Stop(t) })
	return a
}

// launch runs `gatehouse args...` with env as its environment and waits
// until it prints its URL. The app stops when the test ends.
func launch(t testing.TB, env map[string]string, args ...string) *testApp {
	t.Helper()
	a := launchUntil(t, env, urlPattern, args...)
	a.waitReady(t)
	return a
}

// waitReady waits until the app's /readyz answers 200: on Postgres it
// answers 503 until the instance's LISTEN connection has subscribed, and a
// test acting before would miss the other instances' notifications. The run
// ending first, or 60 s passing, fails the test.
func (a *testApp) waitReady(t testing.TB) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // only asks whether it is ready
	deadline := time.After(60 * time.Second)
	for {
		if resp, err := c.Get(a.URL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-a.done:
			a.done <- err
			t.Fatalf("gatehouse %v exited before it was ready: %v\nstdout:\n%s\nstderr:\n%s", a.args, err, a.Out, a.Err)
		case <-deadline:
			t.Fatalf("gatehouse %v not ready after 60 s\nstdout:\n%s\nstderr:\n%s", a.args, a.Out, a.Err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// launchUntil is launch waiting until stdout matches ready; URL is ready's
// first group (or its whole match when it has none). Stop then fails the
// test if run returns an error.
func launchUntil(t testing.TB, env map[string]string, ready *regexp.Regexp, args ...string) *testApp {
	t.Helper()
	a := start(t, env, args...)
	m := a.waitIn(t, ready, a.Out)
	a.URL, a.checked = m[len(m)-1], true
	return a
}

// waitFor waits until re matches the run's stdout or stderr and returns
// the match; the run ending first, or 60 s passing, fails the test.
func (a *testApp) waitFor(t testing.TB, re *regexp.Regexp) []string {
	t.Helper()
	return a.waitIn(t, re, a.Out, a.Err)
}

// waitIn is waitFor on the given outputs only.
func (a *testApp) waitIn(t testing.TB, re *regexp.Regexp, outs ...*syncBuffer) []string {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		for _, o := range outs {
			if m := re.FindStringSubmatch(o.String()); m != nil {
				return m
			}
		}
		select {
		case err := <-a.done:
			a.done <- err
			t.Fatalf("gatehouse %v exited before printing %s: %v\nstdout:\n%s\nstderr:\n%s", a.args, re, err, a.Out, a.Err)
		case <-deadline:
			t.Fatalf("gatehouse %v printed no %s\nstdout:\n%s\nstderr:\n%s", a.args, re, a.Out, a.Err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// wait returns the run's result once it has exited by itself (it must
// within d).
func (a *testApp) wait(t testing.TB, d time.Duration) error {
	t.Helper()
	select {
	case err := <-a.done:
		a.done <- err
		return err
	case <-time.After(d):
		t.Fatalf("gatehouse %v still running after %s:\nstdout:\n%s\nstderr:\n%s", a.args, d, a.Out, a.Err)
		return nil
	}
}

// Stop shuts the run down and waits for run to return (idempotent).
func (a *testApp) Stop(t testing.TB) {
	t.Helper()
	if a.stop == nil {
		return
	}
	a.stop()
	a.stop = nil
	select {
	case err := <-a.done:
		a.done <- err
		if err != nil && a.checked {
			t.Errorf("run returned %v\nstderr:\n%s", err, a.Err)
		}
	case <-time.After(20 * time.Second):
		t.Error("run did not return after shutdown")
	}
}

// client is an HTTP client with a cookie jar that does not follow redirects.
func client(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// page is a fetched response with its body.
type page struct {
	Status   int
	Body     string
	Location string
	Header   http.Header
}

func get(t testing.TB, c *http.Client, u string) page {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return readPage(t, resp)
}

func post(t testing.TB, c *http.Client, u string, form url.Values, header ...string) page {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	return readPage(t, resp)
}

func readPage(t testing.TB, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{Status: resp.StatusCode, Body: string(b), Location: resp.Header.Get("Location"), Header: resp.Header}
}

var passwordMethodPattern = regexp.MustCompile(`name="auth_method_id" value="(ampw_[A-Za-z0-9]+)"`)

// loginAs logs c in with a password through the login form.
func loginAs(t testing.TB, c *http.Client, base, name, password string) page {
	t.Helper()
	lp := get(t, c, base+"/login")
	m := passwordMethodPattern.FindStringSubmatch(lp.Body)
	if m == nil {
		t.Fatalf("login page has no password method:\n%s", lp.Body)
	}
	return post(t, c, base+"/login", url.Values{"auth_method_id": {m[1]}, "login_name": {name}, "password": {password}})
}

// echoServer runs the worker's echo service on a free loopback port until
// the test ends, and returns its address.
func echoServer(t testing.TB) *net.TCPAddr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = worker.ServeEcho(ctx, ln) }()
	return ln.Addr().(*net.TCPAddr)
}

// freeAddr returns a loopback address nobody listens on right now, for a
// listener the app opens later. Its port is below Linux's ephemeral range
// (32768 and up), from which the kernel gives ports to outgoing
// connections and to ":0" listeners: a port from that range, released
// here, can be taken by one of the many connections the parallel tests
// open before the app binds it.
func freeAddr(t testing.TB) string {
	t.Helper()
	for range 200 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestShutdownClosesConnectionsThatSentNothing: a connection that has sent
// no request yet (what `gatehouse connect` keeps ready for its next
// tunnel) is closed when the server shuts down, instead of holding the
// shutdown until net/http counts it idle, 5 s after it was accepted.
func TestShutdownClosesConnectionsThatSentNothing(t *testing.T) {
	app := launch(t, nil, "dev", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	u, err := url.Parse(app.URL)
	if err != nil {
		t.Fatal(err)
	}
	unused, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer unused.Close()
	// Accepted in order: once a later request is answered, the server
	// holds the unused connection.
	resp, err := http.Get(app.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	begin := time.Now()
	app.Stop(t)
	if took := time.Since(begin); took >= 4*time.Second {
		t.Errorf("shutdown took %v: it waited for the connection that sent nothing", took)
	}
	_ = unused.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := unused.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the unused connection after shutdown: read %d, %v; want it closed (EOF)", n, err)
	}
}
