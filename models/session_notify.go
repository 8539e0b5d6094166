package models

import (
	"context"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Session changes reach the other instances' live pages through Postgres
// notifications (SessionNotifyChannel). They are sent after commit, by
// their own one-statement transactions, coalesced, and never from inside
// the changing transaction (issue 17): Postgres serialises every
// committing transaction that notifies on one cluster-wide lock held until
// its commit record is flushed, so a NOTIFY inside each admission, connect
// and close made every connection of every session take turns on that lock
// for one WAL flush each. The notification is only a hint for live pages
// (what they show is read from the database): if this process dies between
// a commit and its notification, the other instances' pages show the change
// at their next event or reload. Cuts of connections (worker cancels,
// retimes, ended logins) keep their notifications inside their
// transactions, on their own channels.

// notifySendTimeout bounds sending one notification.
const notifySendTimeout = 5 * time.Second

// notifyLinger is how long changes wait for others before they are sent:
// a session's admission, connect and close, and those of the connections
// opened right after, then go in one notification instead of one each
// (each costs a transaction on Postgres, and every instance, this one
// included, reads it). The other instances' live pages hear of a change
// at most this much later; this instance's own pages at once (the
// Notifier).
const notifyLinger = 20 * time.Millisecond

// notifyQueue coalesces session changes waiting to be sent: the first
// change queued while nothing is being sent starts a sender, which waits
// linger, then sends everything queued (each session once), and so on
// until the queue is empty.
type notifyQueue struct {
	db         *gorm.DB
	instanceID string
	linger     time.Duration

	mu      sync.Mutex
	pending []SessionChange
	queued  map[SessionChange]bool
	sending bool
}

// add queues changes for the other instances.
func (q *notifyQueue) add(changes []SessionChange) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.queued == nil {
		q.queued = map[SessionChange]bool{}
	}
	for _, c := range changes {
		if !q.queued[c] {
			q.queued[c] = true
			q.pending = append(q.pending, c)
		}
	}
	if !q.sending && len(q.pending) > 0 {
		q.sending = true
		go q.send()
	}
}

// send sends the queue until it is empty. A notification that cannot be
// sent is dropped (a hint, see above). synchronous_commit is off for the
// notification's own transaction: it writes nothing that must survive a
// crash, so its commit need not wait for a WAL flush under the lock.
func (q *notifyQueue) send() {
	for {
		time.Sleep(q.linger)
		q.mu.Lock()
		batch := q.pending
		q.pending = nil
		clear(q.queued)
		if len(batch) == 0 {
			q.sending = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		for _, p := range EncodeSessionChanges(q.instanceID, batch) {
			ctx, cancel := context.WithTimeout(context.Background(), notifySendTimeout)
			_ = q.db.WithContext(ctx).Exec("SELECT set_config('synchronous_commit', 'off', true), pg_notify(?, ?)",
				SessionNotifyChannel, p).Error
			cancel()
		}
	}
}
