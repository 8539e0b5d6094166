package tunnel_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/tunnel"
)

// tlsPair returns the two ends of a loopback TLS connection, each over a
// RecordConn as Gatehouse runs them (connect's client, the app's listener).
func tlsPair(t *testing.T) (client, server *tls.Conn) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tln := tls.NewListener(tunnel.RecordListener(ln), &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	accepted := make(chan *tls.Conn, 1)
	go func() {
		c, err := tln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		tc := c.(*tls.Conn)
		_ = tc.Handshake()
		accepted <- tc
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	client = tls.Client(tunnel.NewRecordConn(raw), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestJoinOverTLSRecordConns relays client ↔ [a|b] ↔ server where a↔client
// is plain TCP and b↔server is TLS over RecordConns (the worker's and
// connect's shape): every byte arrives in order both ways, in bulk and in
// single bytes (a lone small record must never wait for a next one), and
// the counts match.
func TestJoinOverTLSRecordConns(t *testing.T) {
	client, a := tcpPair(t)
	b, server := tlsPair(t)
	var ab, ba atomic.Int64
	go tunnel.Join(a, b, func(n int64) { ab.Add(n) }, func(n int64) { ba.Add(n) })

	// Interactive: one byte each way, many times (no batching may hold it).
	for i := 0; i < 50; i++ {
		client.SetDeadline(time.Now().Add(5 * time.Second))
		server.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := client.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		var x [1]byte
		if _, err := io.ReadFull(server, x[:]); err != nil || x[0] != byte(i) {
			t.Fatalf("up %d: %v %v", i, x, err)
		}
		if _, err := server.Write([]byte{byte(i + 1)}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(client, x[:]); err != nil || x[0] != byte(i+1) {
			t.Fatalf("down %d: %v %v", i, x, err)
		}
	}
	client.SetDeadline(time.Now().Add(30 * time.Second))
	server.SetDeadline(time.Now().Add(30 * time.Second))
	up := make([]byte, 5<<20+13)
	down := make([]byte, 3<<20+7)
	rand.Read(up)
	rand.Read(down)
	gotUp, gotDown := make(chan []byte, 1), make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(io.LimitReader(server, int64(len(up)))); gotUp <- b }()
	go func() { b, _ := io.ReadAll(io.LimitReader(client, int64(len(down)))); gotDown <- b }()
	go func() { server.Write(down) }()
	if _, err := client.Write(up); err != nil {
		t.Fatal(err)
	}
	if g := <-gotUp; !bytes.Equal(g, up) {
		t.Fatalf("up: got %d bytes, want %d (or different bytes)", len(g), len(up))
	}
	if g := <-gotDown; !bytes.Equal(g, down) {
		t.Fatalf("down: got %d bytes, want %d (or different bytes)", len(g), len(down))
	}
	if ab.Load() != int64(len(up))+50 || ba.Load() != int64(len(down))+50 {
		t.Fatalf("counts %d %d", ab.Load(), ba.Load())
	}
}
