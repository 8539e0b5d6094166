package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"gatehouse/models"
)

// GET /sessions/events?from=notadate answered 500 and the browser's
// EventSource retried it in a loop. A bad filter value is a 422 with the
// field's message, and the page of a bad filter opens no stream at all
// (issue 11, finding 9).
func TestLiveStreamOfABadFilterIs4xx(t *testing.T) {
	a := newApp(t)
	c := a.login("admin", "password")
	for _, bad := range []string{"from=notadate", "to=2026-13-45T99:99", "from=2026-03-01T09:00&to=yesterday"} {
		resp, err := c.http.Get(a.srv.URL + "/sessions/events?view=all&" + bad)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), models.MsgFilterDate) {
			t.Errorf("events ?%s: %d %q", bad, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/event-stream") {
			t.Errorf("events ?%s started a stream", bad)
		}
		// (The navigation's access badge has a stream of its own.)
		st, doc := c.get("/admin/sessions?" + bad)
		if page := render(doc); st != http.StatusUnprocessableEntity || strings.Contains(page, `sse-connect="/sessions/events`) {
			t.Errorf("/admin/sessions?%s: %d, stream attribute present: %v", bad, st, strings.Contains(page, `sse-connect="/sessions/events`))
		}
	}
	// A good filter still streams.
	resp, err := c.http.Get(a.srv.URL + "/sessions/events?view=all&from=2026-03-01T09:00")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Errorf("good filter: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if st, doc := c.get("/admin/sessions?from=2026-03-01T09:00"); st != http.StatusOK || !strings.Contains(render(doc), `sse-connect="/sessions/events`) {
		t.Errorf("/admin/sessions with a good filter: %d, no stream", st)
	}
}
