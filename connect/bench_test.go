package connect_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gatehouse/connect"
	"gatehouse/tunnel"
	"gatehouse/worker"
	"gatehouse/worker/workertest"
)

// Benchmarks of the proxy path, each beside its baseline in the same run.
// Figures and commands: docs/benchmarks.md. Loopback only.

// gatehouse starts a worker (fake store, target at target) behind a plain
// HTTP server and a connect proxy in front of it; it returns connect's
// local address.
func gatehouse(b testing.TB, target string) string { return gatehouseOver(b, target, false) }

// gatehouseOver is gatehouse with the tunnel over TLS when useTLS is set.
func gatehouseOver(b testing.TB, target string, useTLS bool) string {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	fake := workertest.New()
	fake.Add(workertest.Session{ID: "s_bench", Token: "bench", Endpoint: target, Expires: time.Now().Add(24 * time.Hour), Limit: -1})
	w := worker.New(worker.Config{Sessions: fake, Logger: slog.New(slog.DiscardHandler)})
	go w.Run(ctx)
	srv := httptest.NewUnstartedServer(w.Handler())
	var tlsConfig *tls.Config
	if useTLS {
		srv.Listener = tunnel.RecordListener(srv.Listener) // as the app's TLS listener
		srv.StartTLS()
		pool := x509.NewCertPool()
		pool.AddCert(srv.Certificate())
		tlsConfig = &tls.Config{RootCAs: pool}
	} else {
		srv.Start()
	}
	client, err := connect.NewClient(srv.URL, "bench", tlsConfig)
	if err != nil {
		b.Fatal(err)
	}
	ready := make(chan net.Addr, 1)
	p := &connect.Proxy{Client: client, ListenAddr: "127.0.0.1:0", Out: io.Discard, Err: io.Discard,
		PollInterval: time.Hour, Ready: func(a net.Addr) { ready <- a }}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var addr string
	select {
	case a := <-ready:
		addr = a.String()
	case err := <-done:
		b.Fatal(err)
	}
	b.Cleanup(func() { cancel(); <-done; srv.Close() })
	return addr
}

// twoHopRelay is the baseline: two plain TCP relays in a row (io.Copy both
// ways, which splices), the same hops as connect + worker without Gatehouse.
func twoHopRelay(b testing.TB, target string) string {
	hop2 := plainRelay(b, target)
	return plainRelay(b, hop2)
}

func plainRelay(b testing.TB, to string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				d, err := net.Dial("tcp", to)
				if err != nil {
					c.Close()
					return
				}
				half := func(dst, src *net.TCPConn) { io.Copy(dst, src); dst.CloseWrite() }
				go half(d.(*net.TCPConn), c.(*net.TCPConn))
				half(c.(*net.TCPConn), d.(*net.TCPConn))
				time.AfterFunc(time.Second, func() { c.Close(); d.Close() })
			}()
		}
	}()
	return ln.Addr().String()
}

// sink reads everything a connection sends, then answers "ok".
func sink(b testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 256<<10)
				for {
					if _, err := c.Read(buf); err != nil {
						break
					}
				}
				c.Write([]byte("ok"))
			}()
		}
	}()
	return ln.Addr().String()
}

const gib = 1 << 30

// send writes 1 GiB to addr, half-closes and waits for the sink's "ok".
func send(b *testing.B, addr string, chunk []byte) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for sent := 0; sent < gib; sent += len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	if got, err := io.ReadAll(c); err != nil || string(got) != "ok" {
		b.Fatalf("sink answered %q, %v", got, err)
	}
}

// BenchmarkThroughput moves 1 GiB through a plain two-hop relay (the
// baseline) and 1 GiB through connect + worker in every op, alternating
// which goes first, so both see the same machine load; it reports both rates
// and their ratio. The tls sub-benchmark runs the tunnel over TLS (which the
// kernel cannot splice), for information. Run with -benchtime=5x.
func BenchmarkThroughput(b *testing.B) {
	b.Run("plain", func(b *testing.B) { throughput(b, false) })
	b.Run("tls", func(b *testing.B) { throughput(b, true) })
}

func throughput(b *testing.B, useTLS bool) {
	target := sink(b)
	relay, gh := twoHopRelay(b, target), gatehouseOver(b, target, useTLS)
	chunk := make([]byte, 1<<20)
	// Wall time, and CPU time of the whole process (client, relays, sink),
	// which the machine's load disturbs less.
	var tRelay, tGatehouse, cpuRelay, cpuGatehouse time.Duration
	timed := func(addr string, total, cpu *time.Duration) {
		start, cpu0 := time.Now(), cpuTime()
		send(b, addr, chunk)
		*total += time.Since(start)
		*cpu += cpuTime() - cpu0
	}
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			timed(relay, &tRelay, &cpuRelay)
			timed(gh, &tGatehouse, &cpuGatehouse)
		} else {
			timed(gh, &tGatehouse, &cpuGatehouse)
			timed(relay, &tRelay, &cpuRelay)
		}
		i++
	}
	mbps := func(d time.Duration) float64 { return float64(i) * gib / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(tRelay), "relay-MB/s")
	b.ReportMetric(mbps(tGatehouse), "gatehouse-MB/s")
	b.ReportMetric(tRelay.Seconds()/tGatehouse.Seconds(), "ratio")
	b.ReportMetric(float64(cpuRelay.Milliseconds())/float64(i), "relay-cpu-ms/GiB")
	b.ReportMetric(float64(cpuGatehouse.Milliseconds())/float64(i), "gatehouse-cpu-ms/GiB")
}

// cpuTime is the user + system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFirstByte opens a connection, sends one byte and reads the echo,
// once directly to the echo service (baseline) and once through connect +
// worker in every op (alternating); it reports p50 and p99 of both and the
// added p50. Run with -benchtime=2000x.
func BenchmarkFirstByte(b *testing.B) { benchFirstByte(b, false) }

// BenchmarkFirstByteTLS is BenchmarkFirstByte with the tunnel over TLS
// (httptest's certificate), each local connection its own TLS connection.
func BenchmarkFirstByteTLS(b *testing.B) { benchFirstByte(b, true) }

func benchFirstByte(b *testing.B, useTLS bool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go worker.ServeEcho(ctx, ln)
	direct := ln.Addr().String()
	gh := gatehouseOver(b, direct, useTLS)
	roundTrip := func(addr string) time.Duration {
		start := time.Now()
		echoOnce(b, addr)
		return time.Since(start)
	}
	var tDirect, tGatehouse []time.Duration
	for b.Loop() {
		if len(tDirect)%2 == 0 {
			tDirect = append(tDirect, roundTrip(direct))
			tGatehouse = append(tGatehouse, roundTrip(gh))
		} else {
			tGatehouse = append(tGatehouse, roundTrip(gh))
			tDirect = append(tDirect, roundTrip(direct))
		}
	}
	pct := func(ts []time.Duration, p float64) float64 {
		slices.Sort(ts)
		return float64(ts[int(p*float64(len(ts)-1))].Microseconds())
	}
	b.ReportMetric(pct(tDirect, 0.5), "direct-p50-µs")
	b.ReportMetric(pct(tDirect, 0.99), "direct-p99-µs")
	b.ReportMetric(pct(tGatehouse, 0.5), "gatehouse-p50-µs")
	b.ReportMetric(pct(tGatehouse, 0.99), "gatehouse-p99-µs")
	b.ReportMetric(pct(tGatehouse, 0.5)-pct(tDirect, 0.5), "added-p50-µs")
}

// BenchmarkIdleMemory holds many idle relayed connections and reports the
// memory per connection of the process under test: the worker, then
// connect. The other parties (echo service, the worker for connect, the
// clients) run as helper processes (this test binary, see benchHelper), so
// each measured process holds only its own sockets. Run with -benchtime=1x.
func BenchmarkIdleMemory(b *testing.B) {
	n := raiseFileLimit(b)
	b.Run("worker", func(b *testing.B) {
		echo := helper(b, "echo", nil)
		fake := workertest.New()
		fake.Add(workertest.Session{ID: "s_bench", Token: "bench", Endpoint: echo.addr, Expires: time.Now().Add(24 * time.Hour), Limit: -1})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w := worker.New(worker.Config{Sessions: fake, Logger: slog.New(slog.DiscardHandler)})
		go w.Run(ctx)
		srv := httptest.NewServer(w.Handler())
		defer srv.Close()
		before := memNow()
		clients := helper(b, "tunnels", []string{"GATEHOUSE_BENCH_TARGET=" + srv.Listener.Addr().String(), "GATEHOUSE_BENCH_N=" + strconv.Itoa(n)})
		report(b, n, before, clients)
	})
	b.Run("connect", func(b *testing.B) {
		echo := helper(b, "echo", nil)
		wk := helper(b, "worker", []string{"GATEHOUSE_BENCH_TARGET=" + echo.addr})
		client, err := connect.NewClient("http://"+wk.addr, "bench", nil)
		if err != nil {
			b.Fatal(err)
		}
		ready := make(chan net.Addr, 1)
		p := &connect.Proxy{Client: client, ListenAddr: "127.0.0.1:0", Out: io.Discard, Err: os.Stderr,
			PollInterval: time.Hour, Ready: func(a net.Addr) { ready <- a }}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		defer func() { cancel(); <-done }()
		addr := (<-ready).String()
		before := memNow()
		clients := helper(b, "plain", []string{"GATEHOUSE_BENCH_TARGET=" + addr, "GATEHOUSE_BENCH_N=" + strconv.Itoa(n)})
		report(b, n, before, clients)
	})
}

// raiseFileLimit raises RLIMIT_NOFILE to its hard limit and returns how many
// relayed connections fit: 10,000, or fewer when the hard limit is too low
// for the 2 descriptors each one takes in the measured process.
func raiseFileLimit(b *testing.B) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	want := lim
	want.Cur, want.Max = 30000, max(lim.Max, 30000)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		lim.Cur = lim.Max // cannot raise the hard limit here: use all of it
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			b.Fatal(err)
		}
		want = lim
	}
	n := min(10000, int(want.Cur-200)/2)
	b.Logf("RLIMIT_NOFILE %d (hard %d): %d connections", want.Cur, want.Max, n)
	return n
}

type mem struct {
	goBytes    uint64 // live heap + goroutine stacks
	rss        uint64
	goroutines int
	fds        int
}

func memNow() mem {
	runtime.GC()
	debug.FreeOSMemory() // so that the RSS delta counts only what the connections keep
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	statm, _ := os.ReadFile("/proc/self/statm")
	f := strings.Fields(string(statm))
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	fds, _ := os.ReadDir("/proc/self/fd")
	return mem{goBytes: ms.HeapAlloc + ms.StackInuse, rss: pages * uint64(os.Getpagesize()), goroutines: runtime.NumGoroutine(), fds: len(fds)}
}

func report(b *testing.B, n int, before mem, clients *helperProc) {
	if got := clients.line(); got != "ready" {
		b.Fatalf("clients: %q", got)
	}
	time.Sleep(500 * time.Millisecond) // let every relay park
	after := memNow()
	b.ReportMetric(float64(n), "conns")
	b.ReportMetric(float64(after.goBytes-before.goBytes)/float64(n)/1024, "KiB/conn-go")
	b.ReportMetric(float64(int64(after.rss)-int64(before.rss))/float64(n)/1024, "KiB/conn-rss")
	b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(n), "goroutines/conn")
	b.ReportMetric(float64(after.fds-before.fds)/float64(n), "fds/conn")
}

// helperProc is this test binary running one benchHelper role.
type helperProc struct {
	addr string
	out  *bufio.Scanner
}

func (h *helperProc) line() string {
	if !h.out.Scan() {
		return "helper ended: " + fmt.Sprint(h.out.Err())
	}
	return h.out.Text()
}

func helper(b *testing.B, role string, env []string) *helperProc {
	b.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append(env, "GATEHOUSE_BENCH_ROLE="+role)...)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe() // the helper exits when its stdin closes
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	h := &helperProc{out: bufio.NewScanner(stdout)}
	if role != "tunnels" && role != "plain" {
		h.addr = h.line()
	}
	return h
}

// benchHelper runs a helper role (see BenchmarkIdleMemory) until stdin
// closes: "echo" and "worker" print their address first; "tunnels" (raw
// tunnels) and "plain" (plain TCP, e.g. to connect) open N connections to
// GATEHOUSE_BENCH_TARGET, do a one-byte round trip on each, print "ready".
func benchHelper(role string) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	target := os.Getenv("GATEHOUSE_BENCH_TARGET")
	n, _ := strconv.Atoi(os.Getenv("GATEHOUSE_BENCH_N"))
	switch role {
	case "echo":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(ln.Addr())
		go worker.ServeEcho(ctx, ln)
	case "worker":
		fake := workertest.New()
		fake.Add(workertest.Session{ID: "s_bench", Token: "bench", Endpoint: target, Expires: time.Now().Add(24 * time.Hour), Limit: -1})
		w := worker.New(worker.Config{Sessions: fake, Logger: slog.New(slog.DiscardHandler)})
		go w.Run(ctx)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(ln.Addr())
		go http.Serve(ln, w.Handler())
	case "tunnels", "plain":
		var mu sync.Mutex
		var conns []net.Conn
		var wg sync.WaitGroup
		sem := make(chan struct{}, 32)
		var failed error
		for range n {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				c, err := benchConn(role, target)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed = err
					return
				}
				conns = append(conns, c)
			})
		}
		wg.Wait()
		if failed != nil {
			fmt.Printf("failed: %d of %d: %v\n", n-len(conns), n, failed)
			return 1
		}
		fmt.Println("ready")
	}
	io.Copy(io.Discard, os.Stdin)
	return 0
}

func benchConn(role, target string) (net.Conn, error) {
	c, err := net.Dial("tcp", target)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(c, 16)
	if role == "tunnels" {
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bench\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", tunnel.Path, tunnel.Protocol)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			c.Close()
			return nil, fmt.Errorf("tunnel: %v %v", resp, err)
		}
	}
	if _, err := c.Write([]byte{'x'}); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := br.ReadByte(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
