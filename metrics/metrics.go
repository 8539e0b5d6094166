// Package metrics holds Gatehouse's Prometheus instruments, served at
// /metrics. A Registry is created by run and handed to whoever records; no
// package-level state.
package metrics

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry is the set of instruments of one Gatehouse process.
type Registry struct {
	reg          *prometheus.Registry
	httpDuration *prometheus.HistogramVec
	// ProxiedBytes counts bytes relayed by the worker, by direction ("up", "down").
	ProxiedBytes *prometheus.CounterVec
	// Connections counts proxied connections by outcome ("admitted", "refused",
	// "closed", "throttled": refused by the bad-token throttle before any lookup).
	Connections *prometheus.CounterVec
	// ExpiryLag observes how late the sweeper terminated expired sessions.
	ExpiryLag prometheus.Histogram
	// HeartbeatFailures counts instance heartbeats that failed (the
	// database out of reach or too slow): a run of them for the grace
	// period makes other instances declare this one dead.
	HeartbeatFailures prometheus.Counter
}

// New creates a Registry with the Go and process collectors.
func New() *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	r.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gatehouse_http_request_duration_seconds", Help: "HTTP request latency by route pattern, method and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route", "method", "status"})
	r.ProxiedBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_proxied_bytes_total", Help: "Bytes relayed by the worker, by direction (up = client to host).",
	}, []string{"direction"})
	r.Connections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_proxy_connections_total", Help: "Proxied connections by outcome.",
	}, []string{"outcome"})
	r.ExpiryLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "gatehouse_session_expiry_lag_seconds", Help: "Delay between a session's expiration and its termination by the sweeper.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2, 5, 10},
	})
	r.HeartbeatFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gatehouse_instance_heartbeat_failures_total", Help: "Instance heartbeats that failed (database out of reach or too slow).",
	})
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		r.httpDuration, r.ProxiedBytes, r.Connections, r.ExpiryLag, r.HeartbeatFailures)
	return r
}

// GaugeFunc registers a gauge whose value is read at scrape time (e.g. the
// number of active sessions).
func (r *Registry) GaugeFunc(name, help string, fn func() float64) {
	r.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// ObserveHTTP records one request's latency. route is the router pattern
// (not the raw path, to keep label cardinality bounded).
func (r *Registry) ObserveHTTP(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	r.httpDuration.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

// Handler serves the Prometheus exposition format. A non-empty token is
// required as a bearer token (Authorization: Bearer <token>; 401 without
// it); empty serves anyone, for scrapers on a private network.
func (r *Registry) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{Registry: r.reg})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if subtle.ConstantTimeCompare([]byte(req.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse metrics"`)
			http.Error(w, "metrics need the bearer token (--metrics-token)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, req)
	})
}
