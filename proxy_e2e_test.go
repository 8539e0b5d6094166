package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse/browsertest"
	"gatehouse/devseed"
	"gatehouse/models"
)

// connectProc is `gatehouse connect` run through start, with its local
// listener's address and its session.
type connectProc struct {
	*testApp
	Addr      string // the local listener
	SessionID string
}

var listeningPattern = regexp.MustCompile(`Listening on (\S+) for session (s_\w+)`)

// startConnect runs `gatehouse connect args...` and waits for its local
// listener; it is stopped when the test ends.
func startConnect(t testing.TB, args ...string) *connectProc {
	t.Helper()
	a := start(t, nil, append([]string{"connect"}, args...)...)
	m := a.waitIn(t, listeningPattern, a.Out)
	return &connectProc{testApp: a, Addr: m[1], SessionID: m[2]}
}

// echoOnce writes msg on c and reads it back.
func echoOnce(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		t.Fatalf("echo: %q %v", buf, err)
	}
	c.SetDeadline(time.Time{})
}

// cutWatch reports when c is closed by the other end (read returns).
func cutWatch(c net.Conn) <-chan time.Time {
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

// connectionRow is a session_connections row as the tests assert it.
type connectionRow struct {
	ID, SessionID, ClientAddr, UserIP, EndpointAddr string
	Connected, Closed                               bool
	BytesUp, BytesDown                              int64
	ClosedReason                                    sql.NullString
}

// connectionRows reads the connections of a session straight from the database.
func connectionRows(t testing.TB, dbURL, sessionID string) []connectionRow {
	t.Helper()
	db, _, err := models.OpenDB(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	rows, err := sqlDB.Query(`SELECT id, session_id, client_addr, user_ip, endpoint_addr, connected_at IS NOT NULL, closed_at IS NOT NULL,
		bytes_up, bytes_down, closed_reason FROM session_connections WHERE session_id = $1 ORDER BY authorized_at, id`, sessionID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []connectionRow
	for rows.Next() {
		var r connectionRow
		if err := rows.Scan(&r.ID, &r.SessionID, &r.ClientAddr, &r.UserIP, &r.EndpointAddr, &r.Connected, &r.Closed, &r.BytesUp, &r.BytesDown, &r.ClosedReason); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// sessionRow reads a session's state, reason and counters.
func sessionState(t testing.TB, dbURL, sessionID string) (state, reason string, count, open int) {
	t.Helper()
	db, _, err := models.OpenDB(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	var r sql.NullString
	if err := sqlDB.QueryRow(`SELECT state, termination_reason, connection_count, open_connections FROM sessions WHERE id = $1`, sessionID).
		Scan(&state, &r, &count, &open); err != nil {
		t.Fatal(err)
	}
	return state, r.String, count, open
}

// TestBrowserConnectEndToEnd: in `gatehouse dev`, alice (dev provider)
// starts a session on the echo target in Chromium, copies the connect
// command from the page, runs `gatehouse connect` with it, echoes bytes,
// sees them on the session page and in My sessions without reload, cancels
// in the browser, and the client's connection is cut with reason canceled.
func TestBrowserConnectEndToEnd(t *testing.T) {
	dataDir := t.TempDir()
	base, stopDev := startDev(t, dataDir)
	ctx := browsertest.New(t)
	browsertest.HandleDialogs(t, ctx, true) // "End the session on …?"
	browsertest.FailOnConsoleErrors(t, ctx, "favicon.ico")
	loginThroughDevProvider(t, ctx, base, "alice")
	browsertest.Navigate(t, ctx, base+"/targets")
	browsertest.WaitText(t, ctx, "[data-testid=my-target-list]", "echo")
	if !browsertest.Eval[bool](t, ctx, `(function(){
		for (const r of document.querySelectorAll('[data-testid^="my-target-row-"]')) {
			if (r.querySelector('[data-testid="col-name"]').textContent.trim().startsWith("echo")) {
				r.querySelector('[data-testid="start-session"]').click(); return true;
			}
		}
		return false;
	})()`) {
		t.Fatal("no start button on the echo target")
	}
	browsertest.WaitText(t, ctx, `[data-testid="state"]`, "pending")
	cmd := browsertest.Text(t, ctx, `[data-testid="connect-command"]`)
	f := strings.Fields(cmd)
	if len(f) != 6 || f[0] != "gatehouse" || f[1] != "connect" || f[2] != "--addr" || f[3] != base || f[4] != "--token" ||
		f[5] != browsertest.Text(t, ctx, `[data-testid="session-token"]`) {
		t.Fatalf("connect command = %q", cmd)
	}
	if !browsertest.Exists(t, ctx, `[data-testid="connect-insecure"]`) {
		t.Error("dev shows no --insecure hint")
	}

	proc := startConnect(t, f[2:]...)
	if !strings.Contains(proc.Out.String(), "connections left: unlimited") {
		t.Errorf("connect output: %q", proc.Out)
	}
	c, err := net.Dial("tcp", proc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echoOnce(t, c, "hello, gatehouse")

	// The session page (the start response) shows the connection live.
	browsertest.Eval[bool](t, ctx, `window.__noReload = true`)
	waitSSEOpen(t, ctx)
	live := `[data-testid="live-session"] `
	browsertest.WaitText(t, ctx, live+`[data-testid="state"]`, "active")
	browsertest.WaitText(t, ctx, live+`[data-testid="conn-state"]`, "open")
	browsertest.WaitText(t, ctx, live+`[data-testid="conn-bytes-up"]`, "16 B")
	browsertest.WaitText(t, ctx, live+`[data-testid="conn-bytes-down"]`, "16 B")
	if got := browsertest.Text(t, ctx, live+`[data-testid="conn-user-ip"]`); got != "127.0.0.1" {
		t.Errorf("user IP = %q", got)
	}
	if got := browsertest.Text(t, ctx, live+`[data-testid="conn-client"]`); !strings.HasPrefix(got, "127.0.0.1:") {
		t.Errorf("client = %q", got)
	}
	if !browsertest.Eval[bool](t, ctx, `window.__noReload === true`) {
		t.Fatal("the session page was reloaded")
	}

	// My sessions shows it under the session, live too.
	browsertest.Navigate(t, ctx, base+"/sessions")
	mine := `[data-testid="session-connections-` + proc.SessionID + `"] `
	browsertest.WaitText(t, ctx, mine+`[data-testid="conn-bytes-up"]`, "16 B")
	browsertest.Eval[bool](t, ctx, `window.__noReload = true`)
	waitSSEOpen(t, ctx)
	echoOnce(t, c, "0123456789")
	browsertest.WaitText(t, ctx, mine+`[data-testid="conn-bytes-up"]`, "26 B")
	browsertest.WaitText(t, ctx, mine+`[data-testid="conn-state"]`, "open")
	if !browsertest.Eval[bool](t, ctx, `window.__noReload === true`) {
		t.Fatal("My sessions was reloaded")
	}

	// Later visits explain that the token was shown once.
	browsertest.Navigate(t, ctx, base+"/sessions/"+proc.SessionID)
	browsertest.WaitVisible(t, ctx, `[data-testid="connect-token-gone"]`)
	if browsertest.Exists(t, ctx, `[data-testid="session-token"]`) || strings.Contains(browsertest.HTML(t, ctx, "body"), f[5]) {
		t.Fatal("the token is shown again")
	}
	waitSSEOpen(t, ctx)
	cut := cutWatch(c)
	clicked := time.Now()
	browsertest.Click(t, ctx, live+`[data-testid="cancel-session"]`)
	select {
	case at := <-cut:
		t.Logf("browser cancel → client connection cut: %s", at.Sub(clicked))
	case <-time.After(5 * time.Second):
		t.Fatal("the client's connection was not cut")
	}
	browsertest.WaitText(t, ctx, live+`[data-testid="state"]`, "terminated / canceled")
	browsertest.WaitText(t, ctx, live+`[data-testid="conn-reason"]`, "canceled")
	browsertest.WaitText(t, ctx, live+`[data-testid="conn-state"]`, "closed")
	if err := proc.wait(t, 10*time.Second); err != nil || !strings.Contains(proc.Out.String(), "Exiting.") {
		t.Fatalf("connect after cancel: %v\n%s", err, proc.Out)
	}

	// The proxy's counters reached /metrics.
	mresp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mbody, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{`gatehouse_proxied_bytes_total{direction="up"} 26`, `gatehouse_proxied_bytes_total{direction="down"} 26`,
		`gatehouse_proxy_connections_total{outcome="admitted"} 1`, `gatehouse_proxy_connections_total{outcome="closed"} 1`, "gatehouse_live_sessions 0"} {
		if !strings.Contains(string(mbody), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	browsertest.Navigate(t, ctx, "about:blank") // close the event stream before the server goes
	stopDev()
	rows := connectionRows(t, filepath.Join(dataDir, "gatehouse.db"), proc.SessionID)
	if len(rows) != 1 {
		t.Fatalf("connections: %+v", rows)
	}
	r := rows[0]
	if !r.Connected || !r.Closed || r.ClosedReason.String != "canceled" || r.BytesUp != 26 || r.BytesDown != 26 ||
		r.UserIP != "127.0.0.1" || !strings.HasPrefix(r.ClientAddr, "127.0.0.1:") || r.EndpointAddr != fmt.Sprintf("127.0.0.1:%d", devseed.EchoPort) {
		t.Fatalf("connection row: %+v", r)
	}
	if st, reason, count, open := sessionState(t, filepath.Join(dataDir, "gatehouse.db"), proc.SessionID); st != "terminated" ||
		reason != "canceled" || count != 1 || open != 0 {
		t.Fatalf("session: %s %s %d %d", st, reason, count, open)
	}
}
