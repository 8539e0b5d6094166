package cli

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncWriter is a writer safe for concurrent use.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.WriteString(string(p))
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestBrowserLoginAnswersTheBrowserBeforeExiting: the page the browser is
// sent back to (here a canceled login) arrives whole although the command
// returns as soon as it has the answer. It used to close its listener's
// connections at once, and on a loaded machine the browser got no page.
func TestBrowserLoginAnswersTheBrowserBeforeExiting(t *testing.T) {
	loginURL := regexp.MustCompile(`(http://\S+/cli/login\?\S+)`)
	for i := range 30 {
		stderr := &syncWriter{}
		env := Env{Getenv: func(k string) string {
			if k == "BROWSER" {
				return "none"
			}
			return ""
		}, Stdout: io.Discard, Stderr: stderr}
		done := make(chan error, 1)
		go func() {
			done <- browserLogin(context.Background(), newClient("http://127.0.0.1:1", "", nil), env, "test", &tokenAnswer{})
		}()
		var u *url.URL
		for deadline := time.Now().Add(5 * time.Second); u == nil; time.Sleep(time.Millisecond) {
			if m := loginURL.FindStringSubmatch(stderr.String()); m != nil {
				u, _ = url.Parse(m[1])
			} else if time.Now().After(deadline) {
				t.Fatalf("no login URL printed: %q", stderr.String())
			}
		}
		q := u.Query()
		resp, err := http.Get(q.Get("redirect_uri") + "?" + url.Values{"state": {q.Get("state")}, "error": {"access_denied"}}.Encode())
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !strings.Contains(string(body), `<p id=result>Login canceled.`) || !strings.HasSuffix(string(body), "</html>") {
			t.Fatalf("round %d: the browser got %q, %v", i, body, err)
		}
		if err := <-done; err == nil || !strings.Contains(err.Error(), "login not completed") {
			t.Fatalf("round %d: browserLogin = %v, want not completed", i, err)
		}
	}
}
