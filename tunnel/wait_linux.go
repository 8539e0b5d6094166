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
	peekFirst := true // nothing read yet: likely nothing queued
	for {
		n, err := waitQueued(rc, peekFirst)
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
		// After a message (a request, an answer, keystrokes) nothing more
		// is queued, most likely; a bulk transfer's chunks are large and
		// the next one is usually queued already.
		peekFirst = w < peekFirstBelow
		if err != nil {
			if err == io.EOF {
				return true, nil
			}
			return true, err
		}
	}
}

// peekFirst is below this many bytes just copied (see spliceCopy).
const peekFirstBelow = 16 << 10

// waitQueued blocks (in the netpoller, no buffer) until the socket has bytes
// or is at EOF, and returns how many bytes are queued (0 at EOF). With
// peekFirst (nothing is likely queued) it looks first with a 1-byte peek,
// which parks at once when nothing is there; otherwise, and once woken,
// first with SIOCINQ, which says how much is queued. Each way costs one
// system call in the case it expects, instead of two.
func waitQueued(rc syscall.RawConn, peekFirst bool) (int, error) {
	var n int
	var opErr error
	err := rc.Read(func(fd uintptr) bool {
		if !peekFirst {
			if q, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ); err == nil && q > 0 {
				n = q
				return true
			}
		}
		asked := !peekFirst // SIOCINQ said nothing is queued
		peekFirst = false   // after a wake-up, bytes are likely there
		// EOF, an error, bytes, or wait for readability.
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
			case asked:
				n = 1 // arrived between the ioctl and the peek
			default:
				n = 1
				if q, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ); err == nil && q > 0 {
					n = q
				}
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
		_, err := waitQueued(rc, true) // called once what was queued is read
		return err
	}
}
