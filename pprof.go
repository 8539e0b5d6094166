package main

import (
	"net/http"
	"net/http/pprof"
)

// pprofUsage documents the opt-in profiling listener of `serve` and `dev`
// (flag --pprof-listen, env GATEHOUSE_PPROF_LISTEN): empty (the default)
// serves nothing.
const pprofUsage = "address for Go's /debug/pprof/ profiling endpoints (off when empty; bind it to loopback: it has no login)"

// pprofHandler serves /debug/pprof/, on its own listener (serveSide).
// Profiles are off the public listener on purpose: they show internals
// and have no authentication.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
