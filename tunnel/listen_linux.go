package tunnel

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// The TCP keep-alive probes of accepted connections, in seconds and
// probes: Go's defaults.
const (
	keepAliveIdle     = 15
	keepAliveInterval = 15
	keepAliveCount    = 9
)

// Listen listens on the TCP address addr like net.Listen, with TCP
// keep-alive probes after 15 s idle, every 15 s, 9 at most (Go's default)
// set once on the listening socket. Linux copies them to every connection
// it accepts; Go's default sets them again on each accepted connection, four
// system calls per connection on the relay's path (issue 17).
func Listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			for _, o := range []struct{ level, opt, v int }{
				{unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
				{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, keepAliveIdle},
				{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, keepAliveInterval},
				{unix.IPPROTO_TCP, unix.TCP_KEEPCNT, keepAliveCount},
			} {
				if serr == nil {
					serr = unix.SetsockoptInt(int(fd), o.level, o.opt, o.v)
				}
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(context.Background(), "tcp", addr)
}
