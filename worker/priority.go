package worker

import (
	"sync"
	"time"
)

// The close recorder (recordQueue) keeps one database connection busy for
// as long as a mass close lasts: 9,000 connections closing at once are
// about twenty batches back to back. Two calls must not queue behind that
// storm (issue 11, finding 10): the end user's end-session request
// (`gatehouse connect` gives each attempt 5 s) and the instance heartbeat
// (a missed one makes other instances declare this one dead). They run as
// priority work: while any runs, the recorder starts no new batch, so they
// wait for the batch in flight at most, never for the queue behind it (on
// SQLite's single connection, on Postgres the session's row lock). The
// recorder holds off for maxPriorityYield at most per batch, so a stream of
// priority work cannot stall the closes.
const maxPriorityYield = 2 * time.Second

// priorityGate counts the priority work running.
type priorityGate struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops back to 0; nil while n == 0
}

func (g *priorityGate) enter() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n == 0 {
		g.idle = make(chan struct{})
	}
	g.n++
}

func (g *priorityGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 {
		close(g.idle)
		g.idle = nil
	}
}

// yield returns once no priority work runs, or after max.
func (g *priorityGate) yield(max time.Duration) {
	g.mu.Lock()
	idle := g.idle
	g.mu.Unlock()
	if idle == nil {
		return
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
}

// Priority runs f as priority work: the close recorder starts no new batch
// of connection ends while it runs (see maxPriorityYield). The instance
// heartbeat runs through it; the end-session request does too.
func (w *Worker) Priority(f func()) {
	w.priority.enter()
	defer w.priority.leave()
	f()
}
