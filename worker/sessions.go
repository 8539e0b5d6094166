// Package worker is Gatehouse's proxy worker: it accepts tunnels from
// `gatehouse connect` on the web listener (see package tunnel for the wire
// protocol), admits each connection through the sessions store, dials the
// session's host and relays bytes, and cuts live connections at once when a
// session is canceled or expires.
//
// The worker depends on the sessions store only through the [Sessions]
// interface declared here; main wires the store (translating its error kinds
// into this package's errors) and mounts [Worker.Handler] at [MountPath].
package worker

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"gatehouse/tunnel"
)

// MountPath is the path prefix the web server mounts [Worker.Handler] at:
// POST /v1/proxy opens a tunnel, GET /v1/proxy/session describes the
// session, DELETE /v1/proxy/session ends it as closed by its end user.
const MountPath = tunnel.Path

// Connection closed reasons, recorded exactly as written.
const (
	ReasonClosedByEndUser = "closed by end-user" // either end closed the stream normally
	ReasonCanceled        = "canceled"           // the session was canceled (Cancel)
	ReasonTimedOut        = "timed out"          // the session's expiration time passed
	ReasonNetworkError    = "network error"      // dial failure, reset, or other I/O error
	ReasonSystemError     = "system error"       // worker shutdown or an internal failure
)

// Errors a [Sessions] implementation returns (wrapped is fine: the worker
// uses errors.Is) so that the worker can tell the client what happened. Any
// other error is a system error: logged, and shown to the client as such.
var (
	// ErrBadToken: no session has this authorization token.
	ErrBadToken = errors.New("bad session token")
	// ErrSessionEnded: the session is canceling or terminated.
	ErrSessionEnded = errors.New("session ended")
	// ErrExpired: the session's expiration time has passed.
	ErrExpired = errors.New("session expired")
	// ErrLimitReached: the session's connection limit is used up.
	ErrLimitReached = errors.New("connection limit reached")
)

// Sessions is what the worker needs from the sessions store.
//
// The worker calls AdmitConnection without any lock of its own, so
// concurrent connections on one session are admitted in parallel; the
// implementation must make admission atomic (N concurrent calls on a limit
// of L admit exactly min(N, L)).
//
// For every admitted connection the worker records its end exactly once
// (in a ConnectionsClosed batch), possibly preceded by ConnectionConnected
// (once, when the host accepted the TCP connection) and ConnectionsBytes
// (zero or more times). A connection whose dial fails is closed with
// ReasonNetworkError and never connected; it gives its connection-limit
// slot back (DOMAIN.md).
type Sessions interface {
	// AdmitConnection atomically checks token → session (not canceling or
	// terminated, not expired, limit not reached), moves a pending session
	// to active, records a new authorized connection with client, and
	// returns where to dial. Errors: ErrBadToken, ErrSessionEnded,
	// ErrExpired, ErrLimitReached, or any other error (system error).
	AdmitConnection(ctx context.Context, token string, client ClientInfo) (*Admission, error)
	// ConnectionConnected records that the worker connected to endpoint at at.
	ConnectionConnected(ctx context.Context, connectionID string, endpoint netip.AddrPort, at time.Time) error
	// ConnectionsBytes records the running byte totals (absolute, never
	// decreasing) of live connections; called periodically, with the
	// connections whose totals moved since they were last recorded, in
	// batches of at most Config.CloseBatch. After an error the worker sends
	// them all again at its next flush, so recording a total twice must
	// change nothing (the store records what is new since its last record).
	ConnectionsBytes(ctx context.Context, totals []ConnectionBytes) error
	// ConnectionsClosed records the ends of connections (each with one of
	// the Reason* constants and its final byte totals), all or none: the
	// worker gathers the ends that arrive while a batch is being recorded
	// into the next one, so a mass close is a few batches rather than
	// thousands of calls. Ends of unknown connections are skipped.
	ConnectionsClosed(ctx context.Context, ends []ConnectionEnd) error
	// SessionInfo describes the session of token for `connect`. Errors:
	// ErrBadToken, ErrSessionEnded, ErrExpired, or any other error.
	SessionInfo(ctx context.Context, token string) (*SessionInfo, error)
	// CloseSession ends the session of token as closed by its end user:
	// terminated at once when no connection is open, else canceling, its
	// live connections cut with ReasonClosedByEndUser (wherever they are
	// relayed) and terminated once they are closed. Idempotent: a session
	// already closed this way is returned again. Errors: ErrBadToken,
	// ErrSessionEnded (ended for another reason), ErrExpired, or any other
	// error.
	CloseSession(ctx context.Context, token string) (*ClosedSession, error)
}

// ConnectionEnd is the end of one connection, to record.
type ConnectionEnd struct {
	ConnectionID string
	// Reason is one of the Reason* constants.
	Reason   string
	Up, Down int64
	At       time.Time
}

// ConnectionBytes is a live connection's running byte totals.
type ConnectionBytes struct {
	ConnectionID string
	Up, Down     int64
}

// ClosedSession is a session its end user closed.
type ClosedSession struct {
	SessionID string
	// State is "terminated", or "canceling" while live connections close.
	State string
	// Reason is the termination reason: ReasonClosedByEndUser.
	Reason string
}

// ClientInfo describes who opened a tunnel.
type ClientInfo struct {
	// Addr is the peer of the tunnel request: the client, or the last proxy.
	Addr netip.AddrPort
	// UserIP is the user's real IP: Addr's address, or the X-Forwarded-For
	// hop chosen by Config.UserIP when the peer is a trusted proxy.
	UserIP netip.Addr
}

// Admission is an authorized connection: where to dial and until when.
type Admission struct {
	SessionID    string
	ConnectionID string
	// Endpoint is the host to dial, as host:port.
	Endpoint string
	// ExpiresAt is the session's expiration time: the connection is cut then.
	ExpiresAt time.Time
	// ConnectionsLeft after this one; -1 means unlimited.
	ConnectionsLeft int
}

// SessionInfo is what `connect` prints about a session.
type SessionInfo struct {
	SessionID string
	ExpiresAt time.Time
	// ConnectionLimit is -1 for unlimited.
	ConnectionLimit int
	// ConnectionsLeft is -1 for unlimited.
	ConnectionsLeft int
}
