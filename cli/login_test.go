package cli

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestBrowserLoginAnswersTheBrowserBeforeExiting: the page the browser is
// sent back to (here a canceled login) arrives whole although the command
// returns as soon as it has the answer. It used to close its listener's
// connections at once, and on a loaded machine the browser got no page.
func TestBrowserLoginAnswersTheBrowserBeforeExiting(t *testing.T) {
	loginURL := regexp.MustCompile(`(http://\S+/cli/login\?\S+)`)
	for i := range 30 {
		// The command writes its lines once and waits for the browser: the
		// test reads them from a pipe.
		pr, pw := io.Pipe()
		env := Env{Getenv: func(k string) string {
			if k == "BROWSER" {
				return "none"
			}
			return ""
		}, Stdout: io.Discard, Stderr: pw}
		done := make(chan error, 1)
		go func() {
			done <- browserLogin(context.Background(), newClient("http://127.0.0.1:1", "", nil), env, "test", &tokenAnswer{})
			pw.Close()
		}()
		var u *url.URL
		sc := bufio.NewScanner(pr)
		for u == nil && sc.Scan() {
			if m := loginURL.FindStringSubmatch(sc.Text()); m != nil {
				u, _ = url.Parse(m[1])
			}
		}
		if u == nil {
			t.Fatalf("round %d: no login URL printed", i)
		}
		go func() { _, _ = io.Copy(io.Discard, pr) }()
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
