package tunnel

import (
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"sync"
)

// TLS records are at most 16 KiB of plaintext; crypto/tls reads one record
// per Read and writes each record with its own system call. RecordConn sits
// under a *tls.Conn (between it and the TCP socket) so that the relay can
// move many records per system call in both directions:
//
//   - writes: [Copy] brackets each tls.Conn.Write with a batch, so the
//     records of one 256 KiB chunk leave in one write;
//   - reads: one read from the socket fills a pooled buffer with as many
//     records as are queued, and RecordConn hands crypto/tls one record at
//     a time, so that [Copy] can tell when the next record is already here
//     (no wait) and gather several records before writing them on.
//
// Idle, it holds no buffer: it waits for readability in the netpoller
// first (as Copy does), like the plain relay.
type RecordConn struct {
	net.Conn
	wait func() error // readiness without a buffer; nil when not TCP

	rmu     sync.Mutex // guards the read side (crypto/tls reads under its own lock too)
	rbuf    *[]byte    // pooled while it holds unread bytes
	r, w    int        // unread bytes are (*rbuf)[r:w]
	recLeft int        // bytes of the current record not handed out yet

	wmu      sync.Mutex
	batching bool
	wbuf     *[]byte // pooled while batching
}

// NewRecordConn wraps c (a TCP connection) for use under tls.Client or
// tls.Server.
func NewRecordConn(c net.Conn) *RecordConn {
	return &RecordConn{Conn: c, wait: readableWaiter(c)}
}

const recordHeaderLen = 5

// Read hands out the buffered bytes up to the end of the current TLS record
// (never more than one record per call), reading from the socket only when
// nothing is buffered or a record header is incomplete. Errors are not
// kept: a timeout (http.Server aborts its background read with a past
// deadline when the tunnel is hijacked) leaves the connection usable, and
// EOF or a reset is met again by the next read.
func (c *RecordConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	if c.recLeft == 0 {
		// At a record boundary: make sure a whole header is here.
		for c.w-c.r < recordHeaderLen {
			if err := c.fill(); err != nil {
				if c.w == c.r {
					c.release()
					return 0, err
				}
				break // a truncated header: hand it out, the error comes next
			}
		}
		b := (*c.rbuf)[c.r:c.w]
		if len(b) >= recordHeaderLen {
			c.recLeft = recordHeaderLen + int(binary.BigEndian.Uint16(b[3:5]))
		} else {
			c.recLeft = len(b)
		}
	} else if c.w == c.r {
		if err := c.fill(); err != nil && c.w == c.r {
			c.release()
			return 0, err
		}
	}
	n := copy(p, (*c.rbuf)[c.r:min(c.w, c.r+c.recLeft)])
	c.r += n
	c.recLeft -= n
	if c.r == c.w {
		c.release()
	}
	return n, nil
}

// fill reads from the socket after the unread bytes (moved to the front).
func (c *RecordConn) fill() error {
	if c.rbuf == nil {
		if c.wait != nil {
			if err := c.wait(); err != nil {
				return err
			}
		}
		c.rbuf = bigBuf.Get().(*[]byte)
		c.r, c.w = 0, 0
	} else if c.r > 0 {
		c.w = copy(*c.rbuf, (*c.rbuf)[c.r:c.w])
		c.r = 0
	}
	n, err := c.Conn.Read((*c.rbuf)[c.w:])
	c.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

func (c *RecordConn) release() {
	if c.rbuf != nil {
		bigBuf.Put(c.rbuf)
		c.rbuf, c.r, c.w = nil, 0, 0
	}
}

// recordReady reports whether a whole record is buffered, so that the
// tls.Conn above can return its plaintext without waiting.
func (c *RecordConn) recordReady() bool {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.recLeft != 0 || c.w-c.r < recordHeaderLen {
		return false
	}
	return c.w-c.r >= recordHeaderLen+int(binary.BigEndian.Uint16((*c.rbuf)[c.r+3:c.r+5]))
}

// Write writes p, or appends it to the batch while one is open.
func (c *RecordConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.batching {
		*c.wbuf = append(*c.wbuf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *RecordConn) startBatch() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.batching = true
	if c.wbuf == nil {
		c.wbuf = batchBuf.Get().(*[]byte)
	}
}

// flushBatch ends the batch and writes it in one call.
func (c *RecordConn) flushBatch() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.batching = false
	if c.wbuf == nil {
		return nil
	}
	_, err := c.Conn.Write(*c.wbuf)
	*c.wbuf = (*c.wbuf)[:0]
	batchBuf.Put(c.wbuf)
	c.wbuf = nil
	return err
}

// batchBuf holds a batch of records: a big buffer's worth of plaintext and
// the records' overhead (22 bytes each with TLS 1.3 and AES-GCM).
var batchBuf = sync.Pool{New: func() any { b := make([]byte, 0, bigBufSize+bigBufSize/1024); return &b }}

// recordConnOf returns the RecordConn under c, if c is a *tls.Conn over one.
func recordConnOf(c net.Conn) (*tls.Conn, *RecordConn) {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return nil, nil
	}
	rc, _ := tc.NetConn().(*RecordConn)
	if rc == nil {
		return nil, nil
	}
	return tc, rc
}

// RecordListener wraps every connection ln accepts in a [RecordConn]; give
// it to http.Server.ServeTLS (or tls.NewListener).
func RecordListener(ln net.Listener) net.Listener { return recordListener{ln} }

type recordListener struct{ net.Listener }

func (l recordListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return NewRecordConn(c), nil
}
