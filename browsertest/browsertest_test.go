package browsertest

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/static"
)

// csp is the policy Gatehouse pages are served with: no inline script.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"

// htmlPage wraps body in a document that loads our real assets.
func htmlPage(title, body string) string {
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>` + html.EscapeString(title) + `</title>
<meta name="htmx-config" content='{"includeIndicatorStyles":false}'>
<link rel="icon" href="` + static.Path("favicon.svg") + `">
<link rel="stylesheet" href="` + static.Path("css/app.css") + `">
<script src="` + static.Path("js/htmx.min.js") + `"></script>
<script src="` + static.Path("js/sse.js") + `"></script>
<script src="` + static.Path("js/app.js") + `"></script>
</head><body><main>` + body + `</main></body></html>`
}

// server serves the pages of the tests with our CSP, plus the static assets.
func server(t *testing.T, pages map[string]func(r *http.Request) string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/static/", static.Handler())
	for path, fn := range pages {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", csp)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, fn(r))
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestNavigateFillClickRead(t *testing.T) {
	var mu sync.Mutex
	var posted []string
	srv := server(t, map[string]func(*http.Request) string{
		"GET /{$}": func(*http.Request) string {
			return htmlPage("Form", `<h1 data-testid="title">Hello</h1>
<form method="post" action="/greet" class="form">
  <div class="field"><label for="name">Name</label><input id="name" name="name" value="old"></div>
  <div class="field"><label for="color">Color</label>
    <select id="color" name="color"><option>red</option><option>green</option></select></div>
  <button class="btn btn-primary" type="submit">Greet</button>
</form>
<ul><li class="item">a</li><li class="item">b</li><li class="item">c</li></ul>`)
		},
		"POST /greet": func(r *http.Request) string {
			mu.Lock()
			posted = append(posted, r.PostFormValue("name")+"/"+r.PostFormValue("color"))
			mu.Unlock()
			return htmlPage("Greeted", `<p id="out">Hello, `+html.EscapeString(r.PostFormValue("name"))+
				` in `+html.EscapeString(r.PostFormValue("color"))+`!</p>`)
		},
	})

	ctx := New(t)
	FailOnConsoleErrors(t, ctx)
	Navigate(t, ctx, srv.URL+"/")

	if got := Title(t, ctx); got != "Form" {
		t.Errorf("Title = %q, want Form", got)
	}
	if got := Text(t, ctx, "[data-testid=title]"); got != "Hello" {
		t.Errorf("Text(title) = %q, want Hello", got)
	}
	if got := Count(t, ctx, "li.item"); got != 3 {
		t.Errorf("Count(li.item) = %d, want 3", got)
	}
	if !Exists(t, ctx, "#name") || Exists(t, ctx, "#nope") {
		t.Error("Exists is wrong")
	}
	if v, ok := Attr(t, ctx, "#name", "name"); v != "name" || !ok {
		t.Errorf("Attr(#name, name) = %q, %v", v, ok)
	}
	if _, ok := Attr(t, ctx, "#name", "placeholder"); ok {
		t.Error("Attr reports a missing attribute as present")
	}

	Fill(t, ctx, "#name", "Ada")
	if got := Value(t, ctx, "#name"); got != "Ada" {
		t.Errorf("Value after Fill = %q, want Ada (Fill must clear the old value)", got)
	}
	Select(t, ctx, "#color", "green")
	Click(t, ctx, "button[type=submit]")

	if got := WaitText(t, ctx, "#out", "Hello, Ada"); got != "Hello, Ada in green!" {
		t.Errorf("WaitText = %q", got)
	}
	if got := Location(t, ctx); got != srv.URL+"/greet" {
		t.Errorf("Location = %q, want %s/greet", got, srv.URL)
	}
	WaitGone(t, ctx, "#name")
	if got := HTML(t, ctx, "#out"); !strings.HasPrefix(got, `<p id="out">`) {
		t.Errorf("HTML(#out) = %q", got)
	}
	mu.Lock()
	if len(posted) != 1 || posted[0] != "Ada/green" {
		t.Errorf("server got %v, want [Ada/green]", posted)
	}
	mu.Unlock()

	shot := filepath.Join(t.TempDir(), "shots", "greet.png")
	Screenshot(t, ctx, shot)
	data, err := os.ReadFile(shot)
	if err != nil || len(data) < 8 || string(data[1:4]) != "PNG" {
		t.Errorf("screenshot is not a PNG (%d bytes, %v)", len(data), err)
	}
}

func TestAppJSCountdownsTimesAndHTMX(t *testing.T) {
	// Times are relative to when the page is served, not to the test start.
	rfc := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339Nano) }
	srv := server(t, map[string]func(*http.Request) string{
		"GET /{$}": func(*http.Request) string {
			return htmlPage("Countdowns", `
<p>Long: <span id="long" data-countdown-to="`+rfc(26*time.Hour+2*time.Minute+3*time.Second+500*time.Millisecond)+`">server</span></p>
<p>Hours: <span id="hours" data-countdown-to="`+rfc(time.Hour+2*time.Minute+3*time.Second+500*time.Millisecond)+`">server</span></p>
<p>Minutes: <span id="mins" data-countdown-to="`+rfc(90*time.Second+500*time.Millisecond)+`">server</span></p>
<p>Soon: <span id="soon" data-countdown-to="`+rfc(1500*time.Millisecond)+`">server</span></p>
<p>Past: <span id="past" data-countdown-to="`+rfc(-time.Minute)+`">server</span></p>
<p>Bad: <span id="bad" data-countdown-to="not a time">server text</span></p>
<p>Then: <time id="then" datetime="`+rfc(-3*time.Minute)+`" data-relative>server time</time></p>
<p>Later: <time id="later" datetime="`+rfc(2*time.Hour+time.Minute)+`" data-relative>server time</time></p>
<p>Plain: <time id="plain" datetime="`+rfc(0)+`">server time</time></p>
<button id="load" class="btn" hx-get="/fragment" hx-target="#frag">Load</button>
<div id="frag"></div>`)
		},
		"GET /fragment": func(*http.Request) string {
			return `<span id="swapped" data-countdown-to="` + rfc(10*time.Minute) + `">server</span>` +
				`<time id="swapped-time" datetime="` + rfc(-2*time.Hour) + `" data-relative>server</time>`
		},
	})

	ctx := New(t)
	FailOnConsoleErrors(t, ctx)
	Navigate(t, ctx, srv.URL+"/")

	checks := []struct {
		sel  string
		want *regexp.Regexp
	}{
		{"#long", regexp.MustCompile(`^1d 02h 0[12]m [0-5][0-9]s$`)},
		{"#hours", regexp.MustCompile(`^1h 0[12]m [0-5][0-9]s$`)},
		{"#mins", regexp.MustCompile(`^1m [0-3][0-9]s$`)},
		{"#past", regexp.MustCompile(`^expired$`)},
		{"#bad", regexp.MustCompile(`^server text$`)},
		{"#then", regexp.MustCompile(`^3 min ago$`)}, // one relative line; the absolute time is the title
		{"#later", regexp.MustCompile(`^in 2 h$`)},
		{"#plain", regexp.MustCompile(`^server time$`)},
	}
	for _, c := range checks {
		if got := Text(t, ctx, c.sel); !c.want.MatchString(got) {
			t.Errorf("%s = %q, want match %s", c.sel, got, c.want)
		}
	}
	if title, _ := Attr(t, ctx, "#then", "title"); !strings.Contains(title, "UTC") {
		t.Errorf("#then title = %q, want the full local and UTC time", title)
	}
	if class, _ := Attr(t, ctx, "#past", "class"); class != "expired" {
		t.Errorf("#past class = %q, want expired", class)
	}

	// The countdown ticks down to "expired".
	WaitText(t, ctx, "#soon", "expired")

	// Content swapped in by htmx gets the same treatment.
	Click(t, ctx, "#load")
	WaitVisible(t, ctx, "#swapped")
	if got := WaitText(t, ctx, "#swapped", "m "); !regexp.MustCompile(`^(9m [0-5][0-9]s|10m 00s)$`).MatchString(got) {
		t.Errorf("#swapped = %q, want about 10m", got)
	}
	WaitText(t, ctx, "#swapped-time", "2 h ago")
}

func TestAppJSConfirm(t *testing.T) {
	var mu sync.Mutex
	deleted := 0
	srv := server(t, map[string]func(*http.Request) string{
		"GET /{$}": func(*http.Request) string {
			return htmlPage("Confirm", `
<form method="post" action="/delete" data-confirm="Delete target t_1?">
  <button id="delete" class="btn btn-danger" type="submit">Delete</button>
</form>
<form method="post" action="/delete" hx-post="/delete" hx-target="#result">
  <button id="hx-delete" class="btn btn-danger" type="submit" data-confirm="Cancel session s_1?">Cancel</button>
</form>
<div id="result"></div>`)
		},
		"POST /delete": func(r *http.Request) string {
			mu.Lock()
			deleted++
			mu.Unlock()
			if r.Header.Get("HX-Request") == "true" {
				return `<p id="done">done by htmx</p>`
			}
			return htmlPage("Deleted", `<p id="done">deleted</p>`)
		},
	})
	count := func() int { mu.Lock(); defer mu.Unlock(); return deleted }

	ctx := New(t)
	FailOnConsoleErrors(t, ctx)
	dialogs := HandleDialogs(t, ctx, false)
	Navigate(t, ctx, srv.URL+"/")

	// Cancel: nothing is submitted, neither plainly nor by htmx.
	Click(t, ctx, "#delete")
	Click(t, ctx, "#hx-delete")
	if got := dialogs.Messages(); len(got) != 2 || got[0] != "Delete target t_1?" || got[1] != "Cancel session s_1?" {
		t.Errorf("dialogs = %q", got)
	}
	Eval[int](t, ctx, `1`) // a round trip to the page
	if n := count(); n != 0 {
		t.Fatalf("%d submissions after the confirm was cancelled", n)
	}

	// OK on the htmx form: one htmx request.
	dialogs.SetAccept(true)
	Click(t, ctx, "#hx-delete")
	WaitText(t, ctx, "#result", "done by htmx")
	if n := count(); n != 1 {
		t.Errorf("%d submissions after one accepted htmx confirm, want 1", n)
	}

	// OK on the plain form: a normal POST and a new page.
	Click(t, ctx, "#delete")
	WaitText(t, ctx, "#done", "deleted")
	if n := count(); n != 2 {
		t.Errorf("%d submissions, want 2", n)
	}
	if got := len(dialogs.Messages()); got != 4 {
		t.Errorf("%d dialogs, want 4", got)
	}
}

func TestConsoleErrorsSeesCSPViolation(t *testing.T) {
	srv := server(t, map[string]func(*http.Request) string{
		"GET /{$}": func(*http.Request) string {
			return htmlPage("Inline", `<p id="p">x</p><script>document.getElementById("p").textContent = "inline ran"</script>`)
		},
	})
	ctx := New(t)
	seen := ConsoleErrors(t, ctx)
	Navigate(t, ctx, srv.URL+"/")
	if got := Text(t, ctx, "#p"); got != "x" {
		t.Errorf("inline script ran despite the CSP: %q", got)
	}
	deadline := time.Now().Add(Timeout)
	for len(seen()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	errs := seen()
	if len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), "Content Security Policy") {
		t.Errorf("ConsoleErrors = %q, want a CSP violation", errs)
	}
}

// fakeTB records a Fatal or a Skip instead of ending the real test.
type fakeTB struct {
	testing.TB
	mu     sync.Mutex
	fatal  string
	skip   bool
	exited bool
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatal = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

func (f *fakeTB) Skip(args ...any) { f.SkipNow() }

func (f *fakeTB) Skipf(string, ...any) { f.SkipNow() }

func (f *fakeTB) SkipNow() {
	f.mu.Lock()
	f.skip = true
	f.mu.Unlock()
	runtime.Goexit()
}

func TestMissingChromiumIsAFailureNotASkip(t *testing.T) {
	t.Setenv("CHROMIUM_PATH", filepath.Join(t.TempDir(), "no-such-chromium"))
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		New(f)
		f.mu.Lock()
		f.exited = true
		f.mu.Unlock()
	}()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.skip {
		t.Fatal("New skipped the test for a missing Chromium")
	}
	if f.exited {
		t.Fatal("New returned without failing for a missing Chromium")
	}
	if !strings.Contains(f.fatal, "apt-get install -y chromium") || !strings.Contains(f.fatal, "no-such-chromium") {
		t.Errorf("fatal message = %q, want the path and the apt-get hint", f.fatal)
	}
}
