//go:build !unix

package connect

import "net"

// earlyMax bounds the bytes sent with a tunnel request.
const earlyMax = 16 << 10

// readyBytes is Unix only (a non-blocking read); elsewhere the first bytes
// follow the tunnel's answer.
func readyBytes(c net.Conn, max int) []byte { return nil }
