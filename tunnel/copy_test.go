package tunnel_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"gatehouse/tunnel"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestJoinRelaysBothWaysAndCounts runs client ↔ [a|b] ↔ server with Join in
// the middle, over TCP (splice) and over net.Pipe (buffers), and checks the
// bytes, the counts and that half-closes pass through.
func TestJoinRelaysBothWaysAndCounts(t *testing.T) {
	for _, kind := range []string{"tcp", "pipe"} {
		t.Run(kind, func(t *testing.T) {
			var client, a, b, server net.Conn
			if kind == "tcp" {
				client, a = tcpPair(t)
				b, server = tcpPair(t)
			} else {
				client, a = net.Pipe()
				b, server = net.Pipe()
			}
			var ab, ba atomic.Int64
			joined := make(chan [2]error, 1)
			go func() {
				e1, e2 := tunnel.Join(a, b, func(n int64) { ab.Add(n) }, func(n int64) { ba.Add(n) })
				joined <- [2]error{e1, e2}
			}()
			up := make([]byte, 3<<20+17) // more than one big buffer, odd size
			down := make([]byte, 1<<20+3)
			rand.Read(up)
			rand.Read(down)
			if kind == "pipe" {
				// net.Pipe cannot half-close: check each way, then close.
				go client.Write(up)
				got := make([]byte, len(up))
				if _, err := io.ReadFull(server, got); err != nil || !bytes.Equal(got, up) {
					t.Fatalf("up: %v", err)
				}
				go server.Write(down)
				got = make([]byte, len(down))
				if _, err := io.ReadFull(client, got); err != nil || !bytes.Equal(got, down) {
					t.Fatalf("down: %v", err)
				}
				client.Close()
				<-joined
				if ab.Load() != int64(len(up)) || ba.Load() != int64(len(down)) {
					t.Errorf("counted %d/%d, want %d/%d", ab.Load(), ba.Load(), len(up), len(down))
				}
				return
			}
			gotUp := make(chan []byte, 1)
			go func() { // the server reads all, then answers and closes
				got, _ := io.ReadAll(server)
				gotUp <- got
				server.Write(down)
				server.Close()
			}()
			go func() {
				client.Write(up)
				client.(*net.TCPConn).CloseWrite()
			}()
			if got := <-gotUp; !bytes.Equal(got, up) {
				t.Fatalf("server got %d bytes, want %d", len(got), len(up))
			}
			got, err := io.ReadAll(client)
			if err != nil || !bytes.Equal(got, down) {
				t.Fatalf("client got %d bytes (%v), want %d", len(got), err, len(down))
			}
			errs := <-joined
			if errs[0] != nil || errs[1] != nil {
				t.Errorf("Join errors %v, want clean EOFs", errs)
			}
			if ab.Load() != int64(len(up)) || ba.Load() != int64(len(down)) {
				t.Errorf("counted %d/%d, want %d/%d", ab.Load(), ba.Load(), len(up), len(down))
			}
		})
	}
}

func TestUpgradeHeaders(t *testing.T) {
	for _, tt := range []struct {
		connection, upgrade string
		want                bool
	}{
		{"Upgrade", tunnel.Protocol, true},
		{"keep-alive, upgrade", "GATEHOUSE-TCP/1", true},
		{"keep-alive", tunnel.Protocol, false},
		{"Upgrade", "websocket", false},
	} {
		r, _ := newRequest(tt.connection, tt.upgrade)
		if got := tunnel.IsUpgrade(r); got != tt.want {
			t.Errorf("Connection %q Upgrade %q: %v, want %v", tt.connection, tt.upgrade, got, tt.want)
		}
	}
	for _, tt := range []struct {
		auth, want string
		ok         bool
	}{{"Bearer abc", "abc", true}, {"bearer  abc ", "abc", true}, {"Basic abc", "", false}, {"Bearer ", "", false}, {"", "", false}} {
		r, _ := newRequest("", "")
		r.Header.Set("Authorization", tt.auth)
		if got, ok := tunnel.BearerToken(r); got != tt.want || ok != tt.ok {
			t.Errorf("%q: %q %v, want %q %v", tt.auth, got, ok, tt.want, tt.ok)
		}
	}
}
