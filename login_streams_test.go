package main

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
)

// streamUntilEnd opens c's live stream of its sessions on base and returns
// a channel closed when the server ends it.
func streamUntilEnd(t *testing.T, c *http.Client, base string) <-chan struct{} {
	t.Helper()
	sc := &http.Client{Jar: c.Jar} // no client timeout: the stream is long
	resp, err := sc.Get(base + "/sessions/events?view=mine")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream on %s: %d", base, resp.StatusCode)
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		s := bufio.NewScanner(resp.Body)
		for s.Scan() {
		}
	}()
	return ended
}

// A logout on instance A ends the login's live stream held by instance B
// (LISTEN/NOTIFY), not minutes later (issue 11, finding 3). The instances'
// stream heartbeat is set longer than the test, so only the notification
// can end the stream; the 5 s guard is a generous bound, not a measure
// (before: up to 5 minutes).
func TestLiveStreamEndsOnLogoutOnAnotherInstance(t *testing.T) {
	w := newProxyWorldEnv(t, models.Postgres, 2, map[string]string{"GATEHOUSE_LIVE_HEARTBEAT": "5m"})
	a, b := w.Apps[0], w.Apps[1]
	c := client(t)
	if p := loginAs(t, c, a.URL, "alice", "alice-password"); p.Status != http.StatusSeeOther {
		t.Fatalf("login: %d", p.Status)
	}
	ended := streamUntilEnd(t, c, b.URL)
	if p := post(t, c, a.URL+"/logout", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.Status)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("instance B kept streaming to a login that logged out on instance A (5 s)")
	}
}
