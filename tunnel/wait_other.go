//go:build !linux

package tunnel

import "net"

// spliceCopy is Linux only; elsewhere Copy uses buffers.
func spliceCopy(dst, src *net.TCPConn, count func(int64)) (handled bool, err error) {
	return false, nil
}

// readableWaiter is Linux only.
func readableWaiter(c net.Conn) func() error { return nil }
