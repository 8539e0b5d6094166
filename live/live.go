// Package live is the in-process broker of the live pages: the Store tells
// it (after commit) which sessions changed, and each open Server-Sent Events
// stream subscribed to one of them is woken up to re-render its view. A
// Postgres listener (package pgnotify) feeds it changes made by other
// instances.
package live

import (
	"slices"
	"sync"

	"gatehouse/models"
)

// Filter says which changes wake a subscription: one session, one user's
// sessions, or (All) every session.
type Filter struct {
	SessionID string
	UserID    string
	All       bool
	// LoginID is the login the stream belongs to: LoginsEnded with this id
	// closes the subscription (it wakes nothing by itself).
	LoginID string

	// Access: AccessAll wakes on every access request change, AccessUserID
	// on those of one requester (see access.go). Session changes never
	// wake an access-only filter, nor access changes a session one.
	AccessAll    bool
	AccessUserID string
}

func (f Filter) matches(c models.SessionChange) bool {
	return f.All || (f.SessionID != "" && f.SessionID == c.SessionID) || (f.UserID != "" && f.UserID == c.UserID)
}

// Subscription is one listener. C receives a value when something it
// watches changed; several changes before it reads coalesce into one.
// C is closed when the subscription or the broker is closed, or when its
// login ends (Broker.LoginsEnded).
type Subscription struct {
	C      <-chan struct{}
	c      chan struct{}
	filter Filter
	b      *Broker
}

// Close ends the subscription. Safe to call more than once.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if _, ok := s.b.subs[s]; ok {
		delete(s.b.subs, s)
		close(s.c)
	}
}

// Broker fans session changes out to subscriptions. Its zero value is not
// usable; call New. Safe for concurrent use.
type Broker struct {
	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
}

// New returns an empty broker.
func New() *Broker { return &Broker{subs: map[*Subscription]struct{}{}} }

// Subscribe registers a listener for changes matching f. On a closed
// broker the subscription's channel is already closed.
func (b *Broker) Subscribe(f Filter) *Subscription {
	c := make(chan struct{}, 1)
	s := &Subscription{C: c, c: c, filter: f, b: b}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(c)
		return s
	}
	b.subs[s] = struct{}{}
	return s
}

// SessionsChanged wakes every subscription watching one of the changes. It
// never blocks (models.SessionNotifier).
func (b *Broker) SessionsChanged(changes []models.SessionChange) {
	b.wake(func(f Filter) bool { return slices.ContainsFunc(changes, f.matches) })
}

// wake wakes every subscription whose filter wants. Several wakes before a
// read coalesce: the reader re-renders everything.
func (b *Broker) wake(wants func(Filter) bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if wants(s.filter) {
			select {
			case s.c <- struct{}{}:
			default:
			}
		}
	}
}

// LoginsEnded closes the subscriptions of these logins (logout, expiry,
// password change, user or account deleted), so their streams end at once.
// It never blocks for long.
func (b *Broker) LoginsEnded(loginIDs []string) {
	ended := make(map[string]bool, len(loginIDs))
	for _, id := range loginIDs {
		ended[id] = true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.filter.LoginID != "" && ended[s.filter.LoginID] {
			delete(b.subs, s)
			close(s.c)
		}
	}
}

// Close ends every subscription (at shutdown, so streams return) and
// refuses new ones.
func (b *Broker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		delete(b.subs, s)
		close(s.c)
	}
}

// Subscribers counts open subscriptions (metrics, tests).
func (b *Broker) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}
