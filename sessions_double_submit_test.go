package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"gatehouse/dbtest"
)

var noncePattern = regexp.MustCompile(`name="nonce" value="([^"]+)"`)

// TestDoubleSubmitStartsOneSession: the Start session form carries a
// nonce; two identical POSTs of it (one after the other, then two at once,
// as a double click sends them) make one session on both databases. The
// first answer shows the token; a repeat is sent to that same session.
func TestDoubleSubmitStartsOneSession(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			app := sessionApps(t, d, 1)[0]
			c := client(t)
			loginAs(t, c, app.URL, "alice", "alice-password")
			form := func() (string, url.Values) {
				t.Helper()
				mt := get(t, c, app.URL+"/targets")
				m, n := startPattern.FindStringSubmatch(mt.Body), noncePattern.FindStringSubmatch(mt.Body)
				if m == nil || n == nil {
					t.Fatalf("My targets offers no start form with a nonce:\n%s", mt.Body)
				}
				return app.URL + "/targets/" + m[1] + "/sessions", url.Values{"nonce": {n[1]}}
			}
			sessions := func() int { return strings.Count(get(t, c, app.URL+"/sessions").Body, `data-testid="session-row-`) }

			action, f := form()
			first := post(t, c, action, f)
			id := sessionPattern.FindStringSubmatch(first.Body)
			if first.Status != http.StatusCreated || id == nil || !strings.Contains(first.Body, `data-testid="session-token"`) {
				t.Fatalf("first start: %d\n%s", first.Status, first.Body)
			}
			again := post(t, c, action, f)
			if again.Status != http.StatusSeeOther || again.Location != "/sessions/"+id[1]+"?done=repeated" {
				t.Fatalf("repeat: %d %q, want 303 to the first session", again.Status, again.Location)
			}
			if n := sessions(); n != 1 {
				t.Fatalf("sessions after a repeated start = %d, want 1", n)
			}

			action, f = form()
			var wg sync.WaitGroup
			pages := make([]int, 2)
			for i := range pages {
				wg.Add(1)
				go func() { defer wg.Done(); pages[i] = post(t, c, action, f).Status }()
			}
			wg.Wait()
			if !(pages[0] == 201 && pages[1] == 303 || pages[0] == 303 && pages[1] == 201) {
				t.Fatalf("double click answers %v, want one 201 and one 303", pages)
			}
			if n := sessions(); n != 2 {
				t.Fatalf("sessions after a double click = %d, want 2", n)
			}
		})
	}
}
