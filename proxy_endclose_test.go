package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/connect"
	"gatehouse/models"
	"gatehouse/tunnel"
)

// TestEndUserCloseAcrossInstances: two `serve` instances on one Postgres.
// The end user closes the session on instance A (DELETE
// /v1/proxy/session, what `connect` sends when it exits) while a
// connection is relayed by instance B: the session goes canceling, B cuts
// the connection within two seconds, and the session and the connection
// are recorded `closed by end-user` (not `canceled`). connect, which did not
// end the session itself, notices and exits without closing it again.
func TestEndUserCloseAcrossInstances(t *testing.T) {
	w := newProxyWorld(t, models.Postgres, 2)
	a, b := w.Apps[0], w.Apps[1]
	c := client(t)
	id, tok := startSession(t, c, a)
	proc := startConnect(t, "--addr", b.URL, "--token", tok)
	conn, err := net.Dial("tcp", proc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	echoOnce(t, conn, "closed by the user")
	cut := cutWatch(conn)
	req, _ := http.NewRequest(http.MethodDelete, a.URL+tunnel.InfoPath, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var closed tunnel.Closed
	err = json.NewDecoder(resp.Body).Decode(&closed)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || closed != (tunnel.Closed{SessionID: id, State: "canceling", Reason: "closed by end-user"}) {
		t.Fatalf("close: %d %v %+v", resp.StatusCode, err, closed)
	}
	select {
	case <-cut:
	case <-time.After(2 * time.Second):
		t.Fatal("the connection relayed by B was not cut within 2 s of the close on A")
	}
	waitRecorded(t, w.DBURL, id, "closed by end-user", 18)
	if err := proc.wait(t, 10*time.Second); err != nil || !strings.Contains(proc.Out.String(), "Exiting.") ||
		strings.Contains(proc.Out.String(), "Session ended (") {
		t.Fatalf("connect: %v\n%s", err, proc.Out)
	}
}

// TestConnectExecEndsTheSession: `gatehouse connect --exec` through
// `serve` ends the session as closed by the end user when its command
// exits, and gatehouse exits with the command's own status, silently;
// with --keep-session the session stays usable.
func TestConnectExecEndsTheSession(t *testing.T) {
	w := newProxyWorld(t, models.SQLite, 1)
	app := w.Apps[0]
	c := client(t)
	id, tok := startSession(t, c, app)
	proc := startConnect(t, "--addr", app.URL, "--token", tok, "--keep-session", "--exec", "sh", "--", "-c", "sleep 1; exit 0")
	if err := proc.wait(t, 10*time.Second); err != nil {
		t.Fatalf("connect --keep-session: %v\n%s", err, proc.Err)
	}
	if st, _, _, _ := sessionState(t, w.DBURL, id); st != "pending" {
		t.Fatalf("--keep-session: the session is %s", st)
	}
	proc = startConnect(t, "--addr", app.URL, "--token", tok, "--exec", "sh", "--", "-c", "sleep 1; exit 3")
	err := proc.wait(t, 10*time.Second)
	var exit *connect.ExitError
	if !errors.As(err, &exit) || exit.Code != 3 {
		t.Fatalf("connect --exec: %v, want the command's exit status 3", err)
	}
	var stderr bytes.Buffer
	if got := exitStatus(err, &stderr); got != 3 || stderr.Len() != 0 {
		t.Fatalf("exit status %d, stderr %q; want 3 and nothing printed", got, stderr.String())
	}
	if st, reason, _, _ := sessionState(t, w.DBURL, id); st != "terminated" || reason != "closed by end-user" {
		t.Fatalf("after --exec: %s/%s", st, reason)
	}
	if !strings.Contains(proc.Out.String(), "Session ended (closed by end-user).") {
		t.Fatalf("connect said:\n%s", proc.Out)
	}
}

// TestExitStatus: run's errors become exit statuses.
func TestExitStatus(t *testing.T) {
	for _, tt := range []struct {
		err    error
		status int
		out    string
	}{
		{nil, 0, ""},
		{errors.New("boom"), 1, "gatehouse: boom\n"},
		{flag.ErrHelp, 1, ""},
		{&connect.ExitError{Command: "psql", Code: 2}, 2, ""},
	} {
		var b bytes.Buffer
		if got := exitStatus(tt.err, &b); got != tt.status || b.String() != tt.out {
			t.Errorf("%v: %d %q, want %d %q", tt.err, got, b.String(), tt.status, tt.out)
		}
	}
}
