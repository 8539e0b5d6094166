package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"time"
)

// serveEach runs handle on every connection ln accepts, then closes it.
func serveEach(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}

// serveSink reads until EOF and answers the byte count (8 bytes, big
// endian): the host behind the bulk target.
func serveSink(ln net.Listener) {
	serveEach(ln, func(c net.Conn) {
		buf := make([]byte, 256<<10)
		var n int64
		for {
			m, err := c.Read(buf)
			n += int64(m)
			if err != nil {
				break
			}
		}
		var out [8]byte
		binary.BigEndian.PutUint64(out[:], uint64(n))
		_, _ = c.Write(out[:])
	})
}

// bulkSend sends size bytes to addr, half-closes and waits for the sink's
// count; it returns the time from dial to the count.
func bulkSend(addr string, size int64) (time.Duration, error) {
	t0 := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Minute))
	buf := make([]byte, 256<<10)
	for left := size; left > 0; {
		n := int64(len(buf))
		if left < n {
			n = left
		}
		m, err := c.Write(buf[:n])
		left -= int64(m)
		if err != nil {
			return 0, err
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return 0, err
	}
	var got [8]byte
	if _, err := io.ReadFull(c, got[:]); err != nil {
		return 0, fmt.Errorf("read the sink's count: %w", err)
	}
	if n := int64(binary.BigEndian.Uint64(got[:])); n != size {
		return 0, fmt.Errorf("the sink got %d bytes of %d", n, size)
	}
	return time.Since(t0), nil
}

// roundTrip dials addr, sends one byte, reads it back; it returns the
// open connection when keep is set (else closes it).
func roundTrip(addr string, keep bool) (time.Duration, net.Conn, error) {
	t0 := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, nil, err
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	b := [1]byte{'x'}
	if _, err = c.Write(b[:]); err == nil {
		_, err = io.ReadFull(c, b[:])
	}
	d := time.Since(t0)
	if err == nil && b[0] != 'x' {
		err = fmt.Errorf("the echo answered %q instead of %q", b[0], 'x')
	}
	if err != nil {
		c.Close()
		return 0, nil, err
	}
	if !keep {
		c.Close()
		return d, nil, nil
	}
	_ = c.SetDeadline(time.Time{})
	return d, c, nil
}

// relayMain is `bench relay`: one hop of the floor relay, in its own
// process so that its CPU is measured like gatehouse's. It listens (TLS
// with --tls-cert/--tls-key), dials --to (TLS with --tls-ca) per connection
// and copies both ways with io.Copy (a splice between two TCP sockets).
func relayMain(args []string) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	to := fs.String("to", "", "address to relay to")
	cert := fs.String("tls-cert", "", "serve TLS with this certificate")
	key := fs.String("tls-key", "", "key of --tls-cert")
	ca := fs.String("tls-ca", "", "dial --to with TLS, trusting this CA")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if *cert != "" {
		kp, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return err
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{kp}})
	}
	var dialTLS *tls.Config
	if *ca != "" {
		if _, err := os.Stat(*ca); err != nil {
			return err
		}
		dialTLS = tlsTrusting(*ca) // tls.Dial takes the server name from --to
	}
	fmt.Printf("relay listening on %s\n", ln.Addr())
	for {
		in, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			var out net.Conn
			var err error
			if dialTLS != nil {
				out, err = tls.Dial("tcp", *to, dialTLS)
			} else {
				out, err = net.Dial("tcp", *to)
			}
			if err != nil {
				in.Close()
				return
			}
			done := make(chan struct{})
			go func() { relayHalf(out, in); close(done) }()
			relayHalf(in, out)
			<-done
			in.Close()
			out.Close()
		}()
	}
}

func relayHalf(dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok && err == nil {
		_ = cw.CloseWrite()
		return
	}
	dst.Close()
	src.Close()
}

var relayListening = regexp.MustCompile(`relay listening on (\S+)`)

// startRelay runs one relay hop as a child process of this binary.
func startRelay(args ...string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p, err := startProc(self, nil, append([]string{"relay"}, args...)...)
	if err != nil {
		return nil, err
	}
	if err := p.waitListen(relayListening, 10*time.Second); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	return p, nil
}

// tlsTrusting is a client configuration trusting the PEM certificate in file.
func tlsTrusting(file string) *tls.Config {
	pool := x509.NewCertPool()
	if b, err := os.ReadFile(file); err == nil {
		pool.AppendCertsFromPEM(b)
	}
	return &tls.Config{RootCAs: pool}
}
