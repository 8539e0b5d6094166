package main

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

var (
	startPattern   = regexp.MustCompile(`/targets/(ttcp_[A-Za-z0-9]+)/sessions`)
	sessionPattern = regexp.MustCompile(`/sessions/(s_[A-Za-z0-9]+)/cancel`)
)

// sessionApps starts n `serve` instances on one fresh database of dialect d
// seeded by seedSessionWorld.
func sessionApps(t *testing.T, d models.Dialect, n int) []*testApp {
	t.Helper()
	return newProxyWorld(t, d, n).Apps
}

// startOverHTTP logs alice in on app and starts a session on echo.
func startOverHTTP(t *testing.T, app *testApp) (*http.Client, string) {
	t.Helper()
	c := client(t)
	loginAs(t, c, app.URL, "alice", "alice-password")
	mt := get(t, c, app.URL+"/targets")
	m := startPattern.FindStringSubmatch(mt.Body)
	if m == nil {
		t.Fatalf("My targets offers no start:\n%s", mt.Body)
	}
	started := post(t, c, app.URL+"/targets/"+m[1]+"/sessions", url.Values{})
	s := sessionPattern.FindStringSubmatch(started.Body)
	if started.Status != http.StatusCreated || s == nil || !strings.Contains(started.Body, `data-testid="session-token"`) ||
		started.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("start: %d %v\n%s", started.Status, started.Header, started.Body)
	}
	return c, s[1]
}

// openStream opens a live view's event stream and returns a reader of its
// "sessions" events' data.
func openStream(t *testing.T, c *http.Client, u string) func(timeout time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	sc := &http.Client{Jar: c.Jar}
	resp, err := sc.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream %s: %v %v", u, err, resp)
	}
	events := make(chan string, 16)
	go func() {
		defer resp.Body.Close()
		r := bufio.NewScanner(resp.Body)
		r.Buffer(make([]byte, 1<<20), 1<<20)
		var data []string
		inEvent := false
		for r.Scan() {
			line := r.Text()
			switch {
			case line == "event: sessions":
				inEvent, data = true, nil
			case strings.HasPrefix(line, "data: ") && inEvent:
				data = append(data, strings.TrimPrefix(line, "data: "))
			case line == "" && inEvent:
				events <- strings.Join(data, "\n")
				inEvent = false
			}
		}
		close(events)
	}()
	return func(timeout time.Duration) string {
		select {
		case e := <-events:
			return e
		case <-time.After(timeout):
			return ""
		}
	}
}

// TestSessionPagesOverHTTP drives the session pages through `serve` on both
// databases: start, the pages, bad filters, cancel, and the live stream.
func TestSessionPagesOverHTTP(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			app := sessionApps(t, d, 1)[0]
			c, id := startOverHTTP(t, app)
			next := openStream(t, c, app.URL+"/sessions/events?view=mine")
			one := openStream(t, c, app.URL+"/sessions/events?view=session&id="+id)

			mine := get(t, c, app.URL+"/sessions")
			if mine.Status != 200 || !strings.Contains(mine.Body, `data-testid="session-row-`+id) || !strings.Contains(mine.Body, "pending") ||
				!strings.Contains(mine.Body, "data-countdown-to=") || !strings.Contains(mine.Body, `sse-connect="/sessions/events?view=mine"`) {
				t.Fatalf("My sessions: %d\n%s", mine.Status, mine.Body)
			}
			if p := get(t, c, app.URL+"/sessions/"+id); p.Status != 200 || strings.Contains(p.Body, `data-testid="session-token"`) {
				t.Fatalf("session page must not show the token again: %d", p.Status)
			}
			if p := get(t, c, app.URL+"/sessions/s_nope"); p.Status != 404 {
				t.Fatalf("unknown session: %d", p.Status)
			}
			if p := get(t, c, app.URL+"/sessions/events?view=session&id=s_nope"); p.Status != 404 {
				t.Fatalf("stream of unknown session: %d", p.Status)
			}
			if p := get(t, c, app.URL+"/sessions/events?view=bogus"); p.Status != 404 {
				t.Fatalf("unknown view: %d", p.Status)
			}

			// alice may read only her own: All sessions shows hers, filters work.
			all := get(t, c, app.URL+"/admin/sessions?state=pending&target=ech&sort=user")
			if all.Status != 200 || !strings.Contains(all.Body, `data-testid="session-row-`+id) || !strings.Contains(all.Body, "Alice") {
				t.Fatalf("All sessions: %d\n%s", all.Status, all.Body)
			}
			if p := get(t, c, app.URL+"/admin/sessions?state=terminated"); !strings.Contains(p.Body, `data-testid="empty"`) {
				t.Fatalf("filter terminated:\n%s", p.Body)
			}
			// The state filter offers hiding terminated sessions.
			if p := get(t, c, app.URL+"/admin/sessions"); !strings.Contains(p.Body, `<option value="live">Live (not terminated)</option>`) {
				t.Fatalf("All sessions offers no live filter:\n%s", p.Body)
			}
			if p := get(t, c, app.URL+"/admin/sessions?state=live"); p.Status != 200 || !strings.Contains(p.Body, `data-testid="session-row-`+id) ||
				!strings.Contains(p.Body, `<option value="live" selected>`) {
				t.Fatalf("filter live: %d\n%s", p.Status, p.Body)
			}
			for _, bad := range []string{"state=paused", "reason=unknown", "sort=id", "from=yesterday", "from=2026-03-02T10:00&to=2026-03-01T10:00"} {
				if p := get(t, c, app.URL+"/admin/sessions?"+bad); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "field-error") {
					t.Fatalf("bad filter %s: %d", bad, p.Status)
				}
			}

			if p := post(t, c, app.URL+"/sessions/"+id+"/cancel", url.Values{}, "HX-Request", "true"); p.Status != http.StatusNoContent {
				t.Fatalf("cancel: %d", p.Status)
			}
			// The row's state: its badge, then the reason (views stateCell).
			if e := next(5 * time.Second); !strings.Contains(e, `badge-terminated">terminated</span>`) || !strings.Contains(e, "/ canceled") || !strings.Contains(e, id) {
				t.Fatalf("My sessions stream: %q", e)
			}
			if e := one(5 * time.Second); !strings.Contains(e, "terminated / canceled") || !strings.Contains(e, `data-testid="history-terminated"`) {
				t.Fatalf("session stream: %q", e)
			}
			if p := get(t, c, app.URL+"/admin/sessions?state=live"); !strings.Contains(p.Body, `data-testid="empty"`) {
				t.Fatalf("filter live after cancel:\n%s", p.Body)
			}
			if p := get(t, c, app.URL+"/admin/sessions"); !strings.Contains(p.Body, `data-testid="session-row-`+id) {
				t.Fatalf("All sessions must keep the terminated session:\n%s", p.Body)
			}
			// Canceling again is fine; the plain form redirects back.
			if p := post(t, c, app.URL+"/sessions/"+id+"/cancel", url.Values{}); p.Status != http.StatusSeeOther || p.Location != "/sessions/"+id {
				t.Fatalf("second cancel: %d %s", p.Status, p.Location)
			}
			// Another person sees nothing of it.
			other := client(t)
			loginAs(t, other, app.URL, "admin", "password")
			if p := get(t, other, app.URL+"/sessions"); strings.Contains(p.Body, id) {
				t.Fatal("admin's My sessions shows alice's session")
			}
			if p := get(t, other, app.URL+"/admin/sessions?user=alice"); !strings.Contains(p.Body, id) {
				t.Fatal("the administrator's All sessions must show alice's session")
			}
		})
	}
}

// TestSessionChangeReachesOtherInstance: two instances on one Postgres; a
// cancel on A shows up on B's live stream (LISTEN/NOTIFY) within 2 s. An
// earlier render may come first: the start's own notification reaches B
// up to its linger later, and on a loaded machine after B subscribed.
func TestSessionChangeReachesOtherInstance(t *testing.T) {
	apps := sessionApps(t, models.Postgres, 2)
	c, id := startOverHTTP(t, apps[0])
	cb := client(t)
	loginAs(t, cb, apps[1].URL, "alice", "alice-password")
	next := openStream(t, cb, apps[1].URL+"/sessions/events?view=session&id="+id)
	time.Sleep(200 * time.Millisecond) // let B's stream subscribe (not a clock wait)
	start := time.Now()
	if p := post(t, c, apps[0].URL+"/sessions/"+id+"/cancel", url.Values{}, "HX-Request", "true"); p.Status != http.StatusNoContent {
		t.Fatalf("cancel on A: %d", p.Status)
	}
	var seen []string
	for deadline := start.Add(2 * time.Second); ; {
		e := next(time.Until(deadline))
		if strings.Contains(e, "terminated / canceled") {
			break
		}
		if e == "" {
			t.Fatalf("B's stream after %v, no terminated session among %d renders: %q", time.Since(start), len(seen), seen)
		}
		seen = append(seen, e)
	}
}
