package connect

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gatehouse/tunnel"
)

const usage = `usage: gatehouse connect --addr URL [--token TOKEN] [flags] [--exec CMD [-- ARGS...]]

Opens a local listener on 127.0.0.1 and relays every connection made to it
through Gatehouse to the session's host. Exits when the session ends (expired
or canceled), when you stop it (Ctrl-C) or when the --exec command exits; in
the last two cases it first ends the session (reason "closed by end-user"),
unless --keep-session is given.

  --exec CMD -- ARGS   run CMD with ARGS once listening, and exit when it exits,
                       with its exit status; {{host}} and {{port}} in CMD and
                       ARGS are replaced by the local listener's host
                       (127.0.0.1) and port, e.g.
                       gatehouse connect --addr … --exec psql -- -h {{host}} -p {{port}} -U app
                       The session's credentials are passed as environment
                       variables: PGHOST, PGPORT, PGUSER, PGPASSWORD for a
                       Postgres role (so --exec psql needs no arguments);
                       GATEHOUSE_SSH_KEY, GATEHOUSE_SSH_CERT, GATEHOUSE_SSH_USER
                       for an SSH certificate signed for a key generated here
                       (its private half never leaves this machine), e.g.
                       --exec sh -- -c 'ssh -i "$GATEHOUSE_SSH_KEY" -o CertificateFile="$GATEHOUSE_SSH_CERT" -p {{port}} "$GATEHOUSE_SSH_USER"@{{host}}'

The token can also come from GATEHOUSE_TOKEN (keeps it out of the process list),
the address from GATEHOUSE_ADDR.

flags:
`

// Main is `gatehouse connect`: it parses args (the words after "connect"),
// runs the proxy until the session ends, ctx ends, or the --exec command
// exits, and returns nil then (or an *ExitError when the --exec command
// failed, or why it could not start). When ctx ends (the user stopped it)
// or the --exec command exits, it ends the session as closed by the end
// user first, unless --keep-session.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	addr := fs.String("addr", getenv("GATEHOUSE_ADDR"), "Gatehouse URL, e.g. https://gatehouse.example.com (env GATEHOUSE_ADDR)")
	token := fs.String("token", "", "the session's token, from the session page (env GATEHOUSE_TOKEN)")
	port := fs.Int("listen-port", 0, "local port on 127.0.0.1 (default: a random free port)")
	caFile := fs.String("ca-file", "", "PEM file of the CA certificates that sign Gatehouse's TLS certificate (default: the system's)")
	insecure := fs.Bool("insecure", false, "do NOT verify Gatehouse's TLS certificate (development only)")
	execCmd := fs.String("exec", "", "command to run once listening; its arguments follow --")
	keep := fs.Bool("keep-session", false, "on exit, leave the session running (for another client or a later reconnect) instead of ending it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var execArgs []string
	if fs.NArg() > 0 {
		if *execCmd == "" {
			return fmt.Errorf("unexpected argument %q (arguments after -- need --exec)", fs.Arg(0))
		}
		execArgs = fs.Args()
	}
	if *token == "" {
		*token = getenv("GATEHOUSE_TOKEN")
	}
	if *port < 0 || *port > 65535 {
		return fmt.Errorf("--listen-port %d: want 0 to 65535", *port)
	}
	tlsConfig, err := TLSConfig(*caFile, *insecure, stderr)
	if err != nil {
		return err
	}
	client, err := NewClient(*addr, *token, tlsConfig)
	if err != nil {
		return err
	}
	p := &Proxy{Client: client, ListenAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)), Out: stdout, Err: stderr,
		KeepSession: *keep}
	if *execCmd != "" {
		p.Exec = append([]string{*execCmd}, execArgs...)
	}
	return p.Run(ctx)
}

// TLSConfig is the client TLS configuration of --ca-file (PEM CA
// certificates; empty: the system's) and --insecure (no verification,
// with a warning on stderr).
func TLSConfig(caFile string, insecure bool, stderr io.Writer) (*tls.Config, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s: no PEM certificate in it", caFile)
		}
		tlsConfig.RootCAs = pool
	}
	if insecure {
		tlsConfig.InsecureSkipVerify = true
		fmt.Fprintln(stderr, "WARNING: --insecure: Gatehouse's TLS certificate is NOT verified. Anyone on the network path can read")
		fmt.Fprintln(stderr, "WARNING: and change this traffic and steal the session token. Use it only for development.")
	}
	return tlsConfig, nil
}

// Proxy is a running `gatehouse connect`.
type Proxy struct {
	Client     *Client
	ListenAddr string    // host:port to listen on
	Out, Err   io.Writer // messages for the user
	// Exec, when set, is run with {{host}} and {{port}} substituted once the
	// listener is up; Run ends when it exits.
	Exec []string
	// Env is added to the Exec command's environment (e.g. brokered
	// credentials).
	Env []string
	// PollInterval is how often the session is checked; default 2 s.
	PollInterval time.Duration
	// Ready, when set, receives the listener's address once it listens.
	Ready func(addr net.Addr)
	// KeepSession leaves the session running when Run ends because its
	// context ended or the Exec command exited; by default Run then ends it
	// as closed by the end user (Client.Close).
	KeepSession bool

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// errSessionOver ends Run without an error.
type errSessionOver struct{ msg string }

func (e errSessionOver) Error() string { return e.msg }

// ExitError is the failure of the Exec command: it exited with Code, or
// was killed by signal N (Code 128+N). `gatehouse connect --exec` exits
// with Code.
type ExitError struct {
	Command string
	Code    int
}

func (e *ExitError) Error() string { return fmt.Sprintf("%s exited with status %d", e.Command, e.Code) }

// Run checks the session, listens, relays until the session ends (nil), ctx
// ends (nil) or the Exec command exits (nil, or an *ExitError when it
// failed), and closes everything. When ctx ended or the Exec command exited
// (the user is done), it then ends the session as closed by the end user,
// unless KeepSession.
func (p *Proxy) Run(ctx context.Context) error {
	parent := ctx
	if p.PollInterval <= 0 {
		p.PollInterval = 2 * time.Second
	}
	p.conns = map[net.Conn]struct{}{}
	info, err := p.Client.Info(ctx)
	if err != nil {
		return err
	}
	ln, err := tunnel.Listen(p.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", p.ListenAddr, err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	// The credentials first: once "Listening" is printed, clients may come.
	env, cleanup, err := p.credentials(ctx, addr)
	defer cleanup()
	if err != nil {
		ln.Close()
		if ctx.Err() != nil {
			return nil // stopped by the user meanwhile
		}
		return err
	}
	left := "unlimited"
	if info.ConnectionsLeft >= 0 {
		left = strconv.Itoa(info.ConnectionsLeft)
	}
	fmt.Fprintf(p.Out, "Listening on %s for session %s\n", addr, info.SessionID)
	fmt.Fprintf(p.Out, "Expires %s (in %s); connections left: %s\n",
		info.ExpiresAt.Local().Format("2006-01-02 15:04:05 MST"), time.Until(info.ExpiresAt).Round(time.Second), left)
	if p.Ready != nil {
		p.Ready(addr)
	}
	// The first local connection finds a connection to Gatehouse ready.
	p.Client.fillSpare()
	defer p.Client.release()

	ctx, end := context.WithCancelCause(ctx)
	defer end(nil)
	var wg sync.WaitGroup
	wg.Go(func() { p.accept(ctx, ln, end, &wg) })
	wg.Go(func() { p.watch(ctx, info, end) })
	if p.Exec != nil {
		wg.Go(func() { end(p.exec(ctx, addr, env)) })
	}
	<-ctx.Done()
	ln.Close()
	p.closeAll()
	wg.Wait()
	cause := context.Cause(ctx)
	var over errSessionOver
	var exit *ExitError
	switch {
	case errors.As(cause, &over):
		fmt.Fprintf(p.Out, "%s Exiting.\n", over.msg)
		return nil
	case errors.Is(cause, errExecDone):
		p.endSession(parent)
		return nil
	case errors.As(cause, &exit):
		p.endSession(parent)
		return exit
	case parent.Err() != nil: // stopped by the user (Ctrl-C, SIGTERM)
		p.endSession(parent)
		return nil
	case errors.Is(cause, context.Canceled), errors.Is(cause, context.DeadlineExceeded):
		return nil
	}
	return cause
}

// Ending the session on exit: each attempt is bounded by closeTimeout (the
// user is waiting); one that fails in a way that may pass (no answer in
// time, a network error, the server busy or failing) is tried again, up to
// closeAttempts in all with a doubling pause from closeBackoff, so a server
// busy recording a mass close still hears it (issue 11).
const (
	closeTimeout  = 5 * time.Second
	closeAttempts = 4
	closeBackoff  = 500 * time.Millisecond
)

// endSession ends the session as closed by the end user, unless
// KeepSession; a failure is reported, not returned (the session still
// ends when it expires).
func (p *Proxy) endSession(parent context.Context) {
	if p.KeepSession {
		return
	}
	backoff := closeBackoff
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), closeTimeout)
		closed, err := p.Client.Close(ctx)
		cancel()
		switch {
		case err == nil:
			fmt.Fprintf(p.Out, "Session ended (%s).\n", closed.Reason)
			return
		case SessionOver(err):
			fmt.Fprintln(p.Out, err) // it ended on its own meanwhile
			return
		case attempt < closeAttempts && mayPass(err):
			fmt.Fprintf(p.Err, "could not end the session yet: %v; trying again in %s\n", err, backoff)
			time.Sleep(backoff)
			backoff *= 2
			continue
		}
		fmt.Fprintf(p.Err, "could not end the session: %v (it ends when it expires; you can cancel it on its page)\n", err)
		return
	}
}

// mayPass reports whether a failed call may succeed if tried again: no
// answer (network error, timeout) or the server unavailable or failing.
func mayPass(err error) bool {
	var r *RefusedError
	if !errors.As(err, &r) {
		return true
	}
	return r.Status >= 500 || r.Code == tunnel.CodeUnavailable || r.Code == tunnel.CodeSystemError
}

var errExecDone = errors.New("command exited")

// watch ends Run when the session ends: at its expiration time, or when a
// poll of its info says so. A poll that finds the expiration moved (the
// session was extended or shortened) moves the timer; when the timer fires
// the info is read once more, so an extension made since the last poll is
// honoured.
func (p *Proxy) watch(ctx context.Context, info *tunnel.Info, end context.CancelCauseFunc) {
	expires := info.ExpiresAt
	expiry := time.NewTimer(time.Until(expires))
	defer expiry.Stop()
	poll := time.NewTicker(p.PollInterval)
	defer poll.Stop()
	moved := func(cur *tunnel.Info) {
		if !cur.ExpiresAt.Equal(expires) {
			expires = cur.ExpiresAt
			expiry.Reset(time.Until(expires))
			fmt.Fprintf(p.Out, "The session's expiration moved: it now expires %s (in %s).\n",
				expires.Local().Format("2006-01-02 15:04:05 MST"), time.Until(expires).Round(time.Second))
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-expiry.C:
			cur, err := p.Client.Info(ctx)
			if err == nil && cur.ExpiresAt.After(time.Now()) {
				moved(cur)
				continue
			}
			msg := "The session has expired."
			if SessionOver(err) {
				msg = err.Error()
			}
			end(errSessionOver{msg})
			return
		case <-poll.C:
			cur, err := p.Client.Info(ctx)
			if SessionOver(err) {
				end(errSessionOver{err.Error()})
				return
			}
			if err == nil {
				moved(cur)
			}
		}
	}
}

func (p *Proxy) accept(ctx context.Context, ln net.Listener, end context.CancelCauseFunc, wg *sync.WaitGroup) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				end(fmt.Errorf("accept: %w", err))
			}
			return
		}
		if !p.track(conn, true) {
			conn.Close()
			return
		}
		wg.Go(func() {
			defer p.track(conn, false)
			p.serve(ctx, conn, end)
		})
	}
}

// serve relays one local connection through its own tunnel.
func (p *Proxy) serve(ctx context.Context, local net.Conn, end context.CancelCauseFunc) {
	t, err := p.Client.Open(ctx)
	if err != nil {
		local.Close()
		if ctx.Err() != nil {
			return
		}
		fmt.Fprintf(p.Err, "connection from %s refused: %v\n", local.RemoteAddr(), err)
		if SessionOver(err) {
			end(errSessionOver{err.Error()})
		}
		return
	}
	if !p.track(t.Conn, true) {
		t.Close()
		local.Close()
		return
	}
	defer p.track(t.Conn, false)
	if len(t.Pending) > 0 {
		if _, err := local.Write(t.Pending); err != nil {
			t.Close()
			local.Close()
			return
		}
		t.Pending = nil
	}
	_, _ = tunnel.Join(local, t.Conn, nil, nil)
}

// track adds (or removes) a connection Run must close when it ends; adding
// fails once Run is ending.
func (p *Proxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !add {
		delete(p.conns, c)
		return true
	}
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// exec runs the --exec command with {{host}} and {{port}} replaced and the
// credentials' environment added (see credentials); it
// returns errExecDone when the command succeeds and an *ExitError when it
// fails.
func (p *Proxy) exec(ctx context.Context, addr *net.TCPAddr, env []string) error {
	r := strings.NewReplacer("{{host}}", addr.IP.String(), "{{port}}", strconv.Itoa(addr.Port))
	argv := make([]string, len(p.Exec))
	for i, a := range p.Exec {
		argv[i] = r.Replace(a)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, p.Out, p.Err
	if extra := append(append([]string(nil), p.Env...), env...); len(extra) > 0 {
		cmd.Env = append(os.Environ(), extra...)
	}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", argv[0], err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &ee):
		return &ExitError{Command: argv[0], Code: exitCode(ee)}
	case err != nil:
		return fmt.Errorf("%s: %w", argv[0], err)
	}
	return errExecDone
}

// exitCode is the status a shell would report for the command: its exit
// code, or 128+N when signal N killed it.
func exitCode(ee *exec.ExitError) int {
	if code := ee.ExitCode(); code >= 0 {
		return code
	}
	if ws, ok := ee.Sys().(interface {
		Signaled() bool
		Signal() syscall.Signal
	}); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return 1
}
