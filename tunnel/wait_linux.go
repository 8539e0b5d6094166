package tunnel

import (
	"io"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// spliceCopy waits until src is readable without holding a pipe, then
// splices exactly the bytes queued in src's receive buffer (io.CopyN over a
// *net.TCPConn is a splice on Linux).
func spliceCopy(dst, src *net.TCPConn, count func(int64)) (handled bool, err error) {
	rc, err := src.SyscallConn()
	if err != nil {
		return false, nil
	}
	for {
		n, err := waitQueued(rc)
		if err != nil {
			return true, err
		}
		if n == 0 {
			return true, nil // EOF
		}
		w, err := io.CopyN(dst, src, int64(n))
		if w > 0 {
			count(w)
		}
		if err != nil {
			if err == io.EOF {
				return true, nil
			}
			return true, err
		}
	}
}

// waitQueued blocks (in the netpoller, no buffer) until the socket has bytes
// or is at EOF, and returns how many bytes are queued (0 at EOF).
func waitQueued(rc syscall.RawConn) (int, error) {
	var n int
	var opErr error
	err := rc.Read(func(fd uintptr) bool {
		// Fast path while data flows: one ioctl says how much is queued.
		if q, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ); err == nil && q > 0 {
			n = q
			return true
		}
		// Nothing queued: EOF, an error, or wait for readability.
		var b [1]byte
		for {
			m, _, e := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
			switch {
			case e == unix.EINTR:
				continue
			case e == unix.EAGAIN:
				return false
			case e != nil:
				opErr = e
			case m == 0:
				n = 0 // EOF
			default:
				n = 1 // arrived between the ioctl and the peek
			}
			return true
		}
	})
	if err != nil {
		return 0, err
	}
	if opErr != nil {
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: opErr}
	}
	return n, nil
}

// readableWaiter returns a function that blocks until c is readable, when c
// is a TCP socket; nil otherwise.
func readableWaiter(c net.Conn) func() error {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return func() error {
		_, err := waitQueued(rc)
		return err
	}
}
