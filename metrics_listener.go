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

// listenMetrics binds --metrics-listen when set (nil listener otherwise),
// before anything is written, like the main listener.
func listenMetrics(c limitsConfig) (net.Listener, error) {
	if c.MetricsListen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", c.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen / GATEHOUSE_METRICS_LISTEN: cannot listen on %q: %w", c.MetricsListen, err)
	}
	return ln, nil
}

// serveMetrics serves GET /metrics (and nothing else) on ln until ctx
// ends; a background loop owned by run.
func serveMetrics(ctx context.Context, ln net.Listener, reg *metrics.Registry, token string, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg.Handler(token))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	defer stop()
	log.Info("metrics listener", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve metrics: %w", err)
	}
	return nil
}
