package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/worker"
)

// selfSigned writes a certificate for 127.0.0.1 and its key; it returns
// their paths and a pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gatehouse test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLS: serve speaks HTTPS from certificate files; the browser
// flow and `connect --ca-file` work over it; connect without the CA
// refuses the certificate; a half-configured pair is refused at start.
func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"cert only", map[string]string{"GATEHOUSE_TLS_CERT": certFile}, "--tls-key / GATEHOUSE_TLS_KEY: missing while --tls-cert / GATEHOUSE_TLS_CERT is set"},
		{"key only", map[string]string{"GATEHOUSE_TLS_KEY": keyFile}, "--tls-cert / GATEHOUSE_TLS_CERT: missing while --tls-key / GATEHOUSE_TLS_KEY is set"},
		{"unreadable", map[string]string{"GATEHOUSE_TLS_CERT": keyFile, "GATEHOUSE_TLS_KEY": keyFile}, "--tls-cert / GATEHOUSE_TLS_CERT: cannot load the certificate and key"},
	} {
		env := serveEnv(filepath.Join(t.TempDir(), "g.db"))
		for k, v := range c.env {
			env[k] = v
		}
		err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, &syncBuffer{}, &syncBuffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}

	ctx := context.Background()
	app := newProxyWorldEnv(t, models.SQLite, 1, map[string]string{"GATEHOUSE_TLS_CERT": certFile, "GATEHOUSE_TLS_KEY": keyFile}).Apps[0]
	if !strings.HasPrefix(app.URL, "https://") {
		t.Fatalf("serve with TLS announced %s", app.URL)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, tok := startSession(t, c, app)

	err := run(ctx, []string{"connect", "--addr", app.URL, "--token", tok}, func(string) string { return "" }, &syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("connect without the CA: %v", err)
	}
	proc := startConnect(t, "--addr", app.URL, "--token", tok, "--ca-file", certFile)
	conn, err := net.Dial("tcp", proc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	echoOnce(t, conn, "over TLS")
}

// TestTunnelUserIPBehindTrustedProxy: behind a TLS-terminating proxy (a
// trusted peer), the connection records the user's IP from
// X-Forwarded-For; from an untrusted peer the header is ignored.
func TestTunnelUserIPBehindTrustedProxy(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		extra := map[string]string{}
		if trusted {
			extra["GATEHOUSE_TRUSTED_PROXIES"] = "127.0.0.1/32"
			extra["GATEHOUSE_EXTERNAL_URL"] = "https://gatehouse.example"
		}
		w := newProxyWorldEnv(t, models.SQLite, 1, extra)
		app := w.Apps[0]
		id, tok := startSession(t, client(t), app)

		conn, err := net.Dial("tcp", strings.TrimPrefix(app.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		conn.Write([]byte("POST " + worker.MountPath + " HTTP/1.1\r\nHost: gatehouse.example\r\nConnection: Upgrade\r\nUpgrade: gatehouse-tcp/1\r\n" +
			"Authorization: Bearer " + tok + "\r\nX-Forwarded-For: 203.0.113.7\r\nContent-Length: 0\r\n\r\nping"))
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("tunnel: %v %v", resp, err)
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("echo %q %v", buf, err)
		}
		rows := connectionRows(t, w.DBURL, id)
		want := map[bool]string{true: "203.0.113.7", false: "127.0.0.1"}[trusted]
		if len(rows) != 1 || rows[0].UserIP != want || !strings.HasPrefix(rows[0].ClientAddr, "127.0.0.1:") {
			t.Fatalf("trusted %v: %+v", trusted, rows)
		}
	}
}

// TestDevEchoPortBusy: when 127.0.0.1:9201 is taken, dev warns and runs on.
func TestDevEchoPortBusy(t *testing.T) {
	if ln, err := net.Listen("tcp", "127.0.0.1:9201"); err == nil {
		defer ln.Close()
	}
	app := launchUntil(t, nil, devURL, "dev", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	app.Stop(t) // fails the test if dev returned an error
	if !strings.Contains(app.Err.String(), "dev echo service not started") || !strings.Contains(app.Err.String(), "127.0.0.1:9201") {
		t.Fatalf("no warning about the busy echo port:\n%s", app.Err)
	}
}
