package worker

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse/tunnel"
)

var errShuttingDown = errors.New("worker shutting down")

// endedTTL is how long Cancel remembers a session, so that a connection
// admitted just before the cancel but registered just after it is cut too.
const endedTTL = 2 * time.Minute

// liveConn is one admitted connection, from admission to its record of close.
type liveConn struct {
	id, sessionID string
	expires       time.Time
	up, down      atomic.Int64

	mu     sync.Mutex // guards socks, reason, cut, expires
	socks  []net.Conn
	reason string
	cut    bool

	recMu       sync.Mutex // orders byte flushes before the close record
	recorded    bool
	flushedUp   int64
	flushedDown int64
}

// attach adds a socket to c; when c was already cut it closes nc instead and
// reports false.
func (c *liveConn) attach(nc net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		nc.Close()
		return false
	}
	c.socks = append(c.socks, nc)
	return true
}

// cutWith closes every socket of c; the first reason given wins.
func (c *liveConn) cutWith(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason == "" {
		c.reason = reason
	}
	c.cut = true
	for _, s := range c.socks {
		s.Close()
	}
}

// registry holds the live connections by session.
type registry struct {
	mu       sync.Mutex
	sessions map[string]map[*liveConn]struct{}
	ended    map[string]endedSession
	retimed  map[string]retimedSession // see retime.go
	purged   time.Time                 // when ended was last swept of old entries
	shutdown bool
	wg       sync.WaitGroup // registered connections whose close is not yet recorded
}

type endedSession struct {
	reason string
	at     time.Time
}

func newRegistry() *registry {
	return &registry{sessions: map[string]map[*liveConn]struct{}{}, ended: map[string]endedSession{}, retimed: map[string]retimedSession{}}
}

// add registers c, unless its session was just cut or the worker is
// shutting down (then it returns the reason to record and an error).
func (g *registry) add(c *liveConn) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shutdown {
		return ReasonSystemError, errShuttingDown
	}
	if e, ok := g.ended[c.sessionID]; ok {
		return e.reason, ErrSessionEnded
	}
	m := g.sessions[c.sessionID]
	if m == nil {
		m = map[*liveConn]struct{}{}
		g.sessions[c.sessionID] = m
	}
	m[c] = struct{}{}
	g.wg.Add(1)
	if e, ok := g.retimed[c.sessionID]; ok {
		c.expires = e.expires // moved after this connection's admission read it
	}
	return "", nil
}

// remove unregisters c and reports whether it was registered. The caller
// calls g.wg.Done once c's close is recorded: Shutdown waits for the
// records, while a cut connection no longer counts as live.
func (g *registry) remove(c *liveConn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.sessions[c.sessionID]
	if _, ok := m[c]; !ok {
		return false
	}
	delete(m, c)
	if len(m) == 0 {
		delete(g.sessions, c.sessionID)
	}
	return true
}

// end takes the session's live connections out and remembers the session.
func (g *registry) end(sessionID, reason string, now time.Time) []*liveConn {
	g.mu.Lock()
	defer g.mu.Unlock()
	// Sweep old entries at most every endedTTL/4, so that canceling
	// thousands of sessions at once (deleting an org) stays linear.
	if now.Sub(g.purged) > endedTTL/4 {
		g.purged = now
		for id, e := range g.ended {
			if now.Sub(e.at) > endedTTL {
				delete(g.ended, id)
			}
		}
	}
	g.ended[sessionID] = endedSession{reason: reason, at: now}
	var out []*liveConn
	for c := range g.sessions[sessionID] {
		out = append(out, c)
	}
	return out
}

func (g *registry) all() []*liveConn {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*liveConn
	for _, m := range g.sessions {
		for c := range m {
			out = append(out, c)
		}
	}
	return out
}

// Cancel cuts every live connection of the session on this worker at once
// (their sockets are closed before Cancel returns) and records each one
// closed with reason (ReasonCanceled if empty; ReasonTimedOut for expiry).
// A connection of the session admitted concurrently is cut as soon as it
// registers. It returns how many live connections it cut. Call it in-process
// when a session is canceled, from the LISTEN/NOTIFY listener (see
// [ParseNotification]) and from Reconcile.
func (w *Worker) Cancel(sessionID, reason string) int {
	if reason == "" {
		reason = ReasonCanceled
	}
	conns := w.live.end(sessionID, reason, time.Now())
	for _, c := range conns {
		c.cutWith(reason)
	}
	return len(conns)
}

// CutAll cuts every live connection on this worker with reason, leaving
// their sessions free to admit new ones; it returns how many it cut. The
// instance heartbeat calls it when the records already show them closed
// (see models.Store.InstanceHeartbeat).
func (w *Worker) CutAll(reason string) int {
	conns := w.live.all()
	for _, c := range conns {
		c.cutWith(reason)
	}
	return len(conns)
}

// LiveConnections returns how many connections of the session are live on
// this worker.
func (w *Worker) LiveConnections(sessionID string) int {
	w.live.mu.Lock()
	defer w.live.mu.Unlock()
	return len(w.live.sessions[sessionID])
}

// Reconcile is the periodic safety net behind Cancel: it passes the ids of
// the sessions holding live connections here to ended, which returns those
// that must not have live connections any more, each with the reason to
// record (ReasonCanceled or ReasonTimedOut), and cuts them. It returns how
// many connections it cut.
func (w *Worker) Reconcile(ctx context.Context, ended func(ctx context.Context, sessionIDs []string) (map[string]string, error)) (int, error) {
	seen := map[string]bool{}
	var ids []string
	for _, c := range w.live.all() {
		if !seen[c.sessionID] {
			seen[c.sessionID] = true
			ids = append(ids, c.sessionID)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	gone, err := ended(ctx, ids)
	if err != nil {
		return 0, err
	}
	n := 0
	for id, reason := range gone {
		n += w.Cancel(id, reason)
	}
	return n, nil
}

// NotifyChannel is the Postgres LISTEN/NOTIFY channel on which a session
// cancel reaches every instance; the payload is "<session id> <reason>".
const NotifyChannel = "gatehouse_session_ended"

// ParseNotification splits a NotifyChannel payload into the arguments of
// Cancel.
func ParseNotification(payload string) (sessionID, reason string, ok bool) {
	sessionID, reason, _ = strings.Cut(strings.TrimSpace(payload), " ")
	return sessionID, reason, sessionID != ""
}

// relay runs the byte stream of c until it ends, then records the close.
func (w *Worker) relay(c *liveConn, client, target net.Conn) {
	errUp, errDown := tunnel.Join(client, target,
		func(n int64) { c.up.Add(n) }, func(n int64) { c.down.Add(n) })
	reason := closeReason(errUp, errDown)
	if reason != ReasonTimedOut && !time.Now().Before(c.expiry().Add(-expiryTolerance)) {
		// The session was expiring: `connect` closes its side at the
		// expiration too, and may beat this worker's deadline by a hair.
		reason = ReasonTimedOut
	}
	w.end(c, reason)
}

// expiryTolerance is how close to its session's expiration a connection
// that ends is taken to have timed out (the client's clock and timer, and
// this process's, differ by that much at most).
const expiryTolerance = time.Second

// closeReason names how a relay ended when nobody cut it.
func closeReason(errs ...error) string {
	clean := true
	for _, err := range errs {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return ReasonTimedOut
		}
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return ReasonNetworkError
		}
		clean = clean && err == nil
	}
	if clean {
		return ReasonClosedByEndUser
	}
	return ReasonSystemError
}

// end closes c's sockets, unregisters it and records it closed with the
// reason it was cut with, or else reason.
func (w *Worker) end(c *liveConn, reason string) {
	if reason == "" {
		reason = ReasonSystemError
	}
	c.cutWith(reason)
	registered := w.live.remove(c)
	c.mu.Lock()
	reason = c.reason
	c.mu.Unlock()
	w.closed(c, reason)
	if registered {
		w.live.wg.Done() // recorded: Shutdown may return
	}
}

// closed records c closed (once; later byte flushes are dropped). It
// returns once the end is recorded, or kept to be recorded again when the
// store failed.
func (w *Worker) closed(c *liveConn, reason string) {
	c.recMu.Lock()
	defer c.recMu.Unlock()
	if c.recorded {
		return
	}
	c.recorded = true
	up, down := c.up.Load(), c.down.Load()
	w.cfg.Logger.Debug("connection closed", slog.String("connection_id", c.id), slog.String("session_id", c.sessionID),
		slog.String("reason", reason), slog.Int64("bytes_up", up), slog.Int64("bytes_down", down))
	end := ConnectionEnd{ConnectionID: c.id, Reason: reason, Up: up, Down: down, At: w.cfg.Now()}
	if err := w.recordClose(end); err != nil {
		w.retryLater(end) // the batch's failure is logged once by its recorder
	}
}

// defaultCloseBatch is Config.CloseBatch's default: the connection ends
// recorded in one call.
const defaultCloseBatch = 500

// defaultCloseLinger is Config.CloseLinger's default.
const defaultCloseLinger = 20 * time.Millisecond

// closeTimeout bounds recording one batch of connection ends.
const closeTimeout = 30 * time.Second

// closeRequest is one connection end waiting in the close queue.
type closeRequest struct {
	end  ConnectionEnd
	done chan error
}

// recordClose records end with the ends that arrive meanwhile (group
// commit): the first caller to find nobody recording becomes the recorder,
// waits Config.CloseLinger for others, and records the queue in batches of
// Config.CloseBatch until it is empty; the others wait for their batch. A
// mass close of thousands of connections is thus a few calls on one
// database connection, which leaves the pool (and the instance heartbeat,
// and the end-session call) free.
func (w *Worker) recordClose(end ConnectionEnd) error {
	done := make(chan error, 1)
	w.closeMu.Lock()
	w.closeQueue = append(w.closeQueue, closeRequest{end: end, done: done})
	lead := !w.recording
	w.recording = true
	w.closeMu.Unlock()
	if lead {
		if w.cfg.CloseLinger > 0 {
			time.Sleep(w.cfg.CloseLinger)
		}
		w.recordQueue()
	}
	return <-done
}

// recordQueue records the close queue in batches of Config.CloseBatch
// until it is empty, letting priority work pass before each batch.
func (w *Worker) recordQueue() {
	for {
		w.priority.yield(maxPriorityYield)
		w.closeMu.Lock()
		n := min(len(w.closeQueue), w.cfg.CloseBatch)
		if n == 0 {
			w.recording = false
			w.closeMu.Unlock()
			return
		}
		batch := slices.Clone(w.closeQueue[:n])
		w.closeQueue = slices.Delete(w.closeQueue, 0, n)
		w.closeMu.Unlock()
		ends := make([]ConnectionEnd, len(batch))
		for i, r := range batch {
			ends[i] = r.end
		}
		err := w.storeCloses(ends)
		if err != nil {
			w.cfg.Logger.Error("record connections closed (will retry)", slog.Int("count", len(ends)), slog.Any("error", err))
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}

// storeCloses makes one bounded ConnectionsClosed call.
func (w *Worker) storeCloses(ends []ConnectionEnd) error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	return w.cfg.Sessions.ConnectionsClosed(ctx, ends)
}

// maxPendingCloses bounds the ends kept for retry; past it the oldest are
// dropped (logged), and the dead-instance rule of the session loop is left
// to close them if this instance goes away.
const maxPendingCloses = 100_000

func (w *Worker) retryLater(end ConnectionEnd) {
	w.pendingMu.Lock()
	defer w.pendingMu.Unlock()
	if len(w.pending) >= maxPendingCloses {
		w.cfg.Logger.Error("too many connection ends waiting to be recorded: dropping the oldest", slog.String("connection_id", w.pending[0].ConnectionID))
		w.pending = w.pending[1:]
	}
	w.pending = append(w.pending, end)
}

// retryCloses records the pending connection ends again, in batches,
// keeping those that still fail.
func (w *Worker) retryCloses(ctx context.Context) {
	w.pendingMu.Lock()
	todo := w.pending
	w.pending = nil
	w.pendingMu.Unlock()
	for len(todo) > 0 && ctx.Err() == nil {
		w.priority.yield(maxPriorityYield)
		n := min(len(todo), w.cfg.CloseBatch)
		if err := w.storeCloses(todo[:n]); err != nil {
			break // the store is still failing: try again at the next flush
		}
		todo = todo[n:]
	}
	if len(todo) > 0 {
		w.pendingMu.Lock()
		w.pending = append(todo, w.pending...)
		w.pendingMu.Unlock()
	}
}

// flush records the running byte totals of connections that moved bytes.
func (w *Worker) flush(ctx context.Context) {
	var held []*liveConn
	var rows []ConnectionBytes
	record := func() {
		if len(rows) == 0 {
			return
		}
		err := w.cfg.Sessions.ConnectionsBytes(ctx, rows)
		if err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("record connection bytes", slog.Int("connections", len(rows)), slog.Any("error", err))
		}
		for i, c := range held {
			if err == nil {
				c.flushedUp, c.flushedDown = rows[i].Up, rows[i].Down
			}
			c.recMu.Unlock()
		}
		held, rows = held[:0], rows[:0]
	}
	for _, c := range w.live.all() {
		// A connection whose connect or close is being recorded is
		// left for the next flush (or its close, which records its
		// final bytes): the flush waits for no record but its own.
		if !c.recMu.TryLock() {
			continue
		}
		up, down := c.up.Load(), c.down.Load()
		if c.recorded || (up == c.flushedUp && down == c.flushedDown) {
			c.recMu.Unlock()
			continue
		}
		// Held until the batch is recorded: c's close is recorded after.
		held = append(held, c)
		rows = append(rows, ConnectionBytes{ConnectionID: c.id, Up: up, Down: down})
		if len(rows) >= w.cfg.CloseBatch {
			record()
		}
	}
	record()
}

// Run flushes running byte totals (and forgets bad-token budgets that have
// refilled) every FlushInterval until ctx ends, then shuts the worker down
// (cutting live connections with ReasonSystemError) and returns nil. It is a background loop owned by run.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTicker(w.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return w.Shutdown(sctx)
		case <-t.C:
			w.flush(ctx)
			w.retryCloses(ctx)
			w.bad.prune(w.cfg.Now())
		}
	}
}

// Shutdown refuses new tunnels, cuts every live connection with
// ReasonSystemError, and waits until all are recorded closed (or kept to
// be recorded again when the store failed) or ctx ends.
func (w *Worker) Shutdown(ctx context.Context) error {
	w.live.mu.Lock()
	w.live.shutdown = true
	w.live.mu.Unlock()
	for _, c := range w.live.all() {
		c.cutWith(ReasonSystemError)
	}
	done := make(chan struct{})
	go func() { w.live.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
