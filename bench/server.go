package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for CREATE/DROP DATABASE

	"gatehouse/migrations"
	"gatehouse/models"
)

// benchPassword is the administrator's password in the bench's databases
// (the one `gatehouse dev` uses too).
const benchPassword = "password"

// goBuild builds the gatehouse binary of the module bench runs in.
func goBuild(ctx context.Context, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build (run bench from the module root): %w", err)
	}
	return nil
}

// world is what seed made: the targets the bench starts sessions on.
type world struct {
	echo, bulk, short string // target ids
}

// seed migrates the database and makes the administrator (password
// benchPassword), an org, a project and three targets: echo and bulk
// (unlimited connections, 8 h) and short (20 s, for the expiry figure). It
// runs before the server starts; everything measured afterwards goes
// through the binary.
func seed(ctx context.Context, dbURL string, echoAddr, bulkAddr *net.TCPAddr) (*world, error) {
	db, dialect, err := models.OpenDB(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	defer sqlDB.Close()
	if _, err := migrations.Up(ctx, sqlDB, string(dialect)); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	store := models.NewStore(db, dialect, models.Options{})
	boot, err := store.Bootstrap(ctx, models.BootstrapOptions{AdminLoginName: "admin", AdminPassword: benchPassword})
	if err != nil {
		return nil, err
	}
	admin := models.Actor{UserID: boot.AdminUserID, Name: "admin"}
	org, err := store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: "Bench org"})
	if err != nil {
		return nil, fmt.Errorf("org: %w", err)
	}
	proj, err := store.CreateScope(ctx, admin, org.ID, models.ScopeInput{Name: "Bench project"})
	if err != nil {
		return nil, fmt.Errorf("project: %w", err)
	}
	target := func(name string, port, maxSeconds int) (string, error) {
		t, err := store.CreateTarget(ctx, admin, proj.ID, models.TargetInput{Name: name, DefaultPort: port, Address: "127.0.0.1",
			SessionMaxSeconds: maxSeconds, SessionConnectionLimit: models.UnlimitedConnections})
		if err != nil {
			return "", fmt.Errorf("target %s: %w", name, err)
		}
		return t.ID, nil
	}
	w := &world{}
	if w.echo, err = target("bench-echo", echoAddr.Port, 8*3600); err != nil {
		return nil, err
	}
	if w.bulk, err = target("bench-bulk", bulkAddr.Port, 8*3600); err != nil {
		return nil, err
	}
	if w.short, err = target("bench-short", echoAddr.Port, 20); err != nil {
		return nil, err
	}
	return w, nil
}

// createPostgres makes a fresh database on the server at base and returns
// its URL and a function that drops it.
func createPostgres(base string) (string, func(), error) {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	defer admin.Close()
	name := fmt.Sprintf("gh_bench_%d", time.Now().UnixNano())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		return "", nil, fmt.Errorf("create database (is Postgres running at %s?): %w", base, err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		if a, err := sql.Open("pgx", base); err == nil {
			_, _ = a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			a.Close()
		}
	}
	return u.String(), drop, nil
}

// proc is a started gatehouse process.
type proc struct {
	cmd    *exec.Cmd
	out    *lineBuffer
	done   chan error
	URL    string // servers: the base URL
	Listen string // connect: its local listener
}

// lineBuffer collects a process's output.
type lineBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (p *proc) Pid() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM and waits (SIGKILL after 15 s).
func (p *proc) Stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func startProc(bin string, env []string, args ...string) (*proc, error) {
	cmd := exec.Command(bin, args...)
	out := &lineBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, out: out, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	return p, nil
}

// startServer starts a server process and waits for /readyz; it returns
// the process and how long it took to be ready.
func startServer(bin string, env []string, base string, client *http.Client, args ...string) (*proc, time.Duration, error) {
	t0 := time.Now()
	p, err := startProc(bin, env, args...)
	if err != nil {
		return nil, 0, err
	}
	p.URL = base
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, time.Since(t0), nil
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			return nil, 0, fmt.Errorf("%s exited: %v\n%s", args[0], err, p.out)
		case <-time.After(5 * time.Millisecond):
		}
	}
	p.Stop()
	return nil, 0, fmt.Errorf("%s not ready within 60 s:\n%s", args[0], p.out)
}

var listening = regexp.MustCompile(`Listening on (\S+) for session`)

// startConnect runs `gatehouse connect` for a token and waits for its
// local listener.
func startConnect(bin, base, token string, extra ...string) (*proc, time.Duration, error) {
	t0 := time.Now()
	args := append([]string{"connect", "--addr", base, "--keep-session"}, extra...)
	p, err := startProc(bin, []string{"GATEHOUSE_TOKEN=" + token}, args...)
	if err != nil {
		return nil, 0, err
	}
	if err := p.waitListen(listening, 30*time.Second); err != nil {
		return nil, 0, fmt.Errorf("connect: %w", err)
	}
	return p, time.Since(t0), nil
}

// waitListen waits until p prints re (its first group is the address it
// listens on, kept in p.Listen); it stops p when that does not come.
func (p *proc) waitListen(re *regexp.Regexp, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			p.Listen = m[1]
			return nil
		}
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("exited: %v\n%s", err, p.out)
		case <-time.After(2 * time.Millisecond):
		}
	}
	p.Stop()
	return fmt.Errorf("did not listen:\n%s", p.out)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// serveEnv is the configuration of `gatehouse serve` for the bench.
func serveEnv(dbURL, listen, ext string) []string {
	return []string{"GATEHOUSE_DATABASE_URL=" + dbURL, "GATEHOUSE_LISTEN=" + listen, "GATEHOUSE_EXTERNAL_URL=" + ext,
		"GATEHOUSE_COOKIE_HASH_KEY=" + randomB64(32), "GATEHOUSE_COOKIE_BLOCK_KEY=" + randomB64(32),
		"GATEHOUSE_ROOT_KEY=" + randomB64(32), "GATEHOUSE_LOG_LEVEL=warn"}
}

// selfSigned writes a certificate for 127.0.0.1 (ECDSA P-256) and its key.
func selfSigned(dir string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
}

// rssKiB is a process's resident memory.
func rssKiB(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return f
}

var errSkip = errors.New("skipped")
