package main

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"gatehouse/connect"
	"gatehouse/dbtest"
	"gatehouse/models"
)

var heartbeatFailures = regexp.MustCompile(`(?m)^gatehouse_instance_heartbeat_failures_total (\d+)`)

// massCloseConnections is the figure: 9,000 idle connections on
// one session closing at once.
const massCloseConnections = 9000

// TestMassCloseEndsTheSession: 9,000 idle connections of one session close
// at once while `connect`'s end-session call arrives (issue 11, finding
// 10). Every close is recorded (operational rows and warehouse), the
// session ends terminated, the end-session call is answered, and the
// instance heartbeat never failed. The instance runs in a child process
// (its 18,000 sockets need their own file descriptor limit). How long it
// takes is logged and measured by the load program, never asserted.
//
// On Postgres, opening the 9,000 tunnels alone took 4m37s on the shared
// 2-core machine (admission, not the close, is the slow part there), so the
// Postgres run closes 1,000 connections unless GATEHOUSE_MASS_CLOSE_POSTGRES=1
// asks for all 9,000; SQLite, whose single connection is where a close storm
// starves the heartbeat, always runs the full figure.
func TestMassCloseEndsTheSession(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			n := massCloseConnections
			if d == models.Postgres && os.Getenv("GATEHOUSE_MASS_CLOSE_POSTGRES") != "1" {
				n = 1000 // the same storm, smaller: 9,000 with GATEHOUSE_MASS_CLOSE_POSTGRES=1
			}
			massClose(t, d, n)
		})
	}
}

func massClose(t *testing.T, d models.Dialect, n int) {
	w := newProxyWorld(t, d, 0)
	child, base := startChildServe(t, w.Env)
	c := client(t)
	id, tok := startSession(t, c, &testApp{URL: base})
	cl, err := connect.NewClient(base, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	tunnels := make([]*connect.Tunnel, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range next {
				tun, err := cl.Open(context.Background())
				if err != nil {
					errs <- err
					continue
				}
				tunnels[i] = tun
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
		t.Fatalf("open tunnel: %v", err)
	}
	t.Logf("%s: %d tunnels open in %s", d, n, time.Since(start).Round(time.Millisecond))

	// Everything closes at once, and connect asks to end the session.
	start = time.Now()
	var closeErr error
	var closedIn time.Duration
	wg.Go(func() {
		_, closeErr = cl.Close(context.Background())
		closedIn = time.Since(start)
	})
	for _, tun := range tunnels {
		wg.Go(func() { tun.Close() })
	}
	wg.Wait()
	if closeErr != nil {
		t.Fatalf("end-session call during the mass close: %v", closeErr)
	}
	gdb, _, err := models.OpenDB(context.Background(), w.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	db, _ := gdb.DB()
	defer db.Close()
	var state, reason string
	var closed, warehoused int
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var r sql.NullString
		if err := db.QueryRow(`SELECT state, termination_reason FROM sessions WHERE id = $1`, id).Scan(&state, &r); err != nil {
			t.Fatal(err)
		}
		reason = r.String
		if err := db.QueryRow(`SELECT count(*) FROM session_connections WHERE session_id = $1 AND closed_at IS NOT NULL`, id).Scan(&closed); err != nil {
			t.Fatal(err)
		}
		if state == string(models.StateTerminated) && closed == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 minutes: session %s, %d of %d closes recorded\n%s", state, closed, n, child.Stderr)
		}
	}
	t.Logf("%s: end-session answered in %s; session terminated with every close recorded %s after the mass close",
		d, closedIn.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if err := db.QueryRow(`SELECT count(*) FROM warehouse_connections WHERE session_id = $1 AND closed_at IS NOT NULL`, id).Scan(&warehoused); err != nil {
		t.Fatal(err)
	}
	if reason != string(models.ReasonClosedByEndUser) || warehoused != n {
		t.Errorf("session ended %q with %d closes in the warehouse, want %q and %d", reason, warehoused, models.ReasonClosedByEndUser, n)
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
