package main

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
)

// startChildServe runs `gatehouse serve` with env as a child process (a
// real process a test can SIGKILL: child.Process.Kill, with its own file
// descriptors) and returns it with its URL once it listens; its output is
// in child.Stdout and child.Stderr (*syncBuffer). It is killed when the
// test ends.
func startChildServe(t testing.TB, env map[string]string) (*exec.Cmd, string) {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run", "^$")
	child.Env = append(os.Environ(), childServeEnv+"=1")
	for k, v := range env {
		child.Env = append(child.Env, k+"="+v)
	}
	out, errOut := &syncBuffer{}, &syncBuffer{}
	child.Stdout, child.Stderr = out, errOut
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	var url string
	for deadline := time.Now().Add(60 * time.Second); url == ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the child serve process did not start:\n%s\n%s", out, errOut)
		}
		url = urlPattern.FindString(out.String())
	}
	return child, url
}

// TestKilledInstanceConnectionsClose: instance B, a real `serve` process,
// relays a connection and is killed (SIGKILL: nothing recorded on the
// way out). The session canceled on instance A stays canceling while the
// connection may live, then, once B has been unseen for --instance-grace,
// A's session loop closes the connection (system error, its flushed bytes
// kept) and the session terminates canceled: nothing stays canceling until
// it expires.
func TestKilledInstanceConnectionsClose(t *testing.T) {
	w := newProxyWorldEnv(t, models.Postgres, 1, map[string]string{"GATEHOUSE_INSTANCE_GRACE": "3s"})
	a, env := w.Apps[0], w.Env

	child, bURL := startChildServe(t, env)

	c := client(t)
	id, tok := startSession(t, c, a)
	proc := startConnect(t, "--addr", bURL, "--token", tok)
	conn, err := net.Dial("tcp", proc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	echoOnce(t, conn, "before the crash")
	cut := cutWatch(conn)
	time.Sleep(2500 * time.Millisecond) // B flushes moving bytes every 2 s
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	select {
	case <-cut: // the tunnel died with B
	case <-time.After(10 * time.Second):
		t.Fatal("the client's connection outlived instance B")
	}
	if p := post(t, c, a.URL+"/sessions/"+id+"/cancel", url.Values{}, "HX-Request", "true"); p.Status != http.StatusNoContent {
		t.Fatalf("cancel on A: %d", p.Status)
	}
	if st, _, _, open := sessionState(t, w.DBURL, id); st != "canceling" || open != 1 {
		t.Fatalf("right after the cancel: %s with %d open connections, want canceling with 1 (B could not record its end)", st, open)
	}
	// B's last heartbeat is at most 1 s old at the kill: A closes its
	// connection between 2 and 3 s later (plus a sweep), well before 30 s.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, reason, count, open := sessionState(t, w.DBURL, id)
		rows := connectionRows(t, w.DBURL, id)
		if st == "terminated" {
			if reason != "canceled" || count != 1 || open != 0 || len(rows) != 1 || !rows[0].Closed ||
				rows[0].ClosedReason.String != "system error" || rows[0].BytesUp != 16 || rows[0].BytesDown != 16 {
				t.Fatalf("after B's grace period: %s/%s count %d open %d, connections %+v", st, reason, count, open, rows)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s still %s 30 s after B was killed; connections %+v", id, st, rows)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDroppedInstanceCutsItsConnections: an instance found unseen for the
// grace period (simulated by deleting its row, as another instance's sweep
// does) has its connections closed in the records; at its next heartbeat
// it cuts them for real and registers again, and the session, still live,
// admits a new connection. SQLite, through serve.
func TestDroppedInstanceCutsItsConnections(t *testing.T) {
	w := newProxyWorld(t, models.SQLite, 1)
	app := w.Apps[0]
	c := client(t)
	id, tok := startSession(t, c, app)
	proc := startConnect(t, "--addr", app.URL, "--token", tok)
	conn, err := net.Dial("tcp", proc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	echoOnce(t, conn, "while registered")
	cut := cutWatch(conn)
	w.exec(t, "DELETE FROM worker_instances")
	select {
	case <-cut:
	case <-time.After(15 * time.Second):
		t.Fatal("the dropped instance kept relaying")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _, _, open := sessionState(t, w.DBURL, id)
		rows := connectionRows(t, w.DBURL, id)
		if len(rows) == 1 && rows[0].Closed {
			if st != "active" || open != 0 || rows[0].ClosedReason.String != "system error" {
				t.Fatalf("after the drop: %s, %d open, connections %+v", st, open, rows)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection not recorded closed: %+v", rows)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var n int
	db, _, err := models.OpenDB(context.Background(), w.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	if err := db.Raw("SELECT count(*) FROM worker_instances").Scan(&n).Error; err != nil || n != 1 {
		t.Errorf("instances registered after the drop: %d %v", n, err)
	}
	again, err := net.Dial("tcp", proc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	echoOnce(t, again, "registered again")
}

// TestInstanceCutOffFromDatabaseCutsItsConnections: when an instance
// cannot reach Postgres for the grace period, it cuts the connections it
// relays (other instances are about to record them closed) instead of
// relaying unrecorded bytes.
func TestInstanceCutOffFromDatabaseCutsItsConnections(t *testing.T) {
	ctx := context.Background()
	w := newProxyWorldEnv(t, models.Postgres, 1, map[string]string{"GATEHOUSE_INSTANCE_GRACE": "2s"})
	app := w.Apps[0]
	_, tok := startSession(t, client(t), app)
	proc := startConnect(t, "--addr", app.URL, "--token", tok)
	conn, err := net.Dial("tcp", proc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	echoOnce(t, conn, "before the outage")
	cut := cutWatch(conn)

	// The outage: no new connections to the database, existing ones ended.
	u, _ := url.Parse(w.DBURL)
	name := strings.TrimPrefix(u.Path, "/")
	admin, _, err := models.OpenDB(ctx, strings.Replace(w.DBURL, "/"+name+"?", "/postgres?", 1))
	if err != nil {
		t.Fatal(err)
	}
	adminSQL, _ := admin.DB()
	defer adminSQL.Close()
	restore := func() { admin.Exec(`ALTER DATABASE "` + name + `" ALLOW_CONNECTIONS true`) }
	t.Cleanup(restore) // before the app stops (cleanups run last-in first-out)
	must(t, admin.Exec(`ALTER DATABASE "`+name+`" ALLOW_CONNECTIONS false`).Error)
	must(t, admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ?`, name).Error)
	select {
	case <-cut:
	case <-time.After(20 * time.Second):
		t.Fatal("the instance kept relaying 20 s into a database outage (grace 2 s)")
	}
	// The log line follows the cut (it carries the count): wait for it.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(app.Err.String(), "could not mark itself seen for the grace period"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no log of the cut:\n%s", app.Err)
		}
	}
	restore()
}
