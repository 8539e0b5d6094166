package main

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse/proccpu"
	"gatehouse/worker"
)

// stats summarises durations in milliseconds.
func stats(ds []time.Duration) map[string]any {
	if len(ds) == 0 {
		return map[string]any{"n": 0}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	pct := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return ms(s[max(i, 0)])
	}
	return map[string]any{"n": len(s), "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// prefixed renames a stats map's keys with a prefix.
func prefixed(p string, m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[p+k] = v
	}
	return out
}

func merge(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// env is one database's running world.
type env struct {
	cfg       *config
	db        string
	dir       string
	srv       *proc
	tlsSrv    *proc
	tlsBase   string // tlsSrv's URL
	web       *webClient
	w         *world
	echo      string // echo server address (direct)
	sink      string // sink address (direct)
	cert, key string
	conn      *proc  // connect on a long echo session (first byte, admission, idle)
	pprof     string // the server's --pprof-listen address, when profiling
	dbName    string // the Postgres database (empty on SQLite)
}

// commits is the Postgres database's committed transactions so far (its
// statistics are flushed about once a second: wait before reading a delta).
func (e *env) commits() int64 {
	if e.dbName == "" {
		return 0
	}
	db, err := sql.Open("pgx", e.cfg.pgURL)
	if err != nil {
		return 0
	}
	defer db.Close()
	var n int64
	_ = db.QueryRow("SELECT xact_commit FROM pg_stat_database WHERE datname = $1", e.dbName).Scan(&n)
	return n
}

// cpuUse is the CPU time used so far by the server, connect and (on
// Postgres) every postgres process of the machine: read it around a
// figure and take the difference (cpuSince). A Postgres backend that
// exits in between takes its time with it; the server's pool keeps its
// connections, so the figures' own backends stay.
type cpuUse struct{ srv, conn, pg time.Duration }

func (e *env) cpuUse() cpuUse {
	u := cpuUse{srv: proccpu.Of(e.srv.Pid())}
	if e.conn != nil {
		u.conn = proccpu.Of(e.conn.Pid())
	}
	if e.dbName != "" {
		u.pg = proccpu.Named("postgres")
	}
	return u
}

// cpuSince is the CPU used from u0 to now, in µs per item, as JSON fields
// (the Postgres one only on Postgres).
func (e *env) cpuSince(u0 cpuUse, items float64, per string) map[string]any {
	u := e.cpuUse()
	us := func(d time.Duration) float64 { return math.Round(float64(d.Microseconds()) / items) }
	out := map[string]any{"server_cpu_us_per_" + per: us(u.srv - u0.srv)}
	if e.conn != nil && per == "conn" {
		out["connect_cpu_us_per_conn"] = us(u.conn - u0.conn)
	}
	if e.dbName != "" {
		out["pg_cpu_us_per_"+per] = us(u.pg - u0.pg)
	}
	return out
}

// profile starts a CPU profile of the server for secs seconds (when
// profiling) and returns a function that waits for it.
func (e *env) profile(name string, secs int) func() {
	if e.pprof == "" {
		return func() {}
	}
	done := make(chan error, 1)
	go func() {
		done <- fetchProfile(e.pprof, "profile", secs, filepath.Join(e.cfg.pprofDir, e.db+"-"+name+".pprof"))
	}()
	go func() {
		done <- fetchProfile(e.pprof, "trace", secs, filepath.Join(e.cfg.pprofDir, e.db+"-"+name+".trace"))
	}()
	time.Sleep(100 * time.Millisecond)
	return func() {
		for range 2 {
			if err := <-done; err != nil {
				logf("profile %s: %v", name, err)
			}
		}
	}
}

func runDB(ctx context.Context, cfg *config, db, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	e := &env{cfg: cfg, db: db, dir: dir}
	echoCtx, stopEcho := context.WithCancel(ctx)
	defer stopEcho()
	echoLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = worker.ServeEcho(echoCtx, echoLn) }() // closes echoLn when echoCtx ends
	sinkLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer sinkLn.Close()
	go serveSink(sinkLn)
	e.echo, e.sink = echoLn.Addr().String(), sinkLn.Addr().String()

	var dbURL string
	if db == "sqlite" {
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
			return err
		}
		dbURL = filepath.Join(dir, "data", "gatehouse.db")
	} else {
		u, drop, err := createPostgres(cfg.pgURL)
		if err != nil {
			return err
		}
		if !cfg.keep {
			defer drop()
		}
		dbURL = u
		e.dbName = strings.TrimPrefix(mustParse(u).Path, "/")
	}
	logf("%s: seeding %s", db, dbURL)
	if e.w, err = seed(ctx, dbURL, echoLn.Addr().(*net.TCPAddr), sinkLn.Addr().(*net.TCPAddr)); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	base := "http://" + listen
	var extraEnv []string
	pprofAddr := ""
	if cfg.pprofDir != "" {
		pp, err := freePort()
		if err != nil {
			return err
		}
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", pp)
		e.pprof = pprofAddr
		extraEnv = append(extraEnv, "GATEHOUSE_PPROF_LISTEN="+pprofAddr)
	}
	hc := newHTTPClient()
	var startTime time.Duration
	if db == "sqlite" {
		e.srv, startTime, err = startServer(cfg.bin, extraEnv, base, hc, "dev", "--listen", listen, "--data-dir", filepath.Join(dir, "data"))
	} else {
		e.srv, startTime, err = startServer(cfg.bin, append(serveEnv(dbURL, listen, base), extraEnv...), base, hc, "serve")
	}
	if err != nil {
		return err
	}
	defer e.srv.Stop()
	if cfg.want("start") {
		cfg.emit(db, "start", map[string]any{"ready_ms": ms(startTime), "command": map[bool]string{true: "dev", false: "serve"}[db == "sqlite"]})
	}
	defer func() { // whatever happened, nothing is left running
		if e.conn != nil {
			e.conn.Stop()
		}
		if e.tlsSrv != nil {
			e.tlsSrv.Stop()
		}
	}()
	if e.web, err = login(base); err != nil {
		return err
	}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"session_start", e.sessionStarts},
		{"connect", e.connectStart},
		{"first_byte", e.firstByte},
		{"first_byte_tls", e.firstByteTLS},
		{"admission", e.admission},
		{"bulk", func() error { return e.bulk(false) }},
		{"bulk_tls", func() error { return e.bulk(true) }},
		{"cancel", e.cancelCut},
		{"expiry", e.expiry},
		{"lists", e.lists},
		{"idle", e.idle},
	}
	for _, s := range steps {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !cfg.want(s.name) && !(s.name == "connect" && e.needsConnect()) {
			continue
		}
		logf("%s: %s", db, s.name)
		if err := s.fn(); err != nil && err != errSkip {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

func (e *env) needsConnect() bool {
	return e.cfg.want("first_byte") || e.cfg.want("admission") || e.cfg.want("idle")
}

// sessionStarts: POST /targets/{id}/sessions, sequential then concurrent.
func (e *env) sessionStarts() error {
	var seq []time.Duration
	for i := 0; i < e.cfg.starts+10; i++ {
		t0 := time.Now()
		if _, _, err := e.web.startSession(e.w.echo); err != nil {
			return err
		}
		if i >= 10 { // warm-up
			seq = append(seq, time.Since(t0))
		}
	}
	per := 50
	var mu sync.Mutex
	var conc []time.Duration
	var firstErr error
	wait := e.profile("session_start", 3)
	cpu0 := e.cpuUse()
	t0 := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < e.cfg.callers; c++ {
		wg.Go(func() {
			for i := 0; i < per; i++ {
				s := time.Now()
				_, _, err := e.web.startSession(e.w.echo)
				d := time.Since(s)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				conc = append(conc, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	el := time.Since(t0)
	cpu := e.cpuSince(cpu0, float64(len(conc)), "start")
	wait()
	if firstErr != nil {
		return firstErr
	}
	e.cfg.emit(e.db, "session_start", merge(stats(seq), prefixed("concurrent_", stats(conc)), cpu, map[string]any{
		"callers": e.cfg.callers, "per_s": math.Round(float64(len(conc)) / el.Seconds())}))
	return nil
}

// connectStart: `gatehouse connect` from exec to its local listener.
func (e *env) connectStart() error {
	_, tok, err := e.web.startSession(e.w.echo)
	if err != nil {
		return err
	}
	p, d, err := startConnect(e.cfg.bin, e.srv.URL, tok)
	if err != nil {
		return err
	}
	e.conn = p
	if e.cfg.want("connect") {
		e.cfg.emit(e.db, "connect", map[string]any{"listening_ms": ms(d)})
	}
	return nil
}

// firstByte: new connection + one byte back, through gatehouse and direct,
// interleaved.
func (e *env) firstByte() error {
	wait := e.profile("first_byte", 2)
	defer wait()
	return e.firstBytes("first_byte", e.conn.Listen)
}

// firstBytes measures cfg.rounds round trips of a new connection through
// listen (a connect's listener) and as many to the echo server,
// interleaved, and emits them as figure.
func (e *env) firstBytes(figure, listen string) error {
	var gh, direct []time.Duration
	for i := 0; i < e.cfg.rounds; i++ {
		d1, _, err := roundTrip(listen, false)
		if err != nil {
			return err
		}
		d2, _, err := roundTrip(e.echo, false)
		if err != nil {
			return err
		}
		gh, direct = append(gh, d1), append(direct, d2)
	}
	e.cfg.emit(e.db, figure, merge(stats(gh), prefixed("direct_", stats(direct))))
	return nil
}

// firstByteTLS: firstByte through `serve --tls-cert` and `connect
// --ca-file` (a new TLS connection to the server for each).
func (e *env) firstByteTLS() error {
	base, err := e.tlsServer()
	if err != nil {
		return err
	}
	_, tok, err := e.web.startSession(e.w.echo)
	if err != nil {
		return err
	}
	c, _, err := startConnect(e.cfg.bin, base, tok, "--ca-file", e.cert)
	if err != nil {
		return err
	}
	defer c.Stop()
	return e.firstBytes("first_byte_tls", c.Listen)
}

// tlsServer starts, once, a second `serve --tls-cert` on the same
// database (Postgres only: `gatehouse dev` serves plain HTTP) and returns
// its URL.
func (e *env) tlsServer() (string, error) {
	if e.db != "postgres" {
		return "", errSkip
	}
	if e.tlsSrv != nil {
		return e.tlsBase, nil
	}
	var err error
	if e.cert, e.key, err = selfSigned(e.dir); err != nil {
		return "", err
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	base := "https://" + listen
	env := serveEnv(e.srvDatabaseURL(), listen, base)
	env = append(env, "GATEHOUSE_TLS_CERT="+e.cert, "GATEHOUSE_TLS_KEY="+e.key)
	hc := newHTTPClient()
	hc.Transport = &http.Transport{TLSClientConfig: tlsTrusting(e.cert)}
	srv, _, err := startServer(e.cfg.bin, env, base, hc, "serve")
	if err != nil {
		return "", err
	}
	e.tlsSrv, e.tlsBase = srv, base
	return base, nil
}

// openMany opens n connections to addr with k in flight; each does one
// round trip; it returns their setup times and the elapsed time (closing
// each unless keep, which returns them open).
func openMany(addr string, n, k int, keep bool) ([]time.Duration, time.Duration, []net.Conn, error) {
	var next atomic.Int64
	var mu sync.Mutex
	var ds []time.Duration
	var conns []net.Conn
	var firstErr error
	t0 := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < k; w++ {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				d, c, err := roundTrip(addr, keep)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				ds = append(ds, d)
				if c != nil {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ds, time.Since(t0), conns, firstErr
}

// admission: new connections per second on one session, cfg.inFlight in
// flight, and the same against the echo server directly.
func (e *env) admission() error {
	// Warm-up, then the direct floor, then gatehouse (with a CPU profile
	// when asked).
	if _, _, _, err := openMany(e.conn.Listen, 100, e.cfg.inFlight, false); err != nil {
		return err
	}
	dd, del, _, err := openMany(e.echo, e.cfg.admissions, e.cfg.inFlight, false)
	if err != nil {
		return err
	}
	wait := e.profile("admission", 5)
	time.Sleep(1500 * time.Millisecond)
	commits := e.commits()
	cpu0 := e.cpuUse()
	gd, gel, _, err := openMany(e.conn.Listen, e.cfg.admissions, e.cfg.inFlight, false)
	if err != nil {
		return err
	}
	n := float64(e.cfg.admissions)
	cpu := e.cpuSince(cpu0, n, "conn")
	wait()
	time.Sleep(3 * time.Second) // the closes are recorded, the statistics flushed
	commits = e.commits() - commits
	e.cfg.emit(e.db, "admission", merge(stats(gd), prefixed("direct_", stats(dd)), cpu, map[string]any{
		"in_flight": e.cfg.inFlight, "per_s": math.Round(n / gel.Seconds()), "direct_per_s": math.Round(n / del.Seconds()),
		"pg_commits_per_conn": round2(float64(commits) / n)}))
	return nil
}

func fetchProfile(addr, kind string, secs int, out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", addr, kind, secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof answered %d", resp.StatusCode)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.ReadFrom(resp.Body)
	logf("%s in %s", kind, out)
	return err
}

// bulk: cfg.bulk bytes up to the sink, directly, through a two-hop relay
// (its middle hop TLS when tlsOn) and through gatehouse (`serve
// --tls-cert` and `connect --ca-file` when tlsOn), interleaved; CPU per
// GiB on each side.
func (e *env) bulk(tlsOn bool) error {
	name := "bulk"
	base := e.srv.URL
	var connectArgs []string
	if tlsOn {
		name = "bulk_tls"
		var err error
		if base, err = e.tlsServer(); err != nil {
			return err
		}
		connectArgs = []string{"--ca-file", e.cert}
	}
	_, tok, err := e.web.startSession(e.w.bulk)
	if err != nil {
		return err
	}
	c, _, err := startConnect(e.cfg.bin, base, tok, connectArgs...)
	if err != nil {
		return err
	}
	defer c.Stop()
	var hop2Args, hop1Args []string
	if tlsOn {
		hop2Args = []string{"--tls-cert", e.cert, "--tls-key", e.key}
		hop1Args = []string{"--tls-ca", e.cert}
	}
	hop2, err := startRelay(append(hop2Args, "--to", e.sink)...)
	if err != nil {
		return err
	}
	defer hop2.Stop()
	hop1, err := startRelay(append(hop1Args, "--to", hop2.Listen)...)
	if err != nil {
		return err
	}
	defer hop1.Stop()
	srv := e.srv
	if tlsOn {
		srv = e.tlsSrv
	}
	type path struct {
		name      string
		addr      string
		near, far *proc // client side, server side (CPU)
		rates     []float64
		nearCPU   []float64
		farCPU    []float64
	}
	paths := []*path{{name: "direct", addr: e.sink}, {name: "relay", addr: hop1.Listen, near: hop1, far: hop2},
		{name: "gatehouse", addr: c.Listen, near: c, far: srv}}
	gib := float64(e.cfg.bulk) / float64(1<<30)
	for r := 0; r < e.cfg.bulkRuns; r++ {
		for i := range paths {
			p := paths[(i+r)%len(paths)]
			var n0, f0 time.Duration
			if p.near != nil {
				n0, f0 = proccpu.Of(p.near.Pid()), proccpu.Of(p.far.Pid())
			}
			d, err := bulkSend(p.addr, e.cfg.bulk)
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			p.rates = append(p.rates, float64(e.cfg.bulk)/d.Seconds()/1e6)
			if p.near != nil {
				p.nearCPU = append(p.nearCPU, float64((proccpu.Of(p.near.Pid())-n0).Milliseconds())/gib)
				p.farCPU = append(p.farCPU, float64((proccpu.Of(p.far.Pid())-f0).Milliseconds())/gib)
			}
		}
	}
	out := map[string]any{"bytes": e.cfg.bulk, "runs": e.cfg.bulkRuns}
	for _, p := range paths {
		out[p.name+"_MBps"] = median(p.rates)
		if p.near != nil {
			out[p.name+"_client_side_cpu_ms_per_GiB"] = median(p.nearCPU)
			out[p.name+"_server_side_cpu_ms_per_GiB"] = median(p.farCPU)
		}
	}
	out["ratio_to_direct"] = round2(median(paths[2].rates) / median(paths[0].rates))
	out["ratio_to_relay"] = round2(median(paths[2].rates) / median(paths[1].rates))
	e.cfg.emit(e.db, name, out)
	return nil
}

func (e *env) srvDatabaseURL() string {
	for _, kv := range e.srv.cmd.Env {
		if v, ok := cutPrefix(kv, "GATEHOUSE_DATABASE_URL="); ok {
			return v
		}
	}
	return ""
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return math.Round(m)
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// watchCut reports when c is closed by the other side.
func watchCut(c net.Conn) <-chan time.Time {
	ch := make(chan time.Time, 1)
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := c.Read(buf); err != nil {
				ch <- time.Now()
				return
			}
		}
	}()
	return ch
}

// cancelCut: from the cancel request (the session page's button) until
// the client's connection through connect is closed.
func (e *env) cancelCut() error {
	var ds []time.Duration
	for i := 0; i < e.cfg.cancels; i++ {
		id, tok, err := e.web.startSession(e.w.echo)
		if err != nil {
			return err
		}
		c, _, err := startConnect(e.cfg.bin, e.srv.URL, tok)
		if err != nil {
			return err
		}
		_, conn, err := roundTrip(c.Listen, true)
		if err != nil {
			c.Stop()
			return err
		}
		cut := watchCut(conn)
		t0 := time.Now()
		if err := e.web.cancel(id); err != nil {
			c.Stop()
			return err
		}
		select {
		case at := <-cut:
			ds = append(ds, at.Sub(t0))
		case <-time.After(10 * time.Second):
			c.Stop()
			return fmt.Errorf("the connection was not cut within 10 s of the cancel")
		}
		conn.Close()
		c.Stop()
	}
	e.cfg.emit(e.db, "cancel", stats(ds))
	return nil
}

// expiry: sessions of 20 s; how long after the deadline the connection is
// cut (the deadline is taken as when the start request was sent + 20 s, so
// the figure is an upper bound).
func (e *env) expiry() error {
	var ds []time.Duration
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		wg.Go(func() {
			sent := time.Now()
			_, tok, err := e.web.startSession(e.w.short)
			if err != nil {
				errs <- err
				return
			}
			deadline := sent.Add(20 * time.Second)
			c, _, err := startConnect(e.cfg.bin, e.srv.URL, tok)
			if err != nil {
				errs <- err
				return
			}
			defer c.Stop()
			_, conn, err := roundTrip(c.Listen, true)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			select {
			case at := <-watchCut(conn):
				mu.Lock()
				ds = append(ds, at.Sub(deadline))
				mu.Unlock()
			case <-time.After(time.Until(deadline) + 15*time.Second):
				errs <- fmt.Errorf("not cut 15 s after the deadline")
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	e.cfg.emit(e.db, "expiry", merge(stats(ds), map[string]any{"note": "cut after (start request sent + 20 s): an upper bound"}))
	return nil
}

// lists: the administrator's session lists.
func (e *env) lists() error {
	for _, path := range []string{"/sessions", "/admin/sessions", "/admin/sessions?state=active"} {
		var ds []time.Duration
		for i := 0; i < 45; i++ {
			t0 := time.Now()
			status, _, err := e.web.do(http.MethodGet, path, nil)
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				return fmt.Errorf("GET %s answered %d", path, status)
			}
			if i >= 5 {
				ds = append(ds, time.Since(t0))
			}
		}
		e.cfg.emit(e.db, "lists", merge(stats(ds), map[string]any{"path": path}))
	}
	return nil
}

// idle: cfg.idle connections opened on one session (64 openers), each with
// one round trip, then held open; memory per connection in each process.
func (e *env) idle() error {
	srvRSS, conRSS := rssKiB(e.srv.Pid()), rssKiB(e.conn.Pid())
	wait := e.profile("idle", 3)
	cpu0 := e.cpuUse()
	ds, el, conns, err := openMany(e.conn.Listen, e.cfg.idle, 64, true)
	defer wait()
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if err != nil {
		return fmt.Errorf("after %d connections: %w", len(conns), err)
	}
	time.Sleep(time.Second) // the last connects are recorded
	n := float64(len(conns))
	e.cfg.emit(e.db, "idle", merge(stats(ds), e.cpuSince(cpu0, n, "conn"), map[string]any{"connections": len(conns), "open_s": round2(el.Seconds()),
		"server_rss_KiB_per_conn":  round2(float64(rssKiB(e.srv.Pid())-srvRSS) / n),
		"connect_rss_KiB_per_conn": round2(float64(rssKiB(e.conn.Pid())-conRSS) / n)}))
	return nil
}

func mustParse(u string) *url.URL {
	p, err := url.Parse(u)
	if err != nil {
		return &url.URL{}
	}
	return p
}
