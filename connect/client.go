// Package connect is the `gatehouse connect` client: it opens a local
// listener and relays every local connection through its own tunnel to the
// Gatehouse worker (see package tunnel for the protocol).
package connect

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"gatehouse/tunnel"
)

// Client opens tunnels and reads session info for one session token.
type Client struct {
	base  *url.URL
	token string
	tls   *tls.Config // nil for http://
	// Timeout bounds dialing plus the tunnel handshake; default 30 s.
	Timeout time.Duration

	// A spare connection to Gatehouse, dialled (and its TLS handshake
	// done) ahead of the next Open; see Open.
	spareMu  sync.Mutex
	spare    net.Conn
	spareAt  time.Time
	filling  bool // a spare is being dialled
	released bool // release was called: keep none
}

// spareMaxAge is how long a spare connection is kept unused: well within
// the server's ReadHeaderTimeout (10 s), after which it closes a
// connection that sent no request, and within most balancers' idle
// timeouts.
const spareMaxAge = 5 * time.Second

// NewClient returns a Client for the Gatehouse at addr (http:// or
// https://). tlsConfig (may be nil) is used for https; it is cloned.
func NewClient(addr, token string, tlsConfig *tls.Config) (*Client, error) {
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--addr %q: want the Gatehouse URL, like https://gatehouse.example.com", addr)
	}
	if token == "" {
		return nil, errors.New("missing token: pass --token or set GATEHOUSE_TOKEN (copy it from the session page)")
	}
	c := &Client{base: u, token: token, Timeout: 30 * time.Second}
	if u.Scheme == "https" {
		if tlsConfig == nil {
			tlsConfig = &tls.Config{}
		}
		c.tls = tlsConfig.Clone()
		c.tls.NextProtos = []string{"http/1.1"} // a tunnel is an HTTP/1.1 upgrade
		if c.tls.ServerName == "" {
			c.tls.ServerName = u.Hostname()
		}
		// Every local connection opens its own TLS connection: after the
		// first, they resume its session (TLS 1.3 tickets; the key
		// exchange is still fresh each time) instead of sending and
		// checking the certificate again, which halved the first byte
		// over TLS (docs/benchmarks.md, "Eighth round").
		if c.tls.ClientSessionCache == nil {
			c.tls.ClientSessionCache = tls.NewLRUClientSessionCache(16)
		}
	}
	return c, nil
}

// RefusedError is Gatehouse's refusal of a tunnel or info request.
type RefusedError struct {
	Status  int
	Code    string // a tunnel.Code* value
	Message string // meant for the user
}

func (e *RefusedError) Error() string { return e.Message }

// SessionOver reports whether err means the session admits no connection
// any more (bad token, ended, expired).
func SessionOver(err error) bool {
	var r *RefusedError
	return errors.As(err, &r) && tunnel.SessionOver(r.Code)
}

func (c *Client) hostPort() string {
	if c.base.Port() != "" {
		return c.base.Host
	}
	if c.base.Scheme == "https" {
		return net.JoinHostPort(c.base.Hostname(), "443")
	}
	return net.JoinHostPort(c.base.Hostname(), "80")
}

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	conn, err := (&net.Dialer{Timeout: c.Timeout}).DialContext(ctx, "tcp", c.hostPort())
	if err != nil {
		return nil, fmt.Errorf("cannot reach Gatehouse at %s: %w", c.base.Host, err)
	}
	if c.tls == nil {
		return conn, nil
	}
	// RecordConn lets the relay move many TLS records per system call.
	tc := tls.Client(tunnel.NewRecordConn(conn), c.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("TLS with Gatehouse at %s: %w", c.base.Host, err)
	}
	return tc, nil
}

func (c *Client) request(method, path string) *http.Request {
	u := *c.base
	u.Path = strings.TrimSuffix(c.base.Path, "/") + path
	r := &http.Request{Method: method, URL: &u, Host: c.base.Host, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	r.Header.Set("Authorization", "Bearer "+c.token)
	r.Header.Set("User-Agent", "gatehouse-connect")
	return r
}

// Tunnel is an open tunnel: a byte stream to the session's host.
type Tunnel struct {
	net.Conn
	// Pending holds bytes the host sent that arrived with the handshake;
	// deliver them before reading Conn.
	Pending []byte
}

// Open opens one tunnel. A refusal is a *RefusedError.
//
// It uses the spare connection when one is ready (dialled, TLS done, less
// than spareMaxAge old), so that a new local connection waits only for
// the tunnel request itself, and dials the next spare while this request
// is answered (then it is ready for connections opened one right after
// the other). A spare that the other side closed while it waited
// (Gatehouse or a balancer in between) fails before a single byte of
// answer: Open then sends the request again on a new connection. Anything
// answered (a refusal, the upgrade) is never sent twice. (Were Gatehouse
// to stop between admitting the request and answering it, the second
// request is a new connection, as when the user retries; the first is
// closed by the rule for instances that die.)
func (c *Client) Open(ctx context.Context) (*Tunnel, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	if conn := c.takeSpare(); conn != nil {
		c.fillSpare()
		t, err := c.handshakeOn(ctx, conn)
		if !errors.Is(err, errNoAnswer) || ctx.Err() != nil {
			return t, err
		}
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.fillSpare()
	return c.handshakeOn(ctx, conn)
}

// handshakeOn sends the tunnel request on conn within ctx; conn is closed
// when it fails.
func (c *Client) handshakeOn(ctx context.Context, conn net.Conn) (*Tunnel, error) {
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	t, err := c.handshake(conn)
	if !stop() {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return t, nil
}

// takeSpare returns the spare connection if one is ready and fresh.
func (c *Client) takeSpare() net.Conn {
	c.spareMu.Lock()
	defer c.spareMu.Unlock()
	conn := c.spare
	c.spare = nil
	if conn != nil && time.Since(c.spareAt) > spareMaxAge {
		conn.Close()
		return nil
	}
	return conn
}

// fillSpare dials a spare connection in the background, unless one is
// ready or being dialled, or release was called. A failed dial is left to
// the next Open, which dials (and reports) on its own.
func (c *Client) fillSpare() {
	c.spareMu.Lock()
	if c.filling || c.released || (c.spare != nil && time.Since(c.spareAt) <= spareMaxAge) {
		c.spareMu.Unlock()
		return
	}
	c.filling = true
	c.spareMu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
		conn, err := c.dial(ctx)
		cancel()
		c.spareMu.Lock()
		defer c.spareMu.Unlock()
		c.filling = false
		if err != nil {
			return
		}
		if c.released {
			conn.Close()
			return
		}
		if c.spare != nil {
			c.spare.Close()
		}
		c.spare, c.spareAt = conn, time.Now()
	}()
}

// release closes the spare connection and keeps none from then on.
func (c *Client) release() {
	c.spareMu.Lock()
	defer c.spareMu.Unlock()
	c.released = true
	if c.spare != nil {
		c.spare.Close()
		c.spare = nil
	}
}

// errNoAnswer marks a tunnel request that got no answer at all: the
// connection was closed before any byte of a response came back.
var errNoAnswer = errors.New("the connection closed before any answer")

func (c *Client) handshake(conn net.Conn) (*Tunnel, error) {
	req := c.request(http.MethodPost, tunnel.Path)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", tunnel.Protocol)
	if err := req.Write(conn); err != nil {
		return nil, fmt.Errorf("send tunnel request: %w: %w", errNoAnswer, err)
	}
	br := bufio.NewReaderSize(conn, 1024)
	if _, err := br.Peek(1); err != nil {
		// Closed before a single byte came back: nothing was answered.
		return nil, fmt.Errorf("read tunnel response: %w: %w", errNoAnswer, err)
	}
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("read tunnel response: %w", err)
	}
	if !tunnel.IsUpgradeResponse(resp) {
		defer resp.Body.Close()
		return nil, refusal(resp)
	}
	t := &Tunnel{Conn: conn}
	if n := br.Buffered(); n > 0 {
		p, _ := br.Peek(n)
		t.Pending = append([]byte(nil), p...)
	}
	return t, nil
}

// Info reads the session's info. A refusal is a *RefusedError.
func (c *Client) Info(ctx context.Context) (*tunnel.Info, error) {
	var info tunnel.Info
	if err := c.call(ctx, http.MethodGet, tunnel.InfoPath, "session info", nil, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Close ends the session as closed by its end user: it terminates, or goes
// canceling while Gatehouse cuts its live connections. Closing a session
// already closed this way succeeds again. A refusal (unknown token, a
// session that ended otherwise or expired) is a *RefusedError.
func (c *Client) Close(ctx context.Context) (*tunnel.Closed, error) {
	var closed tunnel.Closed
	if err := c.call(ctx, http.MethodDelete, tunnel.InfoPath, "session close", nil, &closed); err != nil {
		return nil, err
	}
	return &closed, nil
}

// Credentials fetches the session's credentials; sshPublicKey (optional,
// authorized_keys format) is signed by the session's SSH certificate
// libraries. A refusal is a *RefusedError (404 from a Gatehouse without
// credential libraries).
func (c *Client) Credentials(ctx context.Context, sshPublicKey string) ([]tunnel.Credential, error) {
	body, _ := json.Marshal(tunnel.CredentialsRequest{SSHPublicKey: sshPublicKey})
	var out tunnel.Credentials
	if err := c.call(ctx, http.MethodPost, tunnel.CredentialsPath, "session credentials", body, &out); err != nil {
		return nil, err
	}
	return out.Credentials, nil
}

// call makes one request on path (with a JSON body when body is not nil)
// and decodes its JSON answer into out.
func (c *Client) call(ctx context.Context, method, path, what string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	req := c.request(method, path)
	req.Close = true
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = int64(len(body))
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	if err := req.Write(conn); err != nil {
		return fmt.Errorf("send %s request: %w", what, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return refusal(resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(out); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	return nil
}

// refusal turns a non-101 response into a *RefusedError.
func refusal(resp *http.Response) error {
	var r tunnel.Refusal
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := json.Unmarshal(body, &r); err != nil || r.Message == "" {
		return &RefusedError{Status: resp.StatusCode, Code: tunnel.CodeSystemError,
			Message: fmt.Sprintf("Gatehouse answered %s instead of opening a tunnel: is --addr the Gatehouse URL?", resp.Status)}
	}
	return &RefusedError{Status: resp.StatusCode, Code: r.Code, Message: r.Message}
}
