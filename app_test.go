package main

import (
	"bytes"
	"context"
	"io"
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

// testApp is a Gatehouse started through run on a random port.
type testApp struct {
	URL    string
	Stdout *syncBuffer
	Stderr *syncBuffer
	stop   context.CancelFunc
	done   chan error
}

var urlPattern = regexp.MustCompile(`https?://127\.0\.0\.1:\d+`)

// launch runs `gatehouse args...` with env as its environment and waits
// until it prints its URL. The app stops when the test ends.
func launch(t testing.TB, env map[string]string, args ...string) *testApp {
	t.Helper()
	return launchUntil(t, env, urlPattern, args...)
}

// launchUntil is launch waiting until stdout matches ready; URL is ready's
// first group (or its whole match when it has none). It is the one way the
// tests of package main start the app.
func launchUntil(t testing.TB, env map[string]string, ready *regexp.Regexp, args ...string) *testApp {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := &testApp{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, stop: cancel, done: make(chan error, 1)}
	getenv := func(k string) string { return env[k] }
	go func() { a.done <- run(ctx, args, getenv, a.Stdout, a.Stderr) }()
	deadline := time.After(60 * time.Second)
	for a.URL == "" {
		select {
		case err := <-a.done:
			cancel()
			t.Fatalf("gatehouse %v exited early: %v\nstdout:\n%s\nstderr:\n%s", args, err, a.Stdout, a.Stderr)
		case <-deadline:
			cancel()
			t.Fatalf("gatehouse %v did not print its URL\nstdout:\n%s\nstderr:\n%s", args, a.Stdout, a.Stderr)
		case <-time.After(20 * time.Millisecond):
			if m := ready.FindStringSubmatch(a.Stdout.String()); m != nil {
				a.URL = m[len(m)-1]
			}
		}
	}
	t.Cleanup(func() { a.Stop(t) })
	return a
}

// Stop shuts the app down and waits for run to return (idempotent).
func (a *testApp) Stop(t testing.TB) {
	t.Helper()
	if a.stop == nil {
		return
	}
	a.stop()
	a.stop = nil
	select {
	case err := <-a.done:
		if err != nil {
			t.Errorf("run returned %v\nstderr:\n%s", err, a.Stderr)
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

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
