package worker

import (
	"context"
	"errors"
	"net"
	"sync"

	"gatehouse/tunnel"
)

// ServeEcho runs a TCP echo service on ln (for `gatehouse dev`'s target
// `echo`, at 127.0.0.1:9201): every connection gets back the bytes it sends,
// and is half-closed when it half-closes. It closes ln and every connection
// and returns nil when ctx ends, or the accept error that stopped it.
func ServeEcho(ctx context.Context, ln net.Listener) error {
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	closeAll := func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			c.Close()
		}
	}
	stop := context.AfterFunc(ctx, closeAll)
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer closeAll()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tunnel.Copy(c, c, nil) == nil {
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
			}
			c.Close()
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		}()
	}
}
