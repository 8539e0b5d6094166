package main

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
)

// TestExtensionAcrossInstances: two `serve` instances on one Postgres. A
// connection relayed by instance B survives past its session's old
// expiration once the session is extended on instance A (bytes flow before
// and after, none lost), and is cut at the new expiration when an
// administrator on A moves it earlier; it is recorded timed out with every
// byte.
func TestExtensionAcrossInstances(t *testing.T) {
	w := newProxyWorld(t, models.Postgres, 2)
	a, b := w.Apps[0], w.Apps[1]
	c := client(t)
	id, tok := startSession(t, c, a)
	oldExp := time.Now().UTC().Add(4 * time.Second).Truncate(time.Millisecond)
	w.exec(t, "UPDATE sessions SET expires_at = ?, extension_max_seconds = 3600 WHERE id = ?", oldExp, id)

	proc := startConnect(t, "--addr", b.URL, "--token", tok)
	conn, err := net.Dial("tcp", proc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	echoOnce(t, conn, "before the extension")

	// Past the allowance: refused on the session's own page, the message
	// next to the buttons.
	if p := post(t, c, a.URL+"/sessions/"+id+"/extend", url.Values{"by": {"2h"}}); p.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.Body, `data-testid="by-error" role="alert">At most 1 hour more`) ||
		!strings.Contains(p.Body, `data-testid="live-session"`) || !strings.Contains(p.Body, `data-testid="extend-form"`) {
		t.Fatalf("extend past the allowance: %d\n%s", p.Status, p.Body)
	}
	if p := post(t, c, a.URL+"/sessions/"+id+"/extend", url.Values{"by": {"1m"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("extend on A: %d\n%s", p.Status, p.Body)
	}
	// Past the old expiration the connection relayed by B still carries
	// bytes (a real wait: B's deadline is a real clock).
	time.Sleep(time.Until(oldExp.Add(1500 * time.Millisecond)))
	echoOnce(t, conn, "after the old expiration")
	cut := cutWatch(conn)

	// An administrator on A moves the expiration to a new, nearer time: B
	// cuts the connection then, not before.
	admin := client(t)
	loginAs(t, admin, a.URL, "admin", "password")
	// Not earlier than the expiration: refused on the session's page.
	if p := post(t, admin, a.URL+"/sessions/"+id+"/shorten", url.Values{"expires_at": {time.Now().UTC().Add(5 * time.Hour).Format(time.RFC3339)}}); p.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.Body, `data-testid="expires_at-error"`) || !strings.Contains(p.Body, `data-testid="live-session"`) {
		t.Fatalf("shorten later: %d\n%s", p.Status, p.Body)
	}
	newExp := time.Now().UTC().Add(2 * time.Second).Truncate(time.Second).Add(time.Second)
	if p := post(t, admin, a.URL+"/sessions/"+id+"/shorten", url.Values{"expires_at": {newExp.Format(time.RFC3339)}}); p.Status != http.StatusSeeOther {
		t.Fatalf("shorten on A: %d\n%s", p.Status, p.Body)
	}
	select {
	case at := <-cut:
		t.Logf("cut %s after the new expiration", at.Sub(newExp))
		if at.Before(newExp.Add(-200 * time.Millisecond)) {
			t.Fatalf("cut at %s, before the new expiration %s", at, newExp)
		}
	case <-time.After(time.Until(newExp.Add(3 * time.Second))):
		t.Fatal("the connection relayed by B outlived the new expiration")
	}
	waitRecorded(t, w.DBURL, id, "timed out", int64(len("before the extension")+len("after the old expiration")))
	if err := proc.wait(t, 10*time.Second); err != nil || !strings.Contains(proc.Out.String(), "expiration moved") {
		t.Fatalf("connect: %v\n%s", err, proc.Out)
	}
}
