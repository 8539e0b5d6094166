package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"gatehouse/tunnel"
)

// Config is everything a Worker needs.
type Config struct {
	// Sessions is the sessions store (required).
	Sessions Sessions
	// Logger receives system errors (required) and, at debug level, each
	// connection's end.
	Logger *slog.Logger
	// UserIP returns the user's real IP for a tunnel request, honouring the
	// trusted proxies (main passes web.ClientIP); nil means the peer address.
	UserIP func(r *http.Request) netip.Addr
	// DialTimeout bounds connecting to the host; default 10 s.
	DialTimeout time.Duration
	// FlushInterval is how often Run records running byte totals; default 5 s.
	FlushInterval time.Duration
	// Now is the clock for recorded times; default time.Now (UTC).
	Now func() time.Time
	// BadTokenBurst is how many unknown session tokens one client address
	// (the user IP; an IPv6 /64) may present before its tunnel and info
	// requests are refused with 429 until the budget refills; default 20,
	// negative turns the throttle off.
	BadTokenBurst int
	// BadTokenRefill is how often one more attempt comes back past the
	// burst; default 3 s (20 a minute).
	BadTokenRefill time.Duration
	// OnThrottle, when set, is called for each request the bad-token
	// throttle refuses (main counts them in the metrics).
	OnThrottle func()
	// Credentials, when set, serves POST tunnel.CredentialsPath.
	Credentials CredentialSource
	// CloseBatch is how many connection ends the recorder stores in one
	// call (one transaction), and how many running byte totals a flush
	// stores in one; default 500. A smaller batch holds the
	// database (SQLite's one connection, a session's row lock) for less
	// time, which is what priority work waits for (priority.go).
	CloseBatch int
	// CloseLinger is how long the first connection end to find the
	// recorder idle waits for others before it records them together;
	// default 20 ms, negative for none. Each end keeps the time it
	// happened (ConnectionEnd.At), so the records say when; what waits is
	// only the record, while the connection is already closed. Without
	// it, connections opened one after the other made one transaction
	// each, which the next connection's admission waited for (issue 17).
	CloseLinger time.Duration
}

// badTokenEntries bounds the addresses the bad-token throttle tracks.
const badTokenEntries = 100_000

// Worker relays tunnels and tracks their live connections. Create it with
// New; all methods are safe for concurrent use.
type Worker struct {
	cfg  Config
	live *registry
	bad  *badTokens // nil when the throttle is off

	pendingMu sync.Mutex
	pending   []ConnectionEnd // connection ends to record again (the store failed)

	closeMu    sync.Mutex
	closeQueue []closeRequest // connection ends waiting for the recorder
	recording  bool           // a caller of recordClose is recording the queue
	priority   priorityGate   // priority work the recorder lets pass (priority.go)
}

// New returns a Worker. Call Run in a background loop owned by run (it
// flushes byte totals and, when its context ends, shuts the worker down).
func New(cfg Config) *Worker {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.UserIP == nil {
		cfg.UserIP = func(r *http.Request) netip.Addr { return peer(r).Addr() }
	}
	if cfg.BadTokenBurst == 0 {
		cfg.BadTokenBurst = 20
	}
	if cfg.BadTokenRefill <= 0 {
		cfg.BadTokenRefill = 3 * time.Second
	}
	if cfg.CloseBatch <= 0 {
		cfg.CloseBatch = defaultCloseBatch
	}
	if cfg.CloseLinger == 0 {
		cfg.CloseLinger = defaultCloseLinger
	}
	w := &Worker{cfg: cfg, live: newRegistry()}
	if cfg.BadTokenBurst > 0 {
		w.bad = newBadTokens(cfg.BadTokenBurst, cfg.BadTokenRefill, badTokenEntries)
	}
	return w
}

// Handler serves POST [MountPath] (open a tunnel), GET [MountPath]/session
// (session info) and DELETE [MountPath]/session (the end user closes the
// session). It sees full request paths, so it
// works both mounted under MountPath by a chi router and on its own.
func (w *Worker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+tunnel.Path, w.serveTunnel)
	mux.HandleFunc("GET "+tunnel.InfoPath, w.serveInfo)
	mux.HandleFunc("DELETE "+tunnel.InfoPath, w.serveClose)
	mux.HandleFunc("POST "+tunnel.CredentialsPath, w.serveCredentials)
	return mux
}

// serveClose ends the token's session as closed by its end user (the
// Sessions implementation cuts its live connections through Cancel). It is
// priority work: a mass close's records do not keep it waiting (the user's
// `gatehouse connect` is exiting).
func (w *Worker) serveClose(rw http.ResponseWriter, r *http.Request) {
	token, ok := w.sessionToken(rw, r)
	if !ok {
		return
	}
	var closed *ClosedSession
	var err error
	w.Priority(func() { closed, err = w.cfg.Sessions.CloseSession(r.Context(), token) })
	if err != nil {
		w.refuse(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, tunnel.Closed{SessionID: closed.SessionID, State: closed.State, Reason: closed.Reason})
}

func (w *Worker) serveInfo(rw http.ResponseWriter, r *http.Request) {
	token, ok := w.sessionToken(rw, r)
	if !ok {
		return
	}
	info, err := w.cfg.Sessions.SessionInfo(r.Context(), token)
	if err != nil {
		w.refuse(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, tunnel.Info{
		SessionID: info.SessionID, ExpiresAt: info.ExpiresAt,
		ConnectionLimit: info.ConnectionLimit, ConnectionsLeft: info.ConnectionsLeft,
	})
}

// serveTunnel admits, dials, hijacks and starts the relay. Nothing is left
// half-recorded: once admitted, every path ends in ConnectionClosed.
func (w *Worker) serveTunnel(rw http.ResponseWriter, r *http.Request) {
	if !tunnel.IsUpgrade(r) {
		rw.Header().Set("Connection", "Upgrade")
		rw.Header().Set("Upgrade", tunnel.Protocol)
		writeRefusal(rw, http.StatusUpgradeRequired, tunnel.CodeBadRequest,
			"A tunnel request needs `Connection: Upgrade` and `Upgrade: "+tunnel.Protocol+"`; use `gatehouse connect`.")
		return
	}
	token, ok := w.sessionToken(rw, r)
	if !ok {
		return
	}
	client := ClientInfo{Addr: peer(r), UserIP: w.cfg.UserIP(r)}
	adm, err := w.cfg.Sessions.AdmitConnection(r.Context(), token, client)
	if err != nil {
		w.refuse(rw, r, err)
		return
	}
	c := &liveConn{id: adm.ConnectionID, sessionID: adm.SessionID, expires: adm.ExpiresAt}
	if reason, err := w.live.add(c); err != nil {
		w.closed(c, reason)
		w.refuse(rw, r, err)
		return
	}
	dialCtx, cancel := context.WithTimeout(r.Context(), w.cfg.DialTimeout)
	target, err := (&net.Dialer{}).DialContext(dialCtx, "tcp", adm.Endpoint)
	cancel()
	if err != nil {
		w.end(c, ReasonNetworkError)
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			err = op.Err // "connect: connection refused" rather than the whole dial line
		}
		writeRefusal(rw, http.StatusBadGateway, tunnel.CodeHostRefused,
			fmt.Sprintf("Gatehouse could not connect to the host %s: %v.", adm.Endpoint, err))
		return
	}
	if !c.attach(target) {
		w.end(c, "")
		w.refuse(rw, r, ErrSessionEnded)
		return
	}
	conn, brw, err := http.NewResponseController(rw).Hijack()
	if err != nil {
		w.end(c, ReasonSystemError)
		w.refuse(rw, r, fmt.Errorf("hijack tunnel %s: %w", c.id, err))
		return
	}
	// The connect is recorded while the first bytes already flow (one
	// database round trip off the first byte's path); c's record lock
	// keeps every later record of c (byte flushes, the close) after it. A
	// failure cuts the connection: it is then recorded closed, never half.
	endpoint, _ := netip.ParseAddrPort(target.RemoteAddr().String())
	c.recMu.Lock()
	go func() {
		defer c.recMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.cfg.Sessions.ConnectionConnected(ctx, c.id, endpoint, w.cfg.Now()); err != nil {
			w.cfg.Logger.Error("proxy", slog.String("connection_id", c.id), slog.Any("error", fmt.Errorf("record connection connected: %w", err)))
			c.cutWith(ReasonSystemError)
		}
	}()
	if !c.attach(conn) {
		w.end(c, "")
		return
	}
	// The session's expiration bounds both sockets, whatever the sweeper
	// does; Retime moves it when the session is extended or shortened.
	c.applyDeadline()
	if _, err := conn.Write([]byte(tunnel.SwitchingProtocols)); err != nil {
		w.end(c, ReasonNetworkError)
		return
	}
	// Bytes the client sent right after its request may already sit in the
	// server's buffer: they go to the host before anything read from conn.
	if n := brw.Reader.Buffered(); n > 0 {
		first, _ := brw.Reader.Peek(n)
		m, err := target.Write(first)
		c.up.Add(int64(m))
		if err != nil {
			w.end(c, ReasonNetworkError)
			return
		}
	}
	go w.relay(c, conn, target)
}

// sessionToken returns the request's session token; when the address is
// throttled or no token is given it answers the request itself and
// reports false.
func (w *Worker) sessionToken(rw http.ResponseWriter, r *http.Request) (string, bool) {
	if w.throttled(rw, r) {
		return "", false
	}
	token, ok := tunnel.BearerToken(r)
	if !ok {
		w.refuse(rw, r, ErrBadToken)
	}
	return token, ok
}

// throttled refuses r, and reports true, when its address has presented
// too many unknown session tokens lately (see badTokens).
func (w *Worker) throttled(rw http.ResponseWriter, r *http.Request) bool {
	wait := w.bad.wait(w.cfg.UserIP(r), w.cfg.Now())
	if wait <= 0 {
		return false
	}
	if w.cfg.OnThrottle != nil {
		w.cfg.OnThrottle()
	}
	secs := int(math.Ceil(wait.Seconds()))
	rw.Header().Set("Retry-After", strconv.Itoa(secs))
	writeRefusal(rw, http.StatusTooManyRequests, tunnel.CodeRateLimited,
		fmt.Sprintf("Too many unknown session tokens came from your address: try again in %d s, with the connect command copied whole from the session page.", secs))
	return true
}

// refuse answers a tunnel or info request that cannot go on.
func (w *Worker) refuse(rw http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrBadToken):
		w.bad.failed(w.cfg.UserIP(r), w.cfg.Now())
		writeRefusal(rw, http.StatusUnauthorized, tunnel.CodeBadToken,
			"Gatehouse does not know this session token: copy the whole connect command again from the session page.")
	case errors.Is(err, ErrSessionEnded):
		why := "canceled or terminated"
		var ended *EndedError
		if errors.As(err, &ended) && ended.Why != "" {
			why = ended.Why
		}
		writeRefusal(rw, http.StatusGone, tunnel.CodeSessionEnded,
			"The session has ended ("+why+"): start a new session.")
	case errors.Is(err, ErrExpired):
		writeRefusal(rw, http.StatusGone, tunnel.CodeExpired,
			"The session has expired: start a new session.")
	case errors.Is(err, ErrLimitReached):
		writeRefusal(rw, http.StatusForbidden, tunnel.CodeLimitReached,
			"The session's connection limit is reached: no connections are left.")
	case errors.Is(err, errShuttingDown):
		writeRefusal(rw, http.StatusServiceUnavailable, tunnel.CodeUnavailable,
			"This Gatehouse worker is shutting down: try again.")
	default:
		w.cfg.Logger.ErrorContext(r.Context(), "proxy", slog.String("path", r.URL.Path), slog.Any("error", err))
		writeRefusal(rw, http.StatusInternalServerError, tunnel.CodeSystemError,
			"Gatehouse hit an internal error: try again, or ask an administrator.")
	}
}

func writeRefusal(rw http.ResponseWriter, status int, code, msg string) {
	writeJSON(rw, status, tunnel.Refusal{Code: code, Message: msg})
}

// writeJSON answers v as JSON that nobody caches.
func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

func peer(r *http.Request) netip.AddrPort {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr)
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
