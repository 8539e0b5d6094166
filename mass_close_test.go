package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

var heartbeatFailures = regexp.MustCompile(`(?m)^gatehouse_instance_heartbeat_failures_total (\d+)`)

// massCloseConnections is the figure: 9,000 idle connections on
// one session closing at once, on both databases (about 30 s on SQLite and
// 50–75 s on Postgres on the shared 2-core machine, most of it opening the
// connections). GATEHOUSE_MASS_CLOSE_CONNECTIONS sets another count.
const massCloseConnections = 9000

// massCloseBound is how soon after the connections closed the session
// must be terminated with every close recorded: a generous bound that
// proves "within seconds" (before the fix: 77–83 s, and the session then
// stayed active until it expired), not a performance target.
const massCloseBound = 10 * time.Second

// TestMassCloseEndsTheSession: a real `gatehouse connect` process relays
// 9,000 idle connections of one session; it is stopped (Ctrl-C), so it
// closes them all at once and then ends the session through its own
// end-session path (5 s per attempt, retried) (issue 11, finding 10).
// The end-session call must be answered at its first attempt (it is not
// queued behind the storm's close records), the session must be
// terminated closed by end-user with every close recorded (operational
// rows and warehouse) within massCloseBound of the Ctrl-C, and no instance
// heartbeat may have failed. The instance and connect run in child
// processes (each has 18,000 sockets, more than one file descriptor limit
// holds together).
func TestMassCloseEndsTheSession(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			n := massCloseConnections
			if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_MASS_CLOSE_CONNECTIONS")); err == nil && v > 0 {
				n = v
			}
			massClose(t, d, n)
		})
	}
}

func massClose(t *testing.T, d models.Dialect, n int) {
	w := newProxyWorld(t, d, 0)
	serve, base := startChildServe(t, w.Env)
	c := client(t)
	id, tok := startSession(t, c, &testApp{URL: base})
	conn, addr := startChildConnect(t, base, tok)

	gdb, _, err := models.OpenDB(context.Background(), w.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	db, _ := gdb.DB()
	defer db.Close()

	// n local connections through connect, each echoed once (its tunnel is
	// open), 32 at a time.
	start := time.Now()
	locals := make([]net.Conn, n)
	t.Cleanup(func() {
		for _, l := range locals {
			if l != nil {
				l.Close()
			}
		}
	})
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range next {
				l, err := net.Dial("tcp", addr)
				if err != nil {
					errs <- err
					continue
				}
				locals[i] = l
				l.SetDeadline(time.Now().Add(2 * time.Minute))
				b := []byte{byte(i)}
				if _, err := l.Write(b); err == nil {
					_, err = io.ReadFull(l, b)
				}
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
				}
				l.SetDeadline(time.Time{})
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("open a connection through connect: %v\n%s", err, conn.Err)
	}
	var open int
	if err := db.QueryRow(`SELECT open_connections FROM sessions WHERE id = $1`, id).Scan(&open); err != nil || open != n {
		t.Fatalf("%d connections open in the records (%v), want %d", open, err, n)
	}
	t.Logf("%s: %d connections open through connect in %s", d, n, time.Since(start).Round(time.Millisecond))

	// Ctrl-C: connect closes every connection at once, then ends the
	// session (its real end-session path: 5 s per attempt, retried).
	stopped := time.Now()
	if err := conn.Cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- conn.Cmd.Wait() }()
	var exitedIn time.Duration
	select {
	case err := <-exited:
		exitedIn = time.Since(stopped)
		if err != nil {
			t.Errorf("connect exited with %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("connect still running 2 minutes after Ctrl-C\n%s\n%s", conn.Out, conn.Err)
	}
	if !strings.Contains(conn.Out.String(), "Session ended (closed by end-user).") || strings.Contains(conn.Err.String(), "could not end the session") {
		t.Errorf("connect's end-session call was not answered at its first attempt (%s after Ctrl-C):\n%s\n%s", exitedIn.Round(time.Millisecond), conn.Out, conn.Err)
	}

	var state, reason string
	var closed, warehoused int
	var terminatedIn time.Duration
	for deadline := stopped.Add(5 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		var r sql.NullString
		if err := db.QueryRow(`SELECT state, termination_reason FROM sessions WHERE id = $1`, id).Scan(&state, &r); err != nil {
			t.Fatal(err)
		}
		reason = r.String
		if state == string(models.StateTerminated) {
			terminatedIn = time.Since(stopped)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 minutes after the mass close: session %s\n%s", state, serve.Stderr)
		}
	}
	if err := db.QueryRow(`SELECT count(*) FROM session_connections WHERE session_id = $1 AND closed_at IS NOT NULL`, id).Scan(&closed); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM warehouse_connections WHERE session_id = $1 AND closed_at IS NOT NULL`, id).Scan(&warehoused); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: after Ctrl-C, connect ended the session and exited in %s; the session was terminated (%d closes recorded) %s after it",
		d, exitedIn.Round(time.Millisecond), closed, terminatedIn.Round(time.Millisecond))
	if terminatedIn > massCloseBound {
		t.Errorf("the session was terminated %s after the mass close, more than %s", terminatedIn.Round(time.Millisecond), massCloseBound)
	}
	if reason != string(models.ReasonClosedByEndUser) || closed != n || warehoused != n {
		t.Errorf("session ended %q with %d closes recorded and %d in the warehouse, want %q and %d", reason, closed, warehoused, models.ReasonClosedByEndUser, n)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := heartbeatFailures.FindSubmatch(body)
	if m == nil {
		t.Fatal("no heartbeat failure counter in /metrics")
	}
	if misses, _ := strconv.Atoi(string(m[1])); misses != 0 {
		t.Errorf("%d instance heartbeats failed during the mass close", misses)
	}
}

// childConnect is a `gatehouse connect` child process (childConnectEnv).
type childConnect struct {
	Cmd      *exec.Cmd
	Out, Err *syncBuffer
}

// startChildConnect runs `gatehouse connect --addr base --token tok` in a
// child process and returns it with its listening address.
func startChildConnect(t testing.TB, base, tok string) (*childConnect, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), childConnectEnv+"=1", "GATEHOUSE_ADDR="+base, "GATEHOUSE_TOKEN="+tok)
	c := &childConnect{Cmd: cmd, Out: &syncBuffer{}, Err: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = c.Out, c.Err
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := listeningPattern.FindStringSubmatch(c.Out.String()); m != nil {
			return c, m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("connect did not listen:\n%s\n%s", c.Out, c.Err)
		}
	}
}
