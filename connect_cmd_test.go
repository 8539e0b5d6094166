package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/worker"
	"gatehouse/worker/workertest"
)

// TestConnectThroughTheWebApp mounts the worker in the whole app (its
// middleware chain: access log, CSRF, security headers, login lookup) and
// runs `gatehouse connect` through run against it: bytes round-trip to the
// echo service, and a bad token gets the worker's message.
func TestConnectThroughTheWebApp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	echo := echoServer(t)
	fake := workertest.New()
	fake.Add(workertest.Session{ID: "s_web", Token: "tok-web", Endpoint: echo.String(), Expires: time.Now().Add(time.Hour), Limit: -1})
	w := worker.New(worker.Config{Sessions: fake, Logger: slog.New(slog.DiscardHandler)})
	go w.Run(ctx)

	// The app is started by hand, through startApp rather than run, because
	// the point is to mount this test's worker (over a fake session source)
	// in the whole app: run's configuration has no door for that.
	urls := make(chan string, 1)
	appDone := make(chan error, 1)
	go func() {
		appDone <- startApp(ctx, appConfig{
			DatabaseURL: filepath.Join(t.TempDir(), "g.db"), Listen: "127.0.0.1:0",
			CookieHashKey: randomKey(64), CookieBlockKey: randomKey(32), RootKey: randomKey(32),
			LoginLifetime: time.Hour, LoginIdle: time.Hour,
			Bootstrap: models.BootstrapOptions{AdminPassword: "password-for-tests"},
			Seed: func(ctx context.Context, _ *models.Store, _ *url.URL, mounts map[string]http.Handler) error {
				mounts[worker.MountPath] = w.Handler()
				return nil
			},
			Announce: func(_ io.Writer, u string, _ *models.BootstrapResult) { urls <- u },
			Logger:   slog.New(slog.DiscardHandler), Stdout: io.Discard,
		})
	}()
	var base string
	select {
	case base = <-urls:
	case err := <-appDone:
		t.Fatal(err)
	}

	proc := startConnect(t, "--addr", base, "--token", "tok-web")
	c, err := net.Dial("tcp", proc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("through the web app"))
	c.(*net.TCPConn).CloseWrite()
	got, _ := io.ReadAll(c)
	c.Close()
	if string(got) != "through the web app" {
		t.Errorf("echo %q (stderr %q)", got, proc.Err)
	}
	proc.Stop(t)
	if err := proc.wait(t, time.Second); err != nil {
		t.Errorf("connect: %v", err)
	}

	err = run(ctx, []string{"connect", "--addr", base, "--token", "wrong"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "does not know this session token") {
		t.Errorf("bad token: %v", err)
	}
	cancel()
	if err := <-appDone; err != nil {
		t.Errorf("app: %v", err)
	}
}
