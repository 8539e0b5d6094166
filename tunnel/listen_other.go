//go:build !linux

package tunnel

import "net"

// Listen is net.Listen on TCP; Go sets the keep-alive probes on each
// accepted connection (see the Linux version).
func Listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
