// Package browsertest is a small harness for browser tests that drive a real
// headless Chromium through chromedp v0.23 (the generic Action[T] API).
//
// A missing Chromium is a test failure, never a skip: install it with
// `apt-get install -y chromium` or point $CHROMIUM_PATH at a binary.
//
// Every helper takes the test first and fails it (t.Fatal) on an error, and
// every waiting helper gives up after Timeout, so a broken page fails fast
// instead of hanging until `go test -timeout`. Selectors are CSS selectors
// (chromedp.CSS): prefer `[data-testid=…]`, ids and roles.
//
//	ctx := browsertest.New(t)
//	browsertest.Navigate(t, ctx, srv.URL+"/login")
//	browsertest.Fill(t, ctx, "#username", "admin")
//	browsertest.Click(t, ctx, "button[type=submit]")
//	browsertest.WaitText(t, ctx, "h1", "Sessions")
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// DefaultChromiumPath is where Debian's chromium package installs the browser.
const DefaultChromiumPath = "/usr/bin/chromium"

// Timeout bounds every helper that waits (for an element, a text, a page
// load). A test that needs longer can derive its own context with
// context.WithTimeout and call chromedp directly.
var Timeout = 15 * time.Second

// ChromiumPath returns the browser binary New starts: $CHROMIUM_PATH when
// set, else DefaultChromiumPath.
func ChromiumPath() string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	return DefaultChromiumPath
}

// lockedBuffer collects the browser's output from chromedp's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 { // keep the first 64 KiB, enough to diagnose a start failure
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// New starts a fresh headless Chromium (ChromiumPath) with its own user-data
// directory under t.TempDir(), opens one tab and returns the chromedp context
// of that tab. The browser is closed (and waited for) at t.Cleanup.
//
// Flags: the chromedp defaults plus --headless --no-sandbox (we run as root)
// --disable-gpu --disable-dev-shm-usage --disable-background-networking
// --disable-component-update --disable-sync --no-first-run --disable-quic and
// a 1280x900 window.
//
// A missing Chromium or a browser that does not start fails the test with
// t.Fatal; it is never a skip. New must be called from the test's goroutine.
func New(t testing.TB) context.Context {
	t.Helper()
	path := ChromiumPath()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("browsertest: Chromium not found at %s (%v). Browser tests need it: "+
			"install it with `apt-get update && apt-get install -y chromium`, "+
			"or set CHROMIUM_PATH to a Chromium/Chrome binary", path, err)
	}
	output := &lockedBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// Registered after t.TempDir, so it runs before the directory is removed;
	// cancelAlloc waits for the browser process to exit.
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Start the browser now, without a timeout (a timeout on the first run
	// would bound the browser's life), but fail if it does not come up.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("browsertest: start %s: %v\nbrowser output:\n%s", path, err, output.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("browsertest: %s did not start within 60s\nbrowser output:\n%s", path, output.String())
	}
	return ctx
}

// do runs steps under Timeout and fails the test on an error.
func do(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatalf("browsertest: %s: %v", what, err)
	}
}

// run runs one value-returning action under Timeout and fails the test on an
// error.
func run[T any](t testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatalf("browsertest: %s: %v", what, err)
	}
	return v
}

// Navigate loads url in the tab and waits for its load event. An HTTP error
// status is not a failure (assert on the page); a network error is.
func Navigate(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	do(t, ctx, "navigate to "+url, chromedp.Navigate(url))
}

// Location returns the URL of the current page.
func Location(t testing.TB, ctx context.Context) string {
	t.Helper()
	return run(t, ctx, "location", chromedp.Location())
}

// Title returns the document title of the current page.
func Title(t testing.TB, ctx context.Context) string {
	t.Helper()
	return run(t, ctx, "title", chromedp.Title())
}

// Text waits until the first element matching the CSS selector sel is
// visible and returns its rendered text (innerText, trimmed).
func Text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	s := run(t, ctx, "text of "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	return strings.TrimSpace(s)
}

// Value waits until the first element matching sel is ready and returns its
// form value.
func Value(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	return run(t, ctx, "value of "+sel, chromedp.Value(chromedp.CSS(sel)))
}

// Attr waits until the first element matching sel is ready and returns its
// attribute name, and whether the element has it.
func Attr(t testing.TB, ctx context.Context, sel, name string) (string, bool) {
	t.Helper()
	r := run(t, ctx, "attribute "+name+" of "+sel, chromedp.AttributeValue(chromedp.CSS(sel), name))
	return r.Value, r.Exists
}

// Fill waits until the input matching sel is visible, clears it and types
// value into it key by key (so input/keyup listeners such as htmx triggers
// fire).
func Fill(t testing.TB, ctx context.Context, sel, value string) {
	t.Helper()
	do(t, ctx, "fill "+sel,
		chromedp.WaitVisible(chromedp.CSS(sel)),
		// Plain JS rather than Clear: Clear fails on an empty <textarea>.
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).value = ""`, jsString(sel))),
		chromedp.SendKeys(chromedp.CSS(sel), value),
	)
}

// Select sets the value of the <select> matching sel and fires its change
// event.
func Select(t testing.TB, ctx context.Context, sel, value string) {
	t.Helper()
	do(t, ctx, "select "+value+" in "+sel,
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.SetValue(chromedp.CSS(sel), value),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`document.querySelector(%s).dispatchEvent(new Event("change", {bubbles: true}))`, jsString(sel))),
	)
}

// Click waits until the element matching sel is visible and clicks it. It
// does not wait for a navigation the click may start: follow it with
// WaitVisible or WaitText on what the next page shows.
//
// An element replaced between being found and being clicked (an htmx swap
// of the results under it) is looked up again: such a stale node is retried
// until Timeout, any other error fails at once.
func Click(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		tctx, cancel := context.WithDeadline(ctx, deadline)
		err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
		cancel()
		if err == nil {
			return
		}
		if !staleNode(err) || time.Now().After(deadline) {
			t.Fatalf("browsertest: click %s: %v", sel, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// staleNode reports whether err says the node went away between the query
// and the action (the DOM was swapped under it).
func staleNode(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Could not find node with given id") || strings.Contains(msg, "No node with given id") ||
		strings.Contains(msg, "Node is detached") || strings.Contains(msg, "node is detached")
}

// WaitVisible waits until an element matching sel is visible.
func WaitVisible(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	do(t, ctx, "wait for "+sel+" to be visible", chromedp.WaitVisible(chromedp.CSS(sel)))
}

// WaitGone waits until no element matches sel.
func WaitGone(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	do(t, ctx, "wait for "+sel+" to be gone", chromedp.WaitNotPresent(chromedp.CSS(sel)))
}

// WaitText waits until the text (innerText) of the first element matching
// sel contains want, and returns that text. On timeout the failure shows the
// last text seen. Use it for content that htmx or SSE updates.
func WaitText(t testing.TB, ctx context.Context, sel, want string) string {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	last := "(no element matched)"
	expr := fmt.Sprintf(`(function(){var e=document.querySelector(%s);return e?e.innerText:null})()`, jsString(sel))
	for {
		tctx, cancel := context.WithTimeout(ctx, Timeout)
		s, err := chromedp.Run(tctx, chromedp.Evaluate[*string](expr))
		cancel()
		if err != nil && ctx.Err() != nil {
			t.Fatalf("browsertest: wait for %q in %s: %v", want, sel, err)
		}
		if err == nil && s != nil {
			last = strings.TrimSpace(*s)
			if strings.Contains(last, want) {
				return last
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("browsertest: %s did not contain %q within %s; last text: %q (error: %v)", sel, want, Timeout, last, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitEval waits until the JavaScript expression cond is true; what names
// the awaited state in the failure. Evaluations that fail while a
// navigation replaces the document are retried, not reported. Use it for
// page state no selector shows (an event stream open, a count reached).
func WaitEval(t testing.TB, ctx context.Context, cond, what string) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		tctx, cancel := context.WithTimeout(ctx, Timeout)
		ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err != nil && ctx.Err() != nil {
			t.Fatalf("browsertest: wait for %s: %v", what, err)
		}
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("browsertest: %s: not within %s (last error: %v)", what, Timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitLocation waits until the page at prefix (a URL prefix) has finished
// loading and returns its URL. Reads made while a navigation replaces the
// document fail in Chromium ("Inspected target navigated or closed"); they
// are retried, not reported.
func WaitLocation(t testing.TB, ctx context.Context, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	last := ""
	for {
		tctx, cancel := context.WithTimeout(ctx, Timeout)
		loc, err := chromedp.Run(tctx, chromedp.Location())
		var state string
		if err == nil {
			state, err = chromedp.Run(tctx, chromedp.Evaluate[string]("document.readyState"))
		}
		cancel()
		if err != nil && ctx.Err() != nil {
			t.Fatalf("browsertest: wait for location %s: %v", prefix, err)
		}
		if err == nil {
			last = loc
			if strings.HasPrefix(loc, prefix) && state == "complete" {
				return loc
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("browsertest: location did not reach %s within %s; last: %q (error: %v)", prefix, Timeout, last, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Count returns how many elements match sel right now, without waiting.
func Count(t testing.TB, ctx context.Context, sel string) int {
	t.Helper()
	return run(t, ctx, "count "+sel, chromedp.Evaluate[int](
		fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(sel))))
}

// Exists reports whether an element matches sel right now, without waiting.
func Exists(t testing.TB, ctx context.Context, sel string) bool {
	t.Helper()
	return Count(t, ctx, sel) > 0
}

// Eval evaluates a JavaScript expression in the page and decodes its JSON
// result into T (use chromedp.Void to ignore it, a pointer type to allow
// null).
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	return run(t, ctx, "evaluate "+expr, chromedp.Evaluate[T](expr))
}

// EvalAwait is Eval of an expression whose value is a promise: it waits
// for the promise (up to four Timeouts: a promise may do a page's worth of
// work, like a crawl) and decodes what it resolves to.
func EvalAwait[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 4*Timeout)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("browsertest: evaluate (await) %s: %v", expr, err)
	}
	return v
}

// Screenshot writes a PNG of the whole page to path (relative paths are
// under the test's working directory; directories are created) and logs
// where it went. It is for debugging: call it before a failing assertion.
func Screenshot(t testing.TB, ctx context.Context, path string) {
	t.Helper()
	buf := run(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("browsertest: screenshot: %v", err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatalf("browsertest: screenshot: %v", err)
	}
	t.Logf("browsertest: screenshot written to %s", path)
}

// HTML returns the outer HTML of the first element matching sel, for
// debugging and for asserting markup.
func HTML(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	return run(t, ctx, "outer HTML of "+sel, chromedp.OuterHTML(chromedp.CSS(sel)))
}

// Dialogs answers the JavaScript dialogs (alert, confirm, prompt) of one tab
// and records their messages. Make one with HandleDialogs.
type Dialogs struct {
	mu       sync.Mutex
	accept   bool
	messages []string
}

// HandleDialogs answers every JavaScript dialog that the page of ctx opens
// from now on, pressing OK when accept is true and Cancel otherwise. Call it
// once per tab, before the click that opens a dialog (for example the submit
// button of a form with data-confirm); change the answer with SetAccept.
func HandleDialogs(t testing.TB, ctx context.Context, accept bool) *Dialogs {
	t.Helper()
	d := &Dialogs{accept: accept}
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			d.mu.Lock()
			d.messages = append(d.messages, ev.Message)
			accept := d.accept
			d.mu.Unlock()
			// The dialog blocks the page and the action that opened it, so it
			// is answered from here.
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
		}
	}()
	return d
}

// SetAccept sets the answer to the dialogs that open from now on.
func (d *Dialogs) SetAccept(accept bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.accept = accept
}

// Messages returns the messages of the dialogs seen so far, oldest first. A
// dialog opened by a Click is recorded by the time that Click returns.
func (d *Dialogs) Messages() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.messages...)
}

// ConsoleErrors starts collecting the uncaught exceptions and the console and
// browser-log errors of the page of ctx, such as a CSP violation ("Refused to
// execute inline script …") or a failed asset, and returns a function that
// lists the ones seen so far. Messages that contain one of the ignore
// substrings are left out. Events arrive asynchronously: allow a moment (or
// use WaitText on a visible effect) after the action that causes them.
func ConsoleErrors(t testing.TB, ctx context.Context, ignore ...string) (seen func() []string) {
	t.Helper()
	var mu sync.Mutex
	var errs []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if !m.IsException() && m.Type != chromedp.ConsoleError {
				continue
			}
			text := m.String()
			keep := true
			for _, s := range ignore {
				if strings.Contains(text, s) || strings.Contains(m.URL, s) {
					keep = false
					break
				}
			}
			if keep {
				mu.Lock()
				errs = append(errs, fmt.Sprintf("%s (%s:%d)", text, m.URL, m.Line+1))
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// FailOnConsoleErrors makes the test fail at its end when the page of ctx
// logged an error that ConsoleErrors reports (ignore works the same). Call it
// right after New, before the first Navigate.
func FailOnConsoleErrors(t testing.TB, ctx context.Context, ignore ...string) {
	t.Helper()
	seen := ConsoleErrors(t, ctx, ignore...)
	// Runs before New's cleanup (cleanups run last-in first-out), while the
	// browser is still up.
	t.Cleanup(func() {
		// A round trip to the page, then a short grace period, lets the
		// messages of the last action arrive.
		tctx, cancel := context.WithTimeout(ctx, Timeout)
		_ = chromedp.Do(tctx, chromedp.Evaluate[chromedp.Void](`0`))
		cancel()
		time.Sleep(100 * time.Millisecond)
		for _, e := range seen() {
			t.Errorf("browsertest: console error: %s", e)
		}
	})
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
