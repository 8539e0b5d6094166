package tunnel_test

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"

	"gatehouse/tunnel"
)

// FuzzHandshake: the worker's view of a tunnel request (upgrade check and
// bearer token) on arbitrary bytes never panics, and a token it accepts is
// exactly what followed "Bearer " in one Authorization header (issue 11).
func FuzzHandshake(f *testing.F) {
	f.Add("POST " + tunnel.Path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nConnection: Upgrade\r\nUpgrade: " + tunnel.Protocol + "\r\n\r\n")
	f.Add("POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic Zm9v\r\nConnection: keep-alive, upgrade\r\n\r\n")
	f.Add("GET " + tunnel.InfoPath + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \r\nAuthorization: Bearer b\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		_ = tunnel.IsUpgrade(r)
		tok, ok := tunnel.BearerToken(r)
		if ok && (tok == "" || !bytes.Contains([]byte(r.Header.Get("Authorization")), []byte(tok))) {
			t.Fatalf("token %q from %q", tok, r.Header.Values("Authorization"))
		}
	})
}
