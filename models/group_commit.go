package models

import (
	"sync"
	"time"
)

// groupCommit gathers the requests that arrive for one key while an
// earlier batch of that key is being written, and writes them together:
// one statement and one commit (one WAL flush, one turn on a row lock) for
// many requests (issue 17). A request that finds nothing running for its
// key is written at once, alone if nobody else waits, so a lone request
// waits for nothing, unless linger is set: then it first waits that long
// for others (for writes nobody waits on but their own requester). Batches
// that queue meanwhile are written by a goroutine that carries on until
// the key's queue is empty, so each caller returns as soon as its own
// batch is written.
type groupCommit[R any] struct {
	max    int           // requests per batch at most
	linger time.Duration // how long a request that finds nothing running waits for others

	mu      sync.Mutex
	queues  map[string][]*waiting[R]
	running map[string]bool
}

type waiting[R any] struct {
	req  *R
	done chan struct{}
}

// do queues req under key and returns once write has handled the batch
// holding it (write stores each request's result in it).
func (g *groupCommit[R]) do(key string, req *R, write func([]*R)) {
	w := &waiting[R]{req: req, done: make(chan struct{})}
	g.mu.Lock()
	if g.queues == nil {
		g.queues, g.running = map[string][]*waiting[R]{}, map[string]bool{}
	}
	g.queues[key] = append(g.queues[key], w)
	lead := !g.running[key]
	g.running[key] = true
	g.mu.Unlock()
	if lead {
		if g.linger > 0 {
			time.Sleep(g.linger)
		}
		g.run(key, write)
	}
	<-w.done
}

// run writes one batch of key's queue, then hands what queued meanwhile to
// a goroutine.
func (g *groupCommit[R]) run(key string, write func([]*R)) {
	g.mu.Lock()
	q := g.queues[key]
	n := min(len(q), g.max)
	batch := q[:n:n]
	if n == len(q) {
		delete(g.queues, key)
	} else {
		g.queues[key] = q[n:]
	}
	g.mu.Unlock()
	reqs := make([]*R, len(batch))
	for i, w := range batch {
		reqs[i] = w.req
	}
	write(reqs)
	for _, w := range batch {
		close(w.done)
	}
	g.mu.Lock()
	more := len(g.queues[key]) > 0
	if !more {
		delete(g.running, key)
	}
	g.mu.Unlock()
	if more {
		go g.run(key, write)
	}
}
