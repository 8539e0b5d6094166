package web_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/live"
	"gatehouse/models"
	"gatehouse/web"
)

// openStream opens c's live stream of its sessions and returns a channel
// that receives the stream's last event name when the server ends it.
func openStream(t *testing.T, a *app, c *appClient) <-chan string {
	t.Helper()
	return openStreamAt(t, a, c, "/sessions/events?view=mine")
}

// openStreamAt is openStream for the live stream at path.
func openStreamAt(t *testing.T, a *app, c *appClient, path string) <-chan string {
	t.Helper()
	resp, err := c.http.Get(a.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ended := make(chan string, 1)
	go func() {
		last := ""
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				last = ev
			}
		}
		ended <- last
	}()
	return ended
}

// noHeartbeat is the live streams' heartbeat in these tests: longer than
// any test, so a stream that ends did so because its login's end was heard
// (or its expiry timer fired), not because the heartbeat's safety net
// checked the login.
const noHeartbeat = time.Hour

// streamEndBound is how long a stream may outlive its login in these
// tests: a generous bound, far below the default 20 s heartbeat (before
// the fix a stream outlived its login by up to 5 minutes).
const streamEndBound = 5 * time.Second

// waitEnded fails the test when the stream is still open streamEndBound
// after its login ended, or when its last event does not tell the page it
// is signed out (it would reconnect, and log an error).
func waitEnded(t *testing.T, ended <-chan string, what string) {
	t.Helper()
	select {
	case last := <-ended:
		if last != "signed-out" {
			t.Fatalf("the stream ended (%s) with last event %q, not signed-out", what, last)
		}
	case <-time.After(streamEndBound):
		t.Fatalf("the live stream outlived its login (%s) by %s", what, streamEndBound)
	}
}

// Every live stream of a login ends when the login ends: logout, password
// change, account removed, user deleted, expiry (issue 11, finding 3).
// Across instances: see TestLiveStreamEndsOnLogoutOnAnotherInstance.
func TestLiveStreamsEndWithTheirLogin(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			broker := live.New()
			store := dbtest.Open(t, d, models.Options{LoginsEnded: broker.LoginsEnded, LoginLifetime: time.Hour})
			a := newAppWith(t, store, func(c *web.Config) { c.Live, c.StreamHeartbeat = broker, noHeartbeat })
			bob, err := store.CreateUser(ctx, a.admin, models.GlobalScopeID, models.UserInput{Name: "bob", LoginName: "bob", Password: "bob's password"})
			if err != nil {
				t.Fatal(err)
			}
			bobStream := func() <-chan string { return openStream(t, a, a.login("bob", "bob's password")) }

			// Logout: the stream of that login ends, another login's stays.
			c := a.login("bob", "bob's password")
			ended, badge, other := openStream(t, a, c), openStreamAt(t, a, c, "/access/events?view=badge"), bobStream()
			if st, _, _ := c.post("/logout", nil); st != http.StatusSeeOther {
				t.Fatalf("logout: %d", st)
			}
			waitEnded(t, ended, "logout")
			waitEnded(t, badge, "logout, access badge")
			select {
			case <-other:
				t.Fatal("logging out ended another login's stream")
			case <-time.After(200 * time.Millisecond):
			}

			// Password change ends every login made with the old one.
			u, _ := store.GetUser(ctx, a.admin, bob.ID)
			if _, err := store.UpdateUser(ctx, a.admin, bob.ID, u.Version, models.UserInput{Name: "bob", LoginName: "bob", Password: "a new password"}); err != nil {
				t.Fatal(err)
			}
			waitEnded(t, other, "password change")

			// Account removed, then user deleted.
			ended = openStream(t, a, a.login("bob", "a new password"))
			u, _ = store.GetUser(ctx, a.admin, bob.ID)
			if err := store.DeleteAccount(ctx, a.admin, u.Accounts[0].ID); err != nil {
				t.Fatal(err)
			}
			waitEnded(t, ended, "account removed")
			carol, err := store.CreateUser(ctx, a.admin, models.GlobalScopeID, models.UserInput{Name: "carol", LoginName: "carol", Password: "carol's password"})
			if err != nil {
				t.Fatal(err)
			}
			ended = openStream(t, a, a.login("carol", "carol's password"))
			if err := store.DeleteUser(ctx, a.admin, carol.ID); err != nil {
				t.Fatal(err)
			}
			waitEnded(t, ended, "user deleted")
			if n := broker.Subscribers(); n != 0 {
				t.Errorf("%d subscriptions left", n)
			}
		})
	}
}

// A stream ends at its login's expiry.
func TestLiveStreamEndsAtLoginExpiry(t *testing.T) {
	broker := live.New()
	store := dbtest.Open(t, models.SQLite, models.Options{LoginsEnded: broker.LoginsEnded, LoginLifetime: 2 * time.Second})
	a := newAppWith(t, store, func(c *web.Config) { c.Live, c.StreamHeartbeat = broker, noHeartbeat })
	waitEnded(t, openStream(t, a, a.login("admin", "password")), "expiry")
}
