package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"gatehouse/metrics"
)

// listenSide binds the address of a side listener (--metrics-listen,
// --pprof-listen) when it is set (nil listener otherwise), before anything
// is written, like the main listener; setting names it in the error.
func listenSide(addr, setting string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot listen on %q: %w", setting, addr, err)
	}
	return ln, nil
}

// serveSide serves h on the side listener ln until ctx ends; a background
// loop owned by run. name says what it serves, in the log and errors.
func serveSide(ctx context.Context, name string, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close() // a profile still running
		}
	})
	defer stop()
	log.Info(name+" listener", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", name, err)
	}
	return nil
}

// metricsHandler serves GET /metrics (and nothing else) on the
// --metrics-listen listener.
func metricsHandler(reg *metrics.Registry, token string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg.Handler(token))
	return mux
}
