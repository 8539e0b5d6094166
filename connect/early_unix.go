//go:build unix

package connect

import (
	"net"
	"syscall"
)

// earlyMax bounds the bytes sent with a tunnel request.
const earlyMax = 16 << 10

// readyBytes returns what c has already received, up to max bytes, without
// waiting: one non-blocking read (Go's sockets are non-blocking). Nothing
// (nil) when no byte is there yet, at end of stream or on an error: the
// relay then meets the same condition on its first read.
func readyBytes(c net.Conn, max int) []byte {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	buf := make([]byte, max)
	n := 0
	if err := rc.Read(func(fd uintptr) bool {
		m, err := syscall.Read(int(fd), buf)
		if err == nil && m > 0 {
			n = m
		}
		return true // never wait for readiness
	}); err != nil || n == 0 {
		return nil
	}
	return buf[:n:n]
}
