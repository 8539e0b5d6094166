package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"gatehouse/metrics"
	"gatehouse/models"
	"gatehouse/proxywire"
	"gatehouse/web"
	"gatehouse/worker"
)

// newWorker builds the embedded worker on the Store.
func newWorker(store *models.Store, trusted []netip.Prefix, m *metrics.Registry, log *slog.Logger) *worker.Worker {
	sessions := proxywire.NewSessions(store, m)
	// SQLite has one connection: a smaller close batch holds it for less
	// time, which is all the end-session call and the heartbeat wait for
	// during a mass close (worker/priority.go).
	closeBatch := 500
	if store.Dialect() == models.SQLite {
		closeBatch = 200
	}
	return worker.New(worker.Config{
		Sessions: sessions, Logger: log, FlushInterval: 2 * time.Second, CloseBatch: closeBatch,
		Now:        store.Now, // the ends' times (ConnectionEnd.At) on the records' clock
		OnThrottle: sessions.Throttled, Credentials: proxywire.NewCredentials(sessions),
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
// record closed. Each failed heartbeat is counted in m (optional).
func instanceLoop(ctx context.Context, store *models.Store, w *worker.Worker, interval, grace time.Duration, m *metrics.Registry, log *slog.Logger) error {
	lastSeen, fenced := time.Now(), false
	return every(ctx, interval, func(ctx context.Context) {
		// Bounded, so that a database that swallows packets is noticed too.
		hctx, cancel := context.WithTimeout(ctx, interval)
		var registered bool
		var err error
		w.Priority(func() { registered, err = store.InstanceHeartbeat(hctx) }) // not behind a mass close's records
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			if m != nil {
				m.HeartbeatFailures.Inc()
			}
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

// retimeFromNotification moves, on this instance, the deadlines of a
// session whose expiration another instance moved (worker.RetimeChannel).
func retimeFromNotification(w *worker.Worker, payload string) {
	if r, ok := models.DecodeRetime(payload); ok {
		w.Retime(r.SessionID, r.ExpiresAt)
	}
}
