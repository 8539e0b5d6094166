package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofUsage documents the opt-in profiling listener of `serve` and `dev`
// (flag --pprof-listen, env GATEHOUSE_PPROF_LISTEN): empty (the default)
// serves nothing.
const pprofUsage = "address for Go's /debug/pprof/ profiling endpoints (off when empty; bind it to loopback: it has no login)"

// servePprof serves /debug/pprof/ on its own listener until ctx ends.
// Profiles are off the public listener on purpose: they show internals
// and have no authentication.
func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Warn("profiling endpoints are on (no login): keep this address private", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
