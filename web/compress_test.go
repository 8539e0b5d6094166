package web_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/static"
)

// TestTextResponsesAreCompressed: pages and static CSS/JS come gzipped to a
// browser that accepts it (and plain to one that does not), while the
// Server-Sent Events stream stays uncompressed and delivers its first bytes
// at once.
func TestTextResponsesAreCompressed(t *testing.T) {
	env := newEnv(t, models.SQLite, "http://127.0.0.1")
	get := func(path, enc string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", env.srv.URL+path, nil)
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for _, path := range []string{"/login", static.Path("css/app.css"), static.Path("js/htmx.min.js"), static.Path("js/app.js")} {
		if r := get(path, "gzip"); r.StatusCode != 200 || r.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("GET %s with gzip: %d, Content-Encoding %q, Vary %q", path, r.StatusCode, r.Header.Get("Content-Encoding"), r.Header.Get("Vary"))
		}
		if r := get(path, ""); r.StatusCode != 200 || r.Header.Get("Content-Encoding") != "" {
			t.Errorf("GET %s without gzip: %d, Content-Encoding %q", path, r.StatusCode, r.Header.Get("Content-Encoding"))
		}
	}
	// The event stream: plain, and its opening comment arrives before any
	// event (a compressing writer would hold it back).
	c := env.adminClient()
	req, _ := http.NewRequest("GET", env.srv.URL+"/sessions/events?view=mine", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Type"))
	}
	line := make(chan string, 1)
	go func() { l, _ := bufio.NewReader(resp.Body).ReadString('\n'); line <- l }()
	select {
	case l := <-line:
		if l != ": live\n" {
			t.Fatalf("first line %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream's first bytes did not arrive")
	}
}
