// Package workertest provides an in-memory worker.Sessions for tests of the
// worker and of `connect` (the real store's tests run on the databases).
package workertest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"gatehouse/worker"
)

// Session is one fake session.
type Session struct {
	ID       string
	Token    string
	Endpoint string
	Expires  time.Time
	Limit    int // -1 unlimited
	Count    int // connections admitted so far
	Ended    bool
	// ClosedByEndUser: CloseSession ended it (Ended is set too).
	ClosedByEndUser bool
	// CloseCalls counts the CloseSession calls on it.
	CloseCalls int
}

// Connection is what the fake recorded about one connection.
type Connection struct {
	ID, SessionID string
	Client        worker.ClientInfo
	Connected     bool
	Endpoint      netip.AddrPort
	Closed        bool
	Reason        string
	ClosedAt      time.Time // the end's At
	Up, Down      int64
	Flushes       int
}

// Sessions is a thread-safe in-memory worker.Sessions. AdmitHook, when set,
// runs inside AdmitConnection before the checks, without the lock;
// CloseHook likewise inside ConnectionsClosed, and CloseSessionHook inside
// CloseSession.
type Sessions struct {
	mu        sync.Mutex
	sessions  map[string]*Session
	conns     map[string]*Connection
	n         int
	AdmitHook func()
	CloseHook func()
	// CloseSessionHook runs inside CloseSession, without the lock.
	CloseSessionHook func()
	// ConnectedHook runs inside ConnectionConnected, without the lock.
	ConnectedHook func()
	Err           error // when set, every call fails with it (system error tests)
	closeErr      error // see SetCloseErr
	closedCalls   chan string
	batches       []int // sizes of the ConnectionsClosed calls
	bytesBatches  []int // sizes of the ConnectionsBytes calls
}

// New returns an empty fake.
func New() *Sessions {
	return &Sessions{sessions: map[string]*Session{}, conns: map[string]*Connection{}, closedCalls: make(chan string, 100000)}
}

// Add adds a session and returns it.
func (f *Sessions) Add(s Session) *Session {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := s
	f.sessions[s.Token] = &c
	return &c
}

// End marks the session of token ended (canceled).
func (f *Sessions) End(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[token].Ended = true
}

// AdmitConnection implements worker.Sessions.
func (f *Sessions) AdmitConnection(ctx context.Context, token string, client worker.ClientInfo) (*worker.Admission, error) {
	if f.AdmitHook != nil {
		f.AdmitHook()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return nil, f.Err
	}
	s, ok := f.sessions[token]
	switch {
	case !ok:
		return nil, worker.ErrBadToken
	case s.Ended:
		return nil, worker.ErrSessionEnded
	case !time.Now().Before(s.Expires):
		return nil, worker.ErrExpired
	case s.Limit >= 0 && s.Count >= s.Limit:
		return nil, worker.ErrLimitReached
	}
	s.Count++
	f.n++
	id := fmt.Sprintf("sc_%d", f.n)
	f.conns[id] = &Connection{ID: id, SessionID: s.ID, Client: client}
	left := -1
	if s.Limit >= 0 {
		left = s.Limit - s.Count
	}
	return &worker.Admission{SessionID: s.ID, ConnectionID: id, Endpoint: s.Endpoint, ExpiresAt: s.Expires, ConnectionsLeft: left}, nil
}

// ConnectionConnected implements worker.Sessions.
func (f *Sessions) ConnectionConnected(ctx context.Context, id string, endpoint netip.AddrPort, at time.Time) error {
	if f.ConnectedHook != nil {
		f.ConnectedHook()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.conns[id]
	if c.Connected || c.Closed {
		return fmt.Errorf("connection %s connected twice or after close", id)
	}
	c.Connected, c.Endpoint = true, endpoint
	return nil
}

// ConnectionsBytes implements worker.Sessions: all or none.
func (f *Sessions) ConnectionsBytes(ctx context.Context, totals []worker.ConnectionBytes) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range totals {
		if f.conns[t.ConnectionID].Closed {
			return fmt.Errorf("connection %s: bytes after close", t.ConnectionID)
		}
	}
	for _, t := range totals {
		c := f.conns[t.ConnectionID]
		c.Up, c.Down = t.Up, t.Down
		c.Flushes++
	}
	f.bytesBatches = append(f.bytesBatches, len(totals))
	return nil
}

// ConnectionsClosed implements worker.Sessions: all or none, like the store.
func (f *Sessions) ConnectionsClosed(ctx context.Context, ends []worker.ConnectionEnd) error {
	if f.CloseHook != nil {
		f.CloseHook()
	}
	f.mu.Lock()
	if err := f.closeErr; err != nil {
		f.mu.Unlock()
		return err
	}
	for _, e := range ends {
		if c := f.conns[e.ConnectionID]; c != nil && c.Closed {
			f.mu.Unlock()
			return fmt.Errorf("connection %s closed twice", e.ConnectionID)
		}
	}
	f.batches = append(f.batches, len(ends))
	var ids []string
	for _, e := range ends {
		c := f.conns[e.ConnectionID]
		if c == nil {
			continue
		}
		c.Closed, c.Reason, c.ClosedAt, c.Up, c.Down = true, e.Reason, e.At, e.Up, e.Down
		ids = append(ids, e.ConnectionID)
	}
	f.mu.Unlock()
	for _, id := range ids {
		f.closedCalls <- id
	}
	return nil
}

// CloseBatches returns the size of each successful ConnectionsClosed call.
func (f *Sessions) CloseBatches() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.batches)
}

// BytesBatches returns the size of each successful ConnectionsBytes call.
func (f *Sessions) BytesBatches() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bytesBatches)
}

// SetCloseErr makes ConnectionsClosed fail with err (nil: record again), as
// when the database is out of reach.
func (f *Sessions) SetCloseErr(err error) {
	f.mu.Lock()
	f.closeErr = err
	f.mu.Unlock()
}

// SessionInfo implements worker.Sessions.
func (f *Sessions) SessionInfo(ctx context.Context, token string) (*worker.SessionInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[token]
	switch {
	case !ok:
		return nil, worker.ErrBadToken
	case s.Ended:
		return nil, worker.ErrSessionEnded
	case !time.Now().Before(s.Expires):
		return nil, worker.ErrExpired
	}
	left := -1
	if s.Limit >= 0 {
		left = s.Limit - s.Count
	}
	return &worker.SessionInfo{SessionID: s.ID, ExpiresAt: s.Expires, ConnectionLimit: s.Limit, ConnectionsLeft: left}, nil
}

// CloseSession implements worker.Sessions: it marks the session ended by
// its end user (connections are cut by whoever runs the worker: the fake
// does not know it).
func (f *Sessions) CloseSession(ctx context.Context, token string) (*worker.ClosedSession, error) {
	if f.CloseSessionHook != nil {
		f.CloseSessionHook()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[token]
	if ok {
		s.CloseCalls++
	}
	switch {
	case !ok:
		return nil, worker.ErrBadToken
	case s.Ended && !s.ClosedByEndUser:
		return nil, worker.ErrSessionEnded
	case !s.Ended && !time.Now().Before(s.Expires):
		return nil, worker.ErrExpired
	}
	s.Ended, s.ClosedByEndUser = true, true
	return &worker.ClosedSession{SessionID: s.ID, State: "terminated", Reason: worker.ReasonClosedByEndUser}, nil
}

// Session returns a copy of the session of token.
func (f *Sessions) Session(token string) Session {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.sessions[token]
}

// Connections returns a copy of every recorded connection of the session
// (all sessions when sessionID is empty).
func (f *Sessions) Connections(sessionID string) []Connection {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Connection
	for _, c := range f.conns {
		if sessionID == "" || c.SessionID == sessionID {
			out = append(out, *c)
		}
	}
	return out
}

// WaitClosed waits until n more connections are recorded closed, or d passes.
func (f *Sessions) WaitClosed(n int, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for i := 0; i < n; i++ {
		select {
		case <-f.closedCalls:
		case <-t.C:
			return fmt.Errorf("only %d of %d connections recorded closed after %v", i, n, d)
		}
	}
	return nil
}
