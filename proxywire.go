package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"gatehouse/metrics"
	"gatehouse/models"
	"gatehouse/web"
	"gatehouse/worker"
)

// proxySessions adapts the sessions Store to worker.Sessions: it translates
// models' error kinds into the worker's errors (models never imports worker).
// It also feeds the proxy's Prometheus counters (m may be nil).
type proxySessions struct {
	store *models.Store
	m     *metrics.Registry
	// flushed holds each live connection's byte totals already counted, so
	// the running totals the worker flushes become counter increments.
	flushed *sync.Map // connection id → [2]int64{up, down}
}

var _ worker.Sessions = proxySessions{}

// countBytes adds what a connection moved since its last report.
func (p proxySessions) countBytes(connectionID string, up, down int64, closed bool) {
	if p.m == nil {
		return
	}
	var prev [2]int64
	if v, ok := p.flushed.Load(connectionID); ok {
		prev = v.([2]int64)
	}
	if d := up - prev[0]; d > 0 {
		p.m.ProxiedBytes.WithLabelValues("up").Add(float64(d))
	}
	if d := down - prev[1]; d > 0 {
		p.m.ProxiedBytes.WithLabelValues("down").Add(float64(d))
	}
	if closed {
		p.flushed.Delete(connectionID)
		p.m.Connections.WithLabelValues("closed").Inc()
	} else {
		p.flushed.Store(connectionID, [2]int64{max(up, prev[0]), max(down, prev[1])})
	}
}

func (p proxySessions) count(outcome string) {
	if p.m != nil {
		p.m.Connections.WithLabelValues(outcome).Inc()
	}
}

// workerErr maps a refusal from the Store to the worker's error kinds.
func workerErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, models.ErrSessionEnded):
		return worker.ErrSessionEnded
	case errors.Is(err, models.ErrSessionExpired):
		return worker.ErrExpired
	case errors.Is(err, models.ErrLimitReached):
		return worker.ErrLimitReached
	case errors.Is(err, models.ErrNotFound):
		return worker.ErrBadToken
	}
	return err
}

func (p proxySessions) AdmitConnection(ctx context.Context, token string, client worker.ClientInfo) (*worker.Admission, error) {
	in := models.AdmitInput{Token: token}
	if client.Addr.IsValid() {
		in.ClientAddr = client.Addr.String()
	}
	if client.UserIP.IsValid() {
		in.UserIP = client.UserIP.String()
	}
	adm, err := p.store.AdmitConnection(ctx, in)
	if err != nil {
		p.count("refused")
		return nil, p.refusal(ctx, token, workerErr(err))
	}
	p.count("admitted")
	s := adm.Session
	return &worker.Admission{SessionID: s.ID, ConnectionID: adm.Connection.ID, Endpoint: s.Endpoint,
		ExpiresAt: s.ExpiresAt, ConnectionsLeft: connectionsLeft(s)}, nil
}

func (p proxySessions) ConnectionConnected(ctx context.Context, connectionID string, endpoint netip.AddrPort, _ time.Time) error {
	addr := ""
	if endpoint.IsValid() {
		addr = endpoint.String()
	}
	return p.store.ConnectionConnected(ctx, connectionID, addr)
}

func (p proxySessions) ConnectionBytes(ctx context.Context, connectionID string, up, down int64) error {
	p.countBytes(connectionID, up, down, false)
	return p.store.FlushConnectionBytes(ctx, connectionID, up, down)
}

func (p proxySessions) ConnectionClosed(ctx context.Context, connectionID, reason string, up, down int64, _ time.Time) error {
	p.countBytes(connectionID, up, down, true)
	return p.store.ConnectionClosed(ctx, connectionID, up, down, reason)
}

func (p proxySessions) SessionInfo(ctx context.Context, token string) (*worker.SessionInfo, error) {
	s, err := p.store.SessionByToken(ctx, token)
	if err != nil {
		return nil, p.refusal(ctx, token, workerErr(err))
	}
	return &worker.SessionInfo{SessionID: s.ID, ExpiresAt: s.ExpiresAt, ConnectionLimit: s.ConnectionLimit,
		ConnectionsLeft: connectionsLeft(*s)}, nil
}

func (p proxySessions) CloseSession(ctx context.Context, token string) (*worker.ClosedSession, error) {
	s, err := p.store.CloseSessionByEndUser(ctx, token)
	if err != nil {
		return nil, p.refusal(ctx, token, workerErr(err))
	}
	return &worker.ClosedSession{SessionID: s.ID, State: string(s.State), Reason: string(models.ReasonClosedByEndUser)}, nil
}

// refusal tells an expired session from a canceled one: the sweeper turns
// an expired session into "terminated / timed out" within moments, and the
// client should still hear that it expired.
func (p proxySessions) refusal(ctx context.Context, token string, err error) error {
	if !errors.Is(err, worker.ErrSessionEnded) {
		return err
	}
	if p.store.SessionTimedOut(ctx, token) {
		return worker.ErrExpired
	}
	if note := p.store.SessionAccessNote(ctx, token); note != "" {
		return &worker.EndedError{Why: note}
	}
	return err
}

func connectionsLeft(s models.Session) int {
	if s.ConnectionLimit < 0 {
		return -1
	}
	return max(s.ConnectionLimit-s.ConnectionCount, 0)
}

// workerHook is the Store's Ended option bound late to the worker (the
// worker needs the Store, the Store's options need the worker).
type workerHook struct{ w *worker.Worker }

// ended cuts, in-process and at once, the live connections of sessions
// that were canceled, closed by their end user, timed out or failed. Timed-out sessions are looked
// at only when this worker holds one of their connections (a sweep may end
// thousands at once; their relays carry the deadline anyway).
func (h *workerHook) ended(ends []models.SessionEnd) {
	if h.w == nil {
		return
	}
	for _, e := range ends {
		if e.Reason == worker.ReasonTimedOut && h.w.LiveConnections(e.SessionID) == 0 {
			continue
		}
		h.w.Cancel(e.SessionID, e.Reason)
	}
}

// newWorker builds the embedded worker on the Store.
func newWorker(store *models.Store, trusted []netip.Prefix, m *metrics.Registry, log *slog.Logger) *worker.Worker {
	sessions := proxySessions{store: store, m: m, flushed: &sync.Map{}}
	return worker.New(worker.Config{
		Sessions: sessions, Logger: log, FlushInterval: 2 * time.Second,
		OnThrottle: func() { sessions.count("throttled") },
		UserIP: func(r *http.Request) netip.Addr {
			a, err := netip.ParseAddr(web.ClientIP(r, trusted))
			if err != nil {
				ap, _ := netip.ParseAddrPort(r.RemoteAddr)
				return ap.Addr().Unmap()
			}
			return a.Unmap()
		},
	})
}

// reconcileLoop is the safety net behind the in-process and LISTEN/NOTIFY
// cancels: every interval the worker's live sessions are checked against
// the database.
func reconcileLoop(ctx context.Context, w *worker.Worker, store *models.Store, interval time.Duration, log *slog.Logger) error {
	return every(ctx, interval, func(ctx context.Context) {
		if _, err := w.ReconcileExpirations(ctx, store.SessionExpirations); err != nil && ctx.Err() == nil {
			log.Warn("reconcile session expirations", "error", err)
		}
		n, err := w.Reconcile(ctx, store.EndedSessions)
		if err != nil && ctx.Err() == nil {
			log.Warn("reconcile live connections", "error", err)
		} else if n > 0 {
			log.Info("reconcile cut live connections", "count", n)
		}
	})
}

// instanceLoop marks this instance seen every interval. When another
// instance had found it unseen for the grace period and closed its
// connections in the records, it cuts them here too (they are recorded
// closed already) and goes on registered again. When it cannot mark itself
// seen for the grace period (the database out of reach), it cuts its
// connections at once rather than relay what the others are about to
// record closed.
func instanceLoop(ctx context.Context, store *models.Store, w *worker.Worker, interval, grace time.Duration, log *slog.Logger) error {
	lastSeen, fenced := time.Now(), false
	return every(ctx, interval, func(ctx context.Context) {
		// Bounded, so that a database that swallows packets is noticed too.
		hctx, cancel := context.WithTimeout(ctx, interval)
		registered, err := store.InstanceHeartbeat(hctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("instance heartbeat", "error", err)
			if !fenced && time.Since(lastSeen) >= grace {
				fenced = true
				log.Error("this instance could not mark itself seen for the grace period: cutting its connections, which other instances will record closed",
					"count", w.CutAll(worker.ReasonSystemError), "grace", grace)
			}
		case err == nil && !registered:
			log.Warn("this instance was unseen for the grace period: other instances closed its connections in the records; cut them here too",
				"count", w.CutAll(worker.ReasonSystemError))
			fallthrough
		case err == nil:
			lastSeen, fenced = time.Now(), false
		}
	})
}

// cancelFromNotification cuts, on this instance, the connections of a
// session another instance ended (payload of worker.NotifyChannel).
func cancelFromNotification(w *worker.Worker, payload string) {
	if id, reason, ok := worker.ParseNotification(payload); ok {
		w.Cancel(id, reason)
	}
}

// retimed moves, in-process and at once, the deadlines of the live
// connections of sessions whose expiration moved (extended or shortened).
func (h *workerHook) retimed(rs []models.SessionRetime) {
	if h.w == nil {
		return
	}
	for _, r := range rs {
		h.w.Retime(r.SessionID, r.ExpiresAt)
	}
}

// retimeFromNotification moves, on this instance, the deadlines of a
// session whose expiration another instance moved (worker.RetimeChannel).
func retimeFromNotification(w *worker.Worker, payload string) {
	if r, ok := models.DecodeRetime(payload); ok {
		w.Retime(r.SessionID, r.ExpiresAt)
	}
}
