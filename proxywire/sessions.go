// Package proxywire adapts the Store to the embedded worker: Sessions maps
// the Store's session use cases and error kinds onto worker.Sessions and
// counts the proxy's metrics; EndedHook cuts the live connections of ended
// sessions. Package main only wires them.
package proxywire

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"gatehouse/metrics"
	"gatehouse/models"
	"gatehouse/worker"
)

// Sessions adapts the sessions Store to worker.Sessions: it translates
// models' error kinds into the worker's errors (models never imports worker).
// It also feeds the proxy's Prometheus counters (m may be nil).
type Sessions struct {
	store *models.Store
	m     *metrics.Registry
	// flushed holds each live connection's byte totals already counted, so
	// the running totals the worker flushes become counter increments.
	flushed *sync.Map // connection id → [2]int64{up, down}
}

var _ worker.Sessions = Sessions{}

// NewSessions adapts store for the worker, counting into m (nil: no metrics).
func NewSessions(store *models.Store, m *metrics.Registry) Sessions {
	return Sessions{store: store, m: m, flushed: &sync.Map{}}
}

// Throttled counts a connection the worker refused for its rate limit.
func (p Sessions) Throttled() { p.count("throttled") }

// countBytes adds what a connection moved since its last report.
func (p Sessions) countBytes(connectionID string, up, down int64, closed bool) {
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

// count counts one connection outcome.
func (p Sessions) count(outcome string) {
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

// AdmitConnection admits a connection on the session of token (the Store
// decides), counting it admitted or refused.
func (p Sessions) AdmitConnection(ctx context.Context, token string, client worker.ClientInfo) (*worker.Admission, error) {
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

// ConnectionConnected records the endpoint a connection reached.
func (p Sessions) ConnectionConnected(ctx context.Context, connectionID string, endpoint netip.AddrPort, _ time.Time) error {
	addr := ""
	if endpoint.IsValid() {
		addr = endpoint.String()
	}
	return p.store.ConnectionConnected(ctx, connectionID, addr)
}

// ConnectionsBytes records live connections' running byte totals.
func (p Sessions) ConnectionsBytes(ctx context.Context, totals []worker.ConnectionBytes) error {
	rec := make([]models.ConnectionBytes, len(totals))
	for i, t := range totals {
		p.countBytes(t.ConnectionID, t.Up, t.Down, false)
		rec[i] = models.ConnectionBytes{ConnectionID: t.ConnectionID, BytesUp: t.Up, BytesDown: t.Down}
	}
	return p.store.FlushConnectionsBytes(ctx, rec)
}

// ConnectionsClosed records connection ends and their final byte totals,
// in one transaction.
func (p Sessions) ConnectionsClosed(ctx context.Context, ends []worker.ConnectionEnd) error {
	rec := make([]models.ConnectionEnd, len(ends))
	for i, e := range ends {
		p.countBytes(e.ConnectionID, e.Up, e.Down, true)
		rec[i] = models.ConnectionEnd{ConnectionID: e.ConnectionID, BytesUp: e.Up, BytesDown: e.Down, Reason: e.Reason, At: e.At}
	}
	_, err := p.store.ConnectionsClosed(ctx, rec)
	return err
}

// SessionInfo describes the session of token for the client.
func (p Sessions) SessionInfo(ctx context.Context, token string) (*worker.SessionInfo, error) {
	s, err := p.store.SessionByToken(ctx, token)
	if err != nil {
		return nil, p.refusal(ctx, token, workerErr(err))
	}
	return &worker.SessionInfo{SessionID: s.ID, ExpiresAt: s.ExpiresAt, ConnectionLimit: s.ConnectionLimit,
		ConnectionsLeft: connectionsLeft(*s)}, nil
}

// CloseSession ends the session of token at its end user's request.
func (p Sessions) CloseSession(ctx context.Context, token string) (*worker.ClosedSession, error) {
	s, err := p.store.CloseSessionByEndUser(ctx, token)
	if err != nil {
		return nil, p.refusal(ctx, token, workerErr(err))
	}
	return &worker.ClosedSession{SessionID: s.ID, State: string(s.State), Reason: string(models.ReasonClosedByEndUser)}, nil
}

// refusal tells an expired session from a canceled one: the sweeper turns
// an expired session into "terminated / timed out" within moments, and the
// client should still hear that it expired.
func (p Sessions) refusal(ctx context.Context, token string, err error) error {
	if !errors.Is(err, worker.ErrSessionEnded) {
		return err
	}
	if p.store.SessionTimedOut(ctx, token) {
		return worker.ErrExpired
	}
	if note := p.store.SessionAccessNote(ctx, token); note != "" {
		return &worker.EndedError{Why: note} // "access grant revoked by …"
	}
	return err
}

// connectionsLeft is what the session may still open (-1: unlimited).
func connectionsLeft(s models.Session) int {
	if s.ConnectionLimit < 0 {
		return -1
	}
	return max(s.ConnectionLimit-s.ConnectionCount, 0)
}

// EndedHook is the Store's Ended option bound late to the worker (the
// worker needs the Store, the Store's options need the worker): set Worker
// once it is built.
type EndedHook struct{ Worker *worker.Worker }

// Ended cuts, in-process and at once, the live connections of sessions
// that were canceled, closed by their end user, timed out or failed. Timed-out sessions are looked
// at only when this worker holds one of their connections (a sweep may end
// thousands at once; their relays carry the deadline anyway).
func (h *EndedHook) Ended(ends []models.SessionEnd) {
	if h.Worker == nil {
		return
	}
	for _, e := range ends {
		if e.Reason == worker.ReasonTimedOut && h.Worker.LiveConnections(e.SessionID) == 0 {
			continue
		}
		h.Worker.Cancel(e.SessionID, e.Reason)
	}
}

// Retimed moves, in-process and at once, the deadlines of the live
// connections of sessions whose expiration moved (extended or shortened):
// the Store's Retimed option, bound late like Ended.
func (h *EndedHook) Retimed(rs []models.SessionRetime) {
	if h.Worker == nil {
		return
	}
	for _, r := range rs {
		h.Worker.Retime(r.SessionID, r.ExpiresAt)
	}
}
