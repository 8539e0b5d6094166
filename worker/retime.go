package worker

import (
	"context"
	"time"
)

// retimedSession remembers a session's moved expiration for a while, so
// that a connection admitted just before the move but registered just
// after it gets the new deadline too.
type retimedSession struct {
	expires time.Time
	at      time.Time
}

// RetimeChannel is the Postgres LISTEN/NOTIFY channel on which a moved
// session expiration (an extension, or an administrator shortening it)
// reaches every instance; the payload is "<session id> <unix nanoseconds>"
// (models.EncodeRetime).
const RetimeChannel = "gatehouse_session_retimed"

// expiry is the connection's current deadline.
func (c *liveConn) expiry() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expires
}

// applyDeadline sets the connection's deadline on every socket it holds.
// A socket's deadline only bounds future and pending reads and writes:
// moving it later never interrupts the relay, so no byte is lost.
func (c *liveConn) applyDeadline() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.socks {
		_ = s.SetDeadline(c.expires)
	}
}

// Retime moves the deadline of every live connection of the session on
// this worker to expires (the session was extended or shortened; an
// expiration already past cuts them at once, recorded timed out). A
// connection of the session registered shortly after gets it too. It
// returns how many live connections it moved. Call it in-process after the
// move commits, from the LISTEN/NOTIFY listener (RetimeChannel) and from
// ReconcileExpirations.
func (w *Worker) Retime(sessionID string, expires time.Time) int {
	now := time.Now()
	g := w.live
	g.mu.Lock()
	for id, e := range g.retimed {
		if now.Sub(e.at) > endedTTL {
			delete(g.retimed, id)
		}
	}
	g.retimed[sessionID] = retimedSession{expires: expires, at: now}
	var conns []*liveConn
	for c := range g.sessions[sessionID] {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		c.expires = expires
		c.mu.Unlock()
		c.applyDeadline()
	}
	return len(conns)
}

// ReconcileExpirations is the periodic safety net behind Retime: it passes
// the ids of the sessions holding live connections here to expirations,
// which returns the current expiration of those still live, and moves the
// deadlines that differ. It returns how many connections it moved.
func (w *Worker) ReconcileExpirations(ctx context.Context, expirations func(ctx context.Context, sessionIDs []string) (map[string]time.Time, error)) (int, error) {
	current := map[string]time.Time{}
	for _, c := range w.live.all() {
		current[c.sessionID] = c.expiry()
	}
	if len(current) == 0 {
		return 0, nil
	}
	ids := make([]string, 0, len(current))
	for id := range current {
		ids = append(ids, id)
	}
	got, err := expirations(ctx, ids)
	if err != nil {
		return 0, err
	}
	n := 0
	for id, t := range got {
		if !t.Equal(current[id]) {
			n += w.Retime(id, t)
		}
	}
	return n, nil
}

// EndedError is ErrSessionEnded with the reason people should hear (e.g.
// "access grant revoked by Ada"), shown to `connect`.
type EndedError struct{ Why string }

func (e *EndedError) Error() string { return "session ended: " + e.Why }

// Is makes errors.Is(err, ErrSessionEnded) true.
func (e *EndedError) Is(target error) bool { return target == ErrSessionEnded }
