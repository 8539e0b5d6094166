package webhook

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ErrPrivateDestination is returned when a webhook URL resolves to an
// address that outbound requests may not reach.
var ErrPrivateDestination = errors.New("destination is a private, loopback or link-local address (allowed only with --webhook-allow-private)")

// cgnat is the shared address space (RFC 6598), private in practice.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// forbidden reports whether outbound webhook requests may not reach ip.
func forbidden(ip netip.Addr) bool {
	ip = ip.Unmap()
	return !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || cgnat.Contains(ip)
}

// CheckDial refuses an ip:port that outbound webhook requests may not
// reach (ErrPrivateDestination). The client calls it on the resolved
// address of every connection it opens.
func CheckDial(address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook dial %s: %w", address, err)
	}
	if forbidden(ap.Addr()) {
		return fmt.Errorf("webhook dial %s: %w", address, ErrPrivateDestination)
	}
	return nil
}

// Client sends deliveries: HTTP/1.1 POSTs over connections it keeps open
// per origin, written and read by the caller's goroutine. A delivery costs
// about 16 µs of CPU less than through net/http's Transport, whose reading
// and writing goroutines take turns with the caller at every request
// (BenchmarkPost; docs/benchmarks.md, issue 16). It uses no proxy and follows
// no redirect; unless allowPrivate, it checks the address actually dialled,
// after name resolution, so a name that resolves to a private address (or
// is re-pointed to one) is refused too.
type Client struct {
	// TLS is the configuration of https endpoints' connections (nil: the
	// system's roots); the client sets the server name and HTTP/1.1.
	TLS *tls.Config

	timeout  time.Duration
	dialer   net.Dialer
	sessions tls.ClientSessionCache // TLS session resumption, unless TLS has its own

	mu    sync.Mutex
	idle  map[string][]*idleConn // origin -> connections, the newest last
	swept time.Time
}

type idleConn struct {
	nc    net.Conn
	br    *bufio.Reader
	since time.Time
}

// Idle connections: at most maxIdlePerOrigin kept per origin (the
// deliverer's default Parallel and more), each for at most idleFor, which
// is shorter than common servers' own keep-alive timeouts (Node.js closes
// after 5 s), so a reused connection is rarely one the receiver is closing.
const (
	maxIdlePerOrigin = 16
	idleFor          = 4 * time.Second
)

// NewClient makes the client deliveries go through. timeout bounds each
// request (dial, TLS handshake, answer) when its context has no earlier
// deadline.
func NewClient(allowPrivate bool, timeout time.Duration) *Client {
	c := &Client{timeout: timeout, dialer: net.Dialer{Timeout: timeout}, sessions: tls.NewLRUClientSessionCache(64)}
	if !allowPrivate {
		c.dialer.Control = func(network, address string, _ syscall.RawConn) error { return CheckDial(address) }
	}
	return c
}

// errNoAnswer is a kept connection that failed before a byte of the
// answer: the receiver had closed it. The request goes again on a new one.
var errNoAnswer = errors.New("connection closed before an answer")

// Post sends body to rawURL with header, and returns the answer's status
// and at most max bytes of its body. It ends at ctx's deadline or
// cancellation, or after the client's timeout.
func (c *Client) Post(ctx context.Context, rawURL string, header http.Header, body []byte, max int) (int, []byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return 0, nil, fmt.Errorf("webhook URL %q: not an http or https address", rawURL)
	}
	if dl, ok := ctx.Deadline(); c.timeout > 0 && (!ok || time.Until(dl) > c.timeout) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req := request(u, header, body)
	for {
		conn, reused := c.take(u)
		if conn == nil {
			if conn, err = c.dial(ctx, u); err != nil {
				return 0, nil, err
			}
		}
		status, answer, err := c.roundTrip(ctx, u, conn, req, reused, max)
		if errors.Is(err, errNoAnswer) && ctx.Err() == nil {
			continue // a kept connection the receiver had closed
		}
		return status, answer, err
	}
}

// request is the whole request as written on the connection. It is built
// here rather than by http.Request.Write, which cost 11 µs more per request
// in BenchmarkPost (its buffered writer, sorted headers and body copy). The
// URL was parsed by url.Parse (no control characters) and the header values
// are the deliverer's own.
func request(u *url.URL, header http.Header, body []byte) []byte {
	var b bytes.Buffer
	b.Grow(256 + len(body))
	b.WriteString("POST " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\n")
	if u.User != nil {
		pw, _ := u.User.Password()
		b.WriteString("Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw)) + "\r\n")
	}
	_ = header.Write(&b)
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	b.Write(body)
	return b.Bytes()
}

// roundTrip writes req on conn and reads the answer. A kept connection
// (reused) that fails before the first byte of the answer gives
// errNoAnswer. conn goes back to the idle ones only when the answer was
// read whole and the receiver keeps the connection open.
func (c *Client) roundTrip(ctx context.Context, u *url.URL, conn *idleConn, req []byte, reused bool, max int) (int, []byte, error) {
	keep := false
	defer func() {
		if !keep {
			conn.nc.Close()
		}
	}()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	_, err := conn.nc.Write(req)
	if err == nil {
		_, err = conn.br.Peek(1)
	}
	if err != nil {
		if reused && ctx.Err() == nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, nil, errNoAnswer
		}
		return 0, nil, failure(ctx, err)
	}
	resp, err := http.ReadResponse(conn.br, nil)
	for err == nil && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = http.ReadResponse(conn.br, nil) // 1xx: informational, the answer follows
	}
	if err != nil {
		return 0, nil, failure(ctx, err)
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, int64(max)))
	if err != nil {
		return resp.StatusCode, answer, failure(ctx, err)
	}
	// Kept only when the body ended within max (no byte is left unread)
	// and neither side asked to close.
	var one [1]byte
	if n, end := resp.Body.Read(one[:]); n == 0 && end == io.EOF && !resp.Close && stop() {
		keep = true
		_ = conn.nc.SetDeadline(time.Time{})
		c.put(u, conn)
	}
	return resp.StatusCode, answer, nil
}

// failure says why a request failed: the context's end where it ended it.
func failure(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("webhook request: %w", context.Cause(ctx))
	}
	return fmt.Errorf("webhook request: %w", err)
}

func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }

// take returns the newest idle connection to u's origin, if any, closing
// those idle for longer than idleFor.
func (c *Client) take(u *url.URL) (*idleConn, bool) {
	key := origin(u)
	c.mu.Lock()
	defer c.mu.Unlock()
	conns := c.idle[key]
	for len(conns) > 0 {
		conn := conns[len(conns)-1]
		conns = conns[:len(conns)-1]
		if time.Since(conn.since) < idleFor {
			c.idle[key] = conns
			return conn, true
		}
		conn.nc.Close()
	}
	delete(c.idle, key)
	return nil, false
}

// put keeps conn for the next request to u's origin, or closes it when
// maxIdlePerOrigin are kept already. Every idleFor it closes the
// connections idle for longer, to any origin (one nothing is sent to any
// more, say).
func (c *Client) put(u *url.URL, conn *idleConn) {
	now := time.Now()
	conn.since = now
	key := origin(u)
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.swept) >= idleFor {
		c.swept = now
		c.closeIdle(now.Add(-idleFor))
	}
	if len(c.idle[key]) >= maxIdlePerOrigin {
		conn.nc.Close()
		return
	}
	if c.idle == nil {
		c.idle = map[string][]*idleConn{}
	}
	c.idle[key] = append(c.idle[key], conn)
}

// CloseIdle closes the connections kept for later requests.
func (c *Client) CloseIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeIdle(time.Now().Add(time.Hour))
}

// closeIdle closes the idle connections kept since before t (c.mu held).
func (c *Client) closeIdle(t time.Time) {
	for key, conns := range c.idle {
		kept := conns[:0]
		for _, conn := range conns {
			if conn.since.Before(t) {
				conn.nc.Close()
			} else {
				kept = append(kept, conn)
			}
		}
		if len(kept) == 0 {
			delete(c.idle, key)
		} else {
			c.idle[key] = kept
		}
	}
}

// dial opens a connection to u's host (the dialer's check refuses private
// addresses), with TLS for https.
func (c *Client) dial(ctx context.Context, u *url.URL) (*idleConn, error) {
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "https":
		port = "443"
	default:
		port = "80"
	}
	nc, err := c.dialer.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, failure(ctx, err)
	}
	if u.Scheme == "https" {
		cfg := &tls.Config{}
		if c.TLS != nil {
			cfg = c.TLS.Clone()
		}
		cfg.ServerName, cfg.NextProtos = u.Hostname(), []string{"http/1.1"}
		if cfg.ClientSessionCache == nil {
			cfg.ClientSessionCache = c.sessions
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, failure(ctx, err)
		}
		nc = tc
	}
	return &idleConn{nc: nc, br: bufio.NewReaderSize(nc, 4096)}, nil
}
