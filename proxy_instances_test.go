package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
	"gatehouse/worker"
)

var tokenPattern = regexp.MustCompile(`data-testid="session-token">([^<]+)<`)

// proxyWorld is n `serve` instances on one database seeded by
// seedSessionWorld, whose target echo points at an echo service of the test.
type proxyWorld struct {
	DBURL string
	Apps  []*testApp
	Echo  string            // host:port of the echo service
	Env   map[string]string // the instances' environment
}

func newProxyWorld(t testing.TB, d models.Dialect, n int) *proxyWorld {
	t.Helper()
	return newProxyWorldEnv(t, d, n, nil)
}

// newProxyWorldEnv is newProxyWorld with extra settings for the instances.
func newProxyWorldEnv(t testing.TB, d models.Dialect, n int, extra map[string]string) *proxyWorld {
	t.Helper()
	echo := echoServer(t)
	w := &proxyWorld{DBURL: dbtest.NewDatabaseURL(t, d), Echo: echo.String()}
	w.Env = serveEnv(w.DBURL)
	maps.Copy(w.Env, extra)
	rootKey, _ := base64.StdEncoding.DecodeString(w.Env["GATEHOUSE_ROOT_KEY"])
	seedSessionWorld(t, w.DBURL, rootKey)
	w.setEchoPort(t, echo.Port)
	for i := 0; i < n; i++ {
		w.Apps = append(w.Apps, launch(t, w.Env, "serve"))
	}
	return w
}

// exec runs one statement on the world's database (test set-up only).
func (w *proxyWorld) exec(t testing.TB, q string, args ...any) {
	t.Helper()
	db, _, err := models.OpenDB(context.Background(), w.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	if err := db.Exec(q, args...).Error; err != nil {
		t.Fatal(err)
	}
}

func (w *proxyWorld) setEchoPort(t testing.TB, port int) {
	w.exec(t, "UPDATE targets SET default_port = ? WHERE name = 'echo'", port)
}

// startSession logs alice in on app (once per client) and starts a session
// on echo; it returns the session id and its token.
func startSession(t testing.TB, c *http.Client, app *testApp) (string, string) {
	t.Helper()
	if u, _ := url.Parse(app.URL); len(c.Jar.Cookies(u)) == 0 {
		loginAs(t, c, app.URL, "alice", "alice-password")
	}
	mt := get(t, c, app.URL+"/targets")
	m := startPattern.FindStringSubmatch(mt.Body)
	if m == nil {
		t.Fatalf("My targets offers no start:\n%s", mt.Body)
	}
	started := post(t, c, app.URL+"/targets/"+m[1]+"/sessions", url.Values{})
	s, tok := sessionPattern.FindStringSubmatch(started.Body), tokenPattern.FindStringSubmatch(started.Body)
	if started.Status != http.StatusCreated || s == nil || tok == nil {
		t.Fatalf("start: %d\n%s", started.Status, started.Body)
	}
	if !regexp.MustCompile(`>gatehouse connect --addr https?://[^ ]+ --token ` + regexp.QuoteMeta(tok[1]) + `<`).MatchString(started.Body) {
		t.Fatalf("the start page has no connect command:\n%s", started.Body)
	}
	if strings.Contains(started.Body, "connect-insecure") {
		t.Fatal("serve shows the --insecure hint")
	}
	return s[1], tok[1]
}

// TestCancelCutsConnectionsAcrossInstances: two `serve` instances on one
// Postgres. A cancel made on instance A cuts a connection relayed by
// instance B within two seconds (LISTEN/NOTIFY), and one relayed by A
// itself (in-process); both are recorded `canceled`. The cut-off latency
// of either path is measured by BenchmarkCancelCut, not asserted here.
func TestCancelCutsConnectionsAcrossInstances(t *testing.T) {
	w := newProxyWorld(t, models.Postgres, 2)
	a, b := w.Apps[0], w.Apps[1]
	c := client(t)
	for _, relay := range []*testApp{a, b} {
		for i := 0; i < 3; i++ {
			d, proc := cancelAndWatchCut(t, w, c, a, relay)
			t.Logf("relayed by %s, canceled on %s: cut after %s", relay.URL, a.URL, d)
			if i == 0 { // connect notices the end (it polls every 2 s) and exits cleanly
				if err := proc.wait(t, 10*time.Second); err != nil || !strings.Contains(proc.Out.String(), "Exiting.") {
					t.Fatalf("connect: %v\n%s", err, proc.Out)
				}
			}
		}
	}
}

// BenchmarkCancelCut measures cancel → the client's connection closes,
// with the cancel made on instance A and the connection relayed by A
// itself (in-process) or by B (LISTEN/NOTIFY); it reports p50 and p99.
//
//	go test . -run '^$' -bench CancelCut -benchtime 50x
func BenchmarkCancelCut(b *testing.B) {
	w := newProxyWorld(b, models.Postgres, 2)
	c := client(b)
	for _, path := range []struct {
		name  string
		relay *testApp
	}{{"in-process", w.Apps[0]}, {"across-instances", w.Apps[1]}} {
		b.Run(path.name, func(b *testing.B) {
			var cuts []time.Duration
			for b.Loop() {
				d, _ := cancelAndWatchCut(b, w, c, w.Apps[0], path.relay)
				cuts = append(cuts, d)
			}
			slices.Sort(cuts)
			b.ReportMetric(ms(pct(cuts, 50)), "p50-ms")
			b.ReportMetric(ms(pct(cuts, 99)), "p99-ms")
			b.ReportMetric(ms(cuts[len(cuts)-1]), "max-ms")
		})
	}
}

// cancelAndWatchCut starts a session on a, connects through relay, cancels
// the session on a and returns how long the connection took to be cut
// (failing past 2 s) once both are recorded `canceled`.
func cancelAndWatchCut(t testing.TB, w *proxyWorld, c *http.Client, a, relay *testApp) (time.Duration, *connectProc) {
	t.Helper()
	id, tok := startSession(t, c, a)
	proc := startConnect(t, "--addr", relay.URL, "--token", tok)
	conn, err := net.Dial("tcp", proc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	echoOnce(t, conn, "across instances")
	cut := cutWatch(conn)
	start := time.Now()
	if p := post(t, c, a.URL+"/sessions/"+id+"/cancel", url.Values{}, "HX-Request", "true"); p.Status != http.StatusNoContent {
		t.Fatalf("cancel on A: %d", p.Status)
	}
	var d time.Duration
	select {
	case at := <-cut:
		d = at.Sub(start)
	case <-time.After(2 * time.Second):
		t.Fatalf("the connection relayed by %s was not cut within 2 s of the cancel on %s", relay.URL, a.URL)
	}
	waitRecorded(t, w.DBURL, id, "canceled", 16)
	return d, proc
}

// waitRecorded waits until the session is terminated with reason and its
// single connection is closed with reason and its bytes both ways.
func waitRecorded(t testing.TB, dbURL, id, reason string, bytes int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, r, count, open := sessionState(t, dbURL, id)
		rows := connectionRows(t, dbURL, id)
		if st == "terminated" && r == reason && count == 1 && open == 0 && len(rows) == 1 && rows[0].Closed &&
			rows[0].ClosedReason.String == reason && rows[0].BytesUp == bytes && rows[0].BytesDown == bytes && rows[0].Connected {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s: %s/%s count %d open %d, connections %+v", id, st, r, count, open, rows)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestConnectRefusals: a bad token, an expired session and a host that
// refuses the connection each give `connect` a clear message, and nothing
// is left half-recorded — on both databases.
func TestConnectRefusals(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			w := newProxyWorld(t, d, 1)
			app := w.Apps[0]
			c := client(t)
			noEnv := func(string) string { return "" }

			// A bad token: refused before listening; no row anywhere.
			var out, errOut syncBuffer
			err := run(context.Background(), []string{"connect", "--addr", app.URL, "--token", "not-a-token"}, noEnv, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), "does not know this session token") {
				t.Fatalf("bad token: %v", err)
			}

			// An expired session (the sweeper may already have terminated it:
			// the client still hears that it expired).
			id, tok := startSession(t, c, app)
			now := time.Now().UTC()
			w.exec(t, "UPDATE sessions SET created_at = ?, expires_at = ? WHERE id = ?", now.Add(-2*time.Hour), now.Add(-time.Second), id)
			err = run(context.Background(), []string{"connect", "--addr", app.URL, "--token", tok}, noEnv, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), "The session has expired") {
				t.Fatalf("expired: %v", err)
			}
			if rows := connectionRows(t, w.DBURL, id); len(rows) != 0 {
				t.Fatalf("expired session has connections: %+v", rows)
			}
			if _, _, count, open := sessionState(t, w.DBURL, id); count != 0 || open != 0 {
				t.Fatalf("expired session counted a connection: %d %d", count, open)
			}

			// A host that refuses: the tunnel is refused with the reason, the
			// connection is recorded closed (network error, never connected),
			// and the session stays usable.
			free, _ := net.Listen("tcp", "127.0.0.1:0")
			w.setEchoPort(t, free.Addr().(*net.TCPAddr).Port)
			free.Close()
			id, tok = startSession(t, c, app)
			proc := startConnect(t, "--addr", app.URL, "--token", tok)
			conn, err := net.Dial("tcp", proc.Addr)
			if err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			if n, err := conn.Read(make([]byte, 1)); n != 0 || err == nil {
				t.Fatalf("read from a refused host: %d %v", n, err)
			}
			conn.Close()
			for deadline := time.Now().Add(5 * time.Second); !strings.Contains(proc.Err.String(), "could not connect to the host"); {
				if time.Now().After(deadline) {
					t.Fatalf("connect's message: %q", proc.Err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if !strings.Contains(proc.Err.String(), "connection refused") {
				t.Errorf("connect's message lacks the cause: %q", proc.Err)
			}
			// Connection ends are recorded in batches: wait for the close.
			rows := connectionRows(t, w.DBURL, id)
			for deadline := time.Now().Add(5 * time.Second); len(rows) == 1 && !rows[0].Closed && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
				rows = connectionRows(t, w.DBURL, id)
			}
			if len(rows) != 1 || rows[0].Connected || !rows[0].Closed || rows[0].ClosedReason.String != "network error" ||
				rows[0].BytesUp != 0 || rows[0].BytesDown != 0 || rows[0].UserIP != "127.0.0.1" {
				t.Fatalf("refused connection rows: %+v", rows)
			}
			if st, _, count, open := sessionState(t, w.DBURL, id); st != "active" || count != 0 || open != 0 { // the failed dial gave its slot back (docs/sessions.md)
				t.Fatalf("session after a refused host: %s %d %d", st, count, open)
			}
			// No connection of any kind was left open.
			db, _, err := models.OpenDB(context.Background(), w.DBURL)
			if err != nil {
				t.Fatal(err)
			}
			sqlDB, _ := db.DB()
			defer sqlDB.Close()
			var openConns, bad int
			sqlDB.QueryRow("SELECT COUNT(*) FROM session_connections WHERE closed_at IS NULL").Scan(&openConns)
			sqlDB.QueryRow("SELECT COUNT(*) FROM sessions WHERE open_connections <> 0").Scan(&bad)
			if openConns != 0 || bad != 0 {
				t.Fatalf("half-recorded: %d open connections, %d sessions counting open ones", openConns, bad)
			}
		})
	}
}

// TestExpiryAndDeletionCutConnections: a live connection is cut at its
// session's expiration (the relay deadline; recorded "timed out"), and
// deleting the target cuts another at once (recorded "canceled"); on both
// databases, through serve.
func TestExpiryAndDeletionCutConnections(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			w := newProxyWorld(t, d, 1)
			app := w.Apps[0]
			c := client(t)

			id, tok := startSession(t, c, app)
			expires := time.Now().UTC().Add(1500 * time.Millisecond)
			w.exec(t, "UPDATE sessions SET expires_at = ? WHERE id = ?", expires, id)
			proc := startConnect(t, "--addr", app.URL, "--token", tok)
			conn, err := net.Dial("tcp", proc.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			echoOnce(t, conn, "until it expires")
			select {
			case at := <-cutWatch(conn):
				if late := at.Sub(expires); late < -50*time.Millisecond || late > time.Second {
					t.Errorf("cut %s after the expiration", late)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the connection outlived its session")
			}
			waitRecorded(t, w.DBURL, id, "timed out", 16)

			id, tok = startSession(t, c, app)
			proc = startConnect(t, "--addr", app.URL, "--token", tok)
			conn2, err := net.Dial("tcp", proc.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn2.Close()
			echoOnce(t, conn2, "until its target goes")
			cut := cutWatch(conn2)
			admin := client(t)
			loginAs(t, admin, app.URL, "admin", "password")
			var targetID string
			db, _, err := models.OpenDB(context.Background(), w.DBURL)
			if err != nil {
				t.Fatal(err)
			}
			db.Raw("SELECT id FROM targets WHERE name = 'echo'").Scan(&targetID)
			if sqlDB, err := db.DB(); err == nil {
				sqlDB.Close()
			}
			start := time.Now()
			if p := post(t, admin, app.URL+"/targets/"+targetID+"/delete", url.Values{}); p.Status != http.StatusSeeOther {
				t.Fatalf("delete target: %d", p.Status)
			}
			select {
			case at := <-cut:
				t.Logf("target deleted → connection cut: %s", at.Sub(start))
			case <-time.After(2 * time.Second):
				t.Fatal("deleting the target did not cut the connection")
			}
			waitRecorded(t, w.DBURL, id, "canceled", 21)
		})
	}
}

// TestTunnelLimitRaceOverHTTP: many tunnels opened at once through serve on
// a session whose limit is L: exactly L are switched, the rest refused with
// limit_reached, on both databases, several times.
func TestTunnelLimitRaceOverHTTP(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			w := newProxyWorld(t, d, 1)
			app := w.Apps[0]
			const limit, n = 3, 10
			w.exec(t, "UPDATE targets SET session_connection_limit = ? WHERE name = 'echo'", limit)
			c := client(t)
			for round := 0; round < 3; round++ {
				id, tok := startSession(t, c, app)
				type result struct {
					status int
					body   string
					conn   net.Conn
				}
				results := make(chan result, n)
				gate := make(chan struct{})
				for i := 0; i < n; i++ {
					go func() {
						conn, err := net.Dial("tcp", strings.TrimPrefix(app.URL, "http://"))
						if err != nil {
							results <- result{status: -1, body: err.Error()}
							return
						}
						<-gate
						conn.SetDeadline(time.Now().Add(10 * time.Second))
						conn.Write([]byte("POST " + worker.MountPath + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: gatehouse-tcp/1\r\n" +
							"Authorization: Bearer " + tok + "\r\nContent-Length: 0\r\n\r\n"))
						resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
						if err != nil {
							results <- result{status: -1, body: err.Error()}
							return
						}
						var body strings.Builder
						if resp.StatusCode != http.StatusSwitchingProtocols {
							io.Copy(&body, resp.Body)
						}
						results <- result{status: resp.StatusCode, body: body.String(), conn: conn}
					}()
				}
				close(gate)
				switched := 0
				for i := 0; i < n; i++ {
					r := <-results
					switch {
					case r.status == http.StatusSwitchingProtocols:
						switched++
					case r.status == http.StatusForbidden && strings.Contains(r.body, `"limit_reached"`):
					default:
						t.Errorf("tunnel: %d %s", r.status, r.body)
					}
					if r.conn != nil {
						defer r.conn.Close()
					}
				}
				if switched != limit {
					t.Fatalf("round %d: %d tunnels switched, want %d", round, switched, limit)
				}
				if st, _, count, _ := sessionState(t, w.DBURL, id); st != "active" || count != limit {
					t.Fatalf("round %d: session %s with %d connections", round, st, count)
				}
				if rows := connectionRows(t, w.DBURL, id); len(rows) != limit {
					t.Fatalf("round %d: %d connection rows", round, len(rows))
				}
			}
		})
	}
}
