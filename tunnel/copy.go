package tunnel

import (
	"errors"
	"io"
	"net"
	"sync"
)

// bigBufSize is the buffer of a busy non-spliced copy: large, so that a
// bulk transfer takes few system calls (a TLS side still reads one record,
// at most 16 KiB, per Read; the plain side reads whatever is queued).
const bigBufSize = 256 << 10

// bigBuf pools the big buffers, so that idle connections do not hold one.
var bigBuf = sync.Pool{New: func() any { b := make([]byte, bigBufSize); return &b }}

// smallBufSize is the buffer an idle non-spliced copy holds while it waits.
const smallBufSize = 512

// Copy copies src to dst until src reaches EOF (nil error) or an error, and
// calls count (if not nil) with the number of bytes written after every
// chunk, so totals can be read while the copy runs.
//
// Between two *net.TCPConn on Linux it waits for src to be readable and then
// splices exactly the bytes waiting in the socket (no user-space copy, no
// pipe or buffer held while idle, counts exact at every chunk). Otherwise it
// reads into a 512-byte buffer and switches to a pooled 256 KiB buffer while
// reads fill the small one, so an idle copy holds little memory.
func Copy(dst, src net.Conn, count func(int64)) error {
	if count == nil {
		count = func(int64) {}
	}
	if d, ok := dst.(*net.TCPConn); ok {
		if s, ok := src.(*net.TCPConn); ok {
			if handled, err := spliceCopy(d, s, count); handled {
				return err
			}
		}
	}
	return bufferCopy(dst, src, count)
}

// maxRecordPlaintext is the most plaintext one TLS record carries.
const maxRecordPlaintext = 16 << 10

func bufferCopy(dst, src net.Conn, count func(int64)) error {
	wait := readableWaiter(src)
	stc, srec := recordConnOf(src)
	write := dst.Write
	if dtc, drec := recordConnOf(dst); drec != nil {
		// One write for all the records of a chunk.
		write = func(p []byte) (int, error) {
			drec.startBatch()
			n, err := dtc.Write(p)
			if ferr := drec.flushBatch(); err == nil {
				err = ferr
			}
			return n, err
		}
	}
	small := make([]byte, smallBufSize)
	var big *[]byte
	defer func() {
		if big != nil {
			bigBuf.Put(big)
		}
	}()
	// full: the last read filled the big buffer, so more is queued and
	// the next read needs no readiness wait.
	full := false
	for {
		buf := small
		if wait != nil {
			// Readiness is known without a buffer: take the big one only
			// while there is data.
			if !full {
				if err := wait(); err != nil {
					return err
				}
			}
			if big == nil {
				big = bigBuf.Get().(*[]byte)
			}
			buf = *big
		} else if big != nil {
			buf = *big
		}
		n, err := src.Read(buf)
		if stc != nil && err == nil {
			// More TLS records already here: gather them (one record per
			// Read) and write them on together.
			for len(buf)-n >= maxRecordPlaintext && srec.recordReady() {
				m, rerr := stc.Read(buf[n:])
				n += m
				if rerr != nil {
					err = rerr
					break
				}
			}
		}
		if n > 0 {
			w, werr := write(buf[:n])
			count(int64(w))
			if werr != nil {
				return werr
			}
		}
		full = wait != nil && n == len(buf)
		switch {
		case wait != nil && !full, wait == nil && big != nil && n < smallBufSize:
			if big != nil {
				bigBuf.Put(big)
				big = nil
			}
		case big == nil && n == len(small):
			big = bigBuf.Get().(*[]byte)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// closeWriter is a connection that can half-close (TCP FIN, TLS close_notify).
type closeWriter interface{ CloseWrite() error }

// Join relays bytes both ways between a and b until both directions have
// ended, then closes both. When one side reaches EOF, the other is
// half-closed and the opposite direction goes on; an error in one direction
// closes both. countAB and countBA get the bytes written a→b and b→a (see
// [Copy]). It runs one direction in a new goroutine and the other in the
// caller's. errAB and errBA are nil for a clean EOF.
func Join(a, b net.Conn, countAB, countBA func(int64)) (errAB, errBA error) {
	done := make(chan error, 1)
	go func() { done <- pipe(b, a, countAB) }()
	errBA = pipe(a, b, countBA)
	errAB = <-done
	a.Close()
	b.Close()
	return errAB, errBA
}

func pipe(dst, src net.Conn, count func(int64)) error {
	err := Copy(dst, src, count)
	if err == nil {
		cw, ok := dst.(closeWriter)
		if !ok {
			dst.Close()
			src.Close()
			return nil
		}
		if err = cw.CloseWrite(); err == nil {
			return nil
		}
	}
	dst.Close()
	src.Close()
	return err
}
