package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gatehouse/browsertest"
	"gatehouse/models"
)

// checkPage checks the current page the way every browser test looks at
// its pages (browsertest.CheckPage: 1280 and 390 px, no sideways scroll, no
// serious or critical axe-core violation). With GATEHOUSE_SCREENSHOTS=<dir>
// it also writes a screenshot per width in <dir>/<test name>/, for people to
// look at (the tests never compare pixels).
func checkPage(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if dir != "" {
		dir = filepath.Join(dir, t.Name())
	}
	browsertest.CheckPage(t, ctx, slug(name), dir)
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

func slug(s string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// visit navigates to base+path, waits for sel and checks the page.
func visit(t *testing.T, ctx context.Context, base, path, sel, name string) {
	t.Helper()
	browsertest.Navigate(t, ctx, base+path)
	browsertest.WaitVisible(t, ctx, sel)
	checkPage(t, ctx, name)
}

// TestJourneyEndUser: alice (the SRE group) lands on Home, sees her
// targets with Start session, starts one on echo, copies the command and
// token, looks at echo's page and My targets, ends the session from Home
// (a confirmation naming the target), and the session page replaces the
// token card with "Session ended" live.
func TestJourneyEndUser(t *testing.T) {
	base, _ := startDev(t, t.TempDir())
	ctx := browsertest.New(t)
	browsertest.FailOnConsoleErrors(t, ctx)
	dialogs := browsertest.HandleDialogs(t, ctx, true)
	loginThroughDevProvider(t, ctx, base, "alice")

	browsertest.Navigate(t, ctx, base+"/")
	browsertest.WaitText(t, ctx, "[data-testid=home-targets]", "echo")
	browsertest.WaitVisible(t, ctx, "[data-testid=no-live-sessions]")
	checkPage(t, ctx, "home")

	browsertest.Click(t, ctx, `[data-testid=home-targets] li:first-child [data-testid=start-session]`)
	browsertest.WaitVisible(t, ctx, "[data-testid=session-token]")
	checkPage(t, ctx, "session started")
	browsertest.Click(t, ctx, "[data-testid=copy-connect-command]")
	browsertest.WaitText(t, ctx, "[data-testid=copy-connect-command]", "Copied")
	sessionURL := browsertest.Location(t, ctx)

	browsertest.Navigate(t, ctx, base+"/targets")
	browsertest.WaitVisible(t, ctx, "[data-testid=my-target-list]")
	checkPage(t, ctx, "my targets")
	browsertest.Click(t, ctx, `[data-testid=my-target-list] [data-testid=col-name] a`)
	browsertest.WaitVisible(t, ctx, "[data-testid=target-name]")
	checkPage(t, ctx, "target for an end user")

	visit(t, ctx, base, "/sessions", "[data-testid=session-list]", "my sessions")

	browsertest.Navigate(t, ctx, base+"/")
	browsertest.WaitVisible(t, ctx, "[data-testid=live-session-list]")
	checkPage(t, ctx, "home with a session")
	browsertest.Click(t, ctx, "[data-testid=live-session-list] [data-testid=cancel-session]")
	browsertest.WaitVisible(t, ctx, "[data-testid=no-live-sessions]")
	if msgs := dialogs.Messages(); len(msgs) != 1 || !strings.Contains(msgs[0], "End the session on echo?") {
		t.Errorf("confirmation = %q", msgs)
	}

	browsertest.Navigate(t, ctx, sessionURL)
	browsertest.WaitVisible(t, ctx, "[data-testid=session-ended]")
	if browsertest.Exists(t, ctx, "[data-testid=how-to-connect]") || browsertest.Exists(t, ctx, "[data-testid=countdown]") {
		t.Error("an ended session still shows the connect card or a countdown")
	}
	checkPage(t, ctx, "session ended")
	visit(t, ctx, base, "/explain", "h1", "why cant i")
	visit(t, ctx, base, "/account", "h1", "account")

	// Pages left behind release their event streams: the browser keeps
	// them in its back/forward cache, and before app.js closed their
	// streams on pagehide, a few visits to live pages used up the six
	// connections per host and the next page never loaded.
	for i := 0; i < 5; i++ {
		visitLive(t, ctx, base+"/", "[data-testid=home-targets]")
		visitLive(t, ctx, base+"/sessions", "[data-testid=session-list]")
		visitLive(t, ctx, sessionURL, "[data-testid=session-ended]")
	}
	browsertest.Navigate(t, ctx, base+"/sessions")
	browsertest.WaitVisible(t, ctx, "[data-testid=session-list]")

	// A tab in the background closes its stream, and when shown again
	// opens it anew with a fresh copy of the view: a session started
	// meanwhile is listed. (Hidden is simulated; the wait is shortened.)
	browsertest.Navigate(t, ctx, sessionURL)
	startAction := browsertest.Eval[string](t, ctx, `document.querySelector("[data-testid=start-again]").form.getAttribute("action")`)
	visitLive(t, ctx, base+"/sessions", "[data-testid=session-list]")
	rows := `document.querySelectorAll("[data-testid^=session-row-]").length`
	before := browsertest.Eval[int](t, ctx, rows)
	setHidden := func(hidden bool) {
		browsertest.Eval[bool](t, ctx, `window.gatehouseHiddenMs = 50;
			Object.defineProperty(document, "hidden", {configurable: true, get: () => `+strconv.FormatBool(hidden)+`});
			document.dispatchEvent(new Event("visibilitychange")); true`)
	}
	streamState := `document.querySelector("[sse-connect]")["htmx-internal-data"].sseEventSource.readyState`
	setHidden(true)
	browsertest.WaitEval(t, ctx, streamState+` === 2`, "the hidden tab's stream closed")
	if st := browsertest.EvalAwait[int](t, ctx, `fetch(`+strconv.Quote(startAction)+`, {method: "POST", body: new URLSearchParams({nonce: "while-hidden"})}).then(r => r.status)`); st != 201 {
		t.Fatalf("start while hidden: %d", st)
	}
	setHidden(false)
	browsertest.WaitEval(t, ctx, streamState+` === 1`, "the stream open again")
	browsertest.WaitEval(t, ctx, rows+` === `+strconv.Itoa(before+1), "the session started meanwhile listed")
}

// visitLive opens a live page and waits until its event stream is open.
func visitLive(t *testing.T, ctx context.Context, url, sel string) {
	t.Helper()
	browsertest.Navigate(t, ctx, url)
	browsertest.WaitVisible(t, ctx, sel)
	waitSSEOpen(t, ctx)
}

// TestJourneyNoAccess: bob (in no group) lands on Home and is told plainly
// that he may start no session, how to get access (the operator's text) and
// where to ask why; My targets says the same; the navigation offers only
// what he may use; a page he may not open links to "Why can't I?".
func TestJourneyNoAccess(t *testing.T) {
	base, _ := startDev(t, t.TempDir())
	ctx := browsertest.New(t)
	browsertest.FailOnConsoleErrors(t, ctx, "status of 403", "status of 404")
	// The dev provider is global's primary auth method: single sign-on is
	// the login page's primary button, the password form secondary.
	visit(t, ctx, base, "/login", "[data-testid=password-login]", "login")
	if !browsertest.Exists(t, ctx, "a.provider-btn.btn-primary") || browsertest.Exists(t, ctx, "[data-testid=login-submit].btn-primary") {
		t.Error("single sign-on is not the primary button")
	}
	loginThroughDevProvider(t, ctx, base, "bob")

	visit(t, ctx, base, "/", "[data-testid=no-access]", "home without access")
	if got := browsertest.Text(t, ctx, "[data-testid=access-help]"); !strings.Contains(got, "log in as admin") {
		t.Errorf("access help = %q", got)
	}
	for _, hidden := range []string{`a[href="/users"]`, `a[href="/admin/sessions"]`, `a[href="/admin/targets"]`, `a[href="/roles"]`, "[data-testid=admin-card]"} {
		if browsertest.Exists(t, ctx, hidden) {
			t.Errorf("bob sees %s", hidden)
		}
	}
	visit(t, ctx, base, "/targets", "[data-testid=no-access]", "my targets without access")
	visit(t, ctx, base, "/sessions", "[data-testid=empty]", "my sessions without access")
	visit(t, ctx, base, "/explain", "h1", "why cant i without access")
	visit(t, ctx, base, "/account", "h1", "account without access")
	// The guided target form is not his: refused, with a way to ask why.
	browsertest.Navigate(t, ctx, base+"/admin/targets/new?project=p_nope")
	browsertest.WaitVisible(t, ctx, "[data-testid=error-page]")
	checkPage(t, ctx, "refused page")
}

// TestJourneyAdminGuidedTarget: the administrator opens Targets from the
// sidebar, sends the guided form empty (an error summary takes the focus
// and links to each field, the input is kept), then makes a host-based
// target in one go (catalog, two hosts, host set), finds it on its page
// and in the projects overview, and looks at the admin pages.
func TestJourneyAdminGuidedTarget(t *testing.T) {
	base, _ := startDev(t, t.TempDir())
	ctx := browsertest.New(t)
	browsertest.FailOnConsoleErrors(t, ctx, "status of 422") // the refused form answers 422, on purpose
	loginThroughDevProvider(t, ctx, base, "admin")

	browsertest.Navigate(t, ctx, base+"/")
	browsertest.Click(t, ctx, `[data-testid=sidebar] a[href="/admin/targets"]`)
	browsertest.WaitVisible(t, ctx, "[data-testid=admin-target-list]")
	checkPage(t, ctx, "admin targets")
	browsertest.Click(t, ctx, "[data-testid=add-target]")
	browsertest.WaitVisible(t, ctx, "[data-testid=guided-target-form]")
	checkPage(t, ctx, "guided target form")

	browsertest.Fill(t, ctx, "#name", "web")
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitVisible(t, ctx, "[data-testid=form-error]")
	if focused := browsertest.Eval[bool](t, ctx, `document.activeElement.hasAttribute("data-error-summary")`); !focused {
		t.Error("the error summary does not have the focus")
	}
	if n := browsertest.Count(t, ctx, `[data-testid=form-error] a[href="#project"]`); n != 1 {
		t.Errorf("summary links to #project %d times", n)
	}
	if got := browsertest.Value(t, ctx, "#name"); got != "web" {
		t.Errorf("name after a refusal = %q", got)
	}
	checkPage(t, ctx, "guided target form with errors")

	browsertest.Select(t, ctx, "#project", browsertest.Eval[string](t, ctx, `document.querySelector("#project option:nth-child(2)").value`))
	browsertest.Fill(t, ctx, "#default_port", "8080")
	browsertest.Fill(t, ctx, "#hosts", "web-1 127.0.0.1\nweb-2 127.0.0.2")
	browsertest.Fill(t, ctx, "#session_max_seconds_amount", "2")
	browsertest.Select(t, ctx, "#session_max_seconds_unit", "hours")
	browsertest.Click(t, ctx, "#session_connection_limit_limited")
	browsertest.Fill(t, ctx, "#session_connection_limit_count", "3")
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=target-name]", "web")
	browsertest.WaitText(t, ctx, "[data-testid=host-source-list]", "web hosts")
	for sel, want := range map[string]string{"target-max": "2 hours", "target-limit": "3"} {
		if got := browsertest.Text(t, ctx, "[data-testid="+sel+"]"); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	checkPage(t, ctx, "new target page")

	visit(t, ctx, base, "/admin/projects", "[data-testid=project-list]", "projects")
	for _, p := range []struct{ path, sel, name string }{
		{"/", "[data-testid=admin-card]", "admin home"},
		{"/admin/sessions", "h1", "all sessions"},
		{"/audit/sessions", "h1", "session history"},
		{"/audit/sessions/charts", "h1", "charts"},
		{"/users", "[data-testid=new-user]", "users"},
		{"/groups", "h1", "groups"},
		{"/roles", "h1", "roles"},
		{"/auth-methods", "h1", "auth methods"},
		{"/scopes/global", "h1", "scopes"},
	} {
		visit(t, ctx, base, p.path, p.sel, p.name)
	}
	// A project's host catalogs and one catalog (reached from Projects).
	browsertest.Navigate(t, ctx, base+"/admin/projects")
	browsertest.Click(t, ctx, `[data-testid=project-list] a[href$="/host-catalogs"]`)
	browsertest.WaitVisible(t, ctx, `main a[href^="/host-catalogs/"]`)
	checkPage(t, ctx, "host catalogs")
	browsertest.Click(t, ctx, `main a[href^="/host-catalogs/"]`)
	browsertest.WaitVisible(t, ctx, "h1")
	checkPage(t, ctx, "host catalog")
}

// crawlScript walks every same-site link reachable from Home as the
// logged-in person (fetch with their cookie, redirects followed), at most
// 400 pages, and returns the visited count and every link that did not
// answer 2xx (or ended on the login page).
const crawlScript = `(async () => {
	const skip = k => k.startsWith("/static/") || k.startsWith("/dev-idp") || k.startsWith("/logout") || k.startsWith("/sessions/events");
	const seen = new Set(["/"]), queue = [["/", "(start)"]], bad = [];
	let visited = 0;
	while (queue.length && visited < 400) {
		const [path, from] = queue.shift();
		visited++;
		const r = await fetch(path, {credentials: "same-origin"});
		const landed = new URL(r.url);
		if (r.status < 200 || r.status > 299 || landed.pathname === "/login") {
			bad.push(path + " -> " + r.status + " (linked from " + from + ")");
			continue;
		}
		if (!(r.headers.get("content-type") || "").startsWith("text/html")) continue;
		const doc = new DOMParser().parseFromString(await r.text(), "text/html");
		for (const a of doc.querySelectorAll("a[href]")) {
			const u = new URL(a.getAttribute("href"), location.origin + path);
			if (u.origin !== location.origin) continue;
			const k = u.pathname + u.search;
			if (skip(k) || seen.has(k)) continue;
			seen.add(k);
			queue.push([k, path]);
		}
	}
	return {visited, bad, left: queue.length};
})()`

// TestCrawlAsEachSeededUser: as admin, alice and bob (the dev seeds), every
// link on every page they can reach answers 2xx: no link leads to a 404 or
// 403 the app made for that person.
func TestCrawlAsEachSeededUser(t *testing.T) {
	base, _ := startDev(t, t.TempDir())
	for _, user := range []string{"admin", "alice", "bob"} {
		t.Run(user, func(t *testing.T) {
			ctx := browsertest.New(t)
			loginThroughDevProvider(t, ctx, base, user)
			// Something to link to: a session of the person's own (alice).
			if user == "alice" {
				browsertest.Navigate(t, ctx, base+"/")
				browsertest.Click(t, ctx, `[data-testid=home-targets] li:first-child [data-testid=start-session]`)
				browsertest.WaitVisible(t, ctx, "[data-testid=session-token]")
			}
			browsertest.Navigate(t, ctx, base+"/")
			got := browsertest.EvalAwait[struct {
				Visited, Left int
				Bad           []string
			}](t, ctx, crawlScript)
			t.Logf("%s: %d pages visited", user, got.Visited)
			if got.Visited < 5 || got.Left > 0 {
				t.Errorf("crawl visited %d pages, %d left", got.Visited, got.Left)
			}
			for _, b := range got.Bad {
				t.Errorf("link: %s", b)
			}
		})
	}
}

// TestJourneySessionLists: the administrator filters All sessions and
// Session history through the one shared filter (the same fields, words
// and messages next to the fields; "Clear filters"; htmx swaps form and
// results and pushes the URL), sorts Session history and My sessions by
// their column headers (aria-sort on the sorted one, the filter kept), and
// asks "Why can't I?" by name; bob, who may see no one, is told to ask an
// administrator and given the operator's access help.
func TestJourneySessionLists(t *testing.T) {
	base, _ := startDev(t, t.TempDir())
	ctx := browsertest.New(t)
	browsertest.FailOnConsoleErrors(t, ctx, "status of 422") // bad filters answer 422, on purpose
	loginThroughDevProvider(t, ctx, base, "admin")

	// A session of the admin's own, for the lists.
	browsertest.Navigate(t, ctx, base+"/targets")
	browsertest.Click(t, ctx, `[data-testid=my-target-list] [data-testid=start-session]`)
	browsertest.WaitVisible(t, ctx, "[data-testid=session-token]")

	// Bad filters: the same message next to the same field on both lists.
	messages := map[string]string{}
	for _, list := range []string{"/admin/sessions", "/audit/sessions"} {
		browsertest.Navigate(t, ctx, base+list+"?from=notadate&state=asleep&user=adm")
		browsertest.WaitVisible(t, ctx, "[data-testid=form-error]")
		for _, field := range []string{"from", "state"} {
			got := browsertest.Text(t, ctx, "[data-testid="+field+"-error]")
			if prev, ok := messages[field]; ok && prev != got {
				t.Errorf("%s on %s says %q, the other list %q", field, list, got, prev)
			}
			messages[field] = got
			if v, _ := browsertest.Attr(t, ctx, "#"+field, "aria-invalid"); v != "true" {
				t.Errorf("%s on %s is not aria-invalid", field, list)
			}
		}
		if got := browsertest.Value(t, ctx, "#user"); got != "adm" {
			t.Errorf("user on %s after a refusal = %q", list, got)
		}
		checkPage(t, ctx, list+" with bad filters")
		browsertest.Click(t, ctx, "[data-testid=clear-filters]")
		browsertest.WaitGone(t, ctx, "[data-testid=form-error]")
		if got := browsertest.Location(t, ctx); got != base+list {
			t.Errorf("clear filters went to %s", got)
		}
	}
	if messages["from"] != models.MsgFilterDate {
		t.Errorf("date message = %q", messages["from"])
	}

	// Filtering with htmx: the state choice swaps the results and the URL.
	browsertest.Navigate(t, ctx, base+"/admin/sessions")
	browsertest.WaitVisible(t, ctx, "[data-testid=session-list]")
	// Text, as in Session history: nothing, then the session on echo.
	browsertest.Fill(t, ctx, "#q", "no-such-text")
	browsertest.Click(t, ctx, "[data-testid=apply-filters]")
	browsertest.WaitVisible(t, ctx, "[data-testid=empty]")
	browsertest.Fill(t, ctx, "#q", "CHO")
	browsertest.Click(t, ctx, "[data-testid=apply-filters]")
	browsertest.WaitVisible(t, ctx, "[data-testid=session-list]")
	if loc := browsertest.Location(t, ctx); !strings.Contains(loc, "q=CHO") {
		t.Errorf("text filter URL = %s", loc)
	}
	browsertest.Fill(t, ctx, "#q", "")
	browsertest.Select(t, ctx, "#state", "terminated")
	browsertest.Click(t, ctx, "[data-testid=apply-filters]")
	browsertest.WaitVisible(t, ctx, "[data-testid=empty]")
	if got := browsertest.WaitLocation(t, ctx, base+"/admin/sessions?"); !strings.Contains(got, "state=terminated") {
		t.Errorf("filtered URL = %s", got)
	}
	browsertest.Select(t, ctx, "#state", "live")
	browsertest.Click(t, ctx, "[data-testid=apply-filters]")
	browsertest.WaitVisible(t, ctx, "[data-testid=session-list]")
	// The swap replaced the button that had the focus: it is given back.
	browsertest.WaitVisible(t, ctx, "[data-testid=apply-filters]:focus")
	assertTableFits(t, ctx, "[data-testid=live-sessions] .table-wrap", "all sessions")
	checkPage(t, ctx, "all sessions filtered")

	// A wrong range through htmx (422 swapped): the message is next to
	// "To" and the error summary takes the focus.
	browsertest.Navigate(t, ctx, base+"/audit/sessions")
	browsertest.WaitVisible(t, ctx, "[data-testid=history-list]")
	// (Set as the picker would: typed keys follow the locale's order.)
	browsertest.Eval[string](t, ctx, `document.querySelector("#from").value = "2026-03-02"`)
	browsertest.Eval[string](t, ctx, `document.querySelector("#to").value = "2026-03-01"`)
	browsertest.Click(t, ctx, "[data-testid=apply-filters]")
	browsertest.WaitVisible(t, ctx, "[data-error-summary]:focus")
	if got := browsertest.Text(t, ctx, "[data-testid=to-error]"); got != models.MsgFilterRange {
		t.Errorf("range message = %q", got)
	}

	// Sorting Session history by its headers keeps the filter.
	browsertest.Navigate(t, ctx, base+"/audit/sessions?state=live")
	browsertest.WaitVisible(t, ctx, "[data-testid=history-list]")
	if v, _ := browsertest.Attr(t, ctx, "th:has([data-testid=sort--started])", "aria-sort"); v != "descending" {
		t.Errorf("history's default sort: aria-sort %q on Started", v)
	}
	for _, want := range []string{"ascending", "descending"} {
		browsertest.Click(t, ctx, "[data-testid=sort-user]")
		browsertest.WaitVisible(t, ctx, "[data-testid=history-list]")
		if v, _ := browsertest.Attr(t, ctx, "th:has([data-testid=sort-user])", "aria-sort"); v != want {
			t.Errorf("history by user: aria-sort %q, want %q", v, want)
		}
		if loc := browsertest.Location(t, ctx); !strings.Contains(loc, "state=live") {
			t.Errorf("sorting dropped the filter: %s", loc)
		}
	}
	assertTableFits(t, ctx, "#results .table-wrap", "session history")
	checkPage(t, ctx, "session history sorted")

	browsertest.Navigate(t, ctx, base+"/sessions")
	browsertest.WaitVisible(t, ctx, "[data-testid=session-list]")
	browsertest.Click(t, ctx, "[data-testid=sort-target]")
	browsertest.WaitVisible(t, ctx, "[data-testid=session-list]")
	if v, _ := browsertest.Attr(t, ctx, "th:has([data-testid=sort-target])", "aria-sort"); v != "ascending" {
		t.Errorf("my sessions by target: aria-sort %q", v)
	}
	// On phones the headers are hidden (cards): a small form sorts.
	if got := browsertest.Value(t, ctx, "[data-testid=my-sessions-sort] #sort"); got != "target" {
		t.Errorf("my sessions' sort choice = %q", got)
	}
	assertTableFits(t, ctx, "[data-testid=live-sessions] .table-wrap", "my sessions")
	checkPage(t, ctx, "my sessions sorted")

	// "Why can't I?" by name.
	browsertest.Navigate(t, ctx, base+"/explain")
	browsertest.Fill(t, ctx, "#resource", "ECHO")
	browsertest.Click(t, ctx, "[data-testid=explain]")
	browsertest.WaitVisible(t, ctx, "[data-testid=explain-subject]")
	if got := browsertest.Text(t, ctx, "[data-testid=explain-subject]"); !strings.Contains(got, "echo") {
		t.Errorf("explained %q", got)
	}
	checkPage(t, ctx, "why cant i by name")

	ctx = browsertest.New(t)
	browsertest.FailOnConsoleErrors(t, ctx, "status of 422")
	loginThroughDevProvider(t, ctx, base, "bob")
	// bob may only request access to echo: its explanation names no one he
	// cannot see, and tells him whom to ask.
	visit(t, ctx, base, "/explain?resource=echo", "[data-testid=explain-help]", "why cant i by name without access")
	if got := browsertest.Text(t, ctx, "[data-testid=explain-help] [data-testid=helpers]"); !strings.Contains(got, "Ask an administrator") {
		t.Errorf("bob is told %q", got)
	}
	if got := browsertest.Text(t, ctx, "[data-testid=explain-help] [data-testid=access-help]"); !strings.Contains(got, "log in as admin") {
		t.Errorf("bob's access help = %q", got)
	}
	// He may start no session: said plainly, with whom to ask.
	if got := browsertest.Text(t, ctx, "[data-testid=explain-summary]"); !strings.Contains(got, "No role gives you authorize-session") ||
		!strings.Contains(got, "Roles are given by the administrators") || !strings.Contains(got, "log in as admin") {
		t.Errorf("bob's summary = %q", got)
	}
	visit(t, ctx, base, "/explain?resource=nothing-like-this", "[data-testid=resource-error]", "why cant i unknown name")
}

// assertTableFits checks, at the current width, that the table in the
// wrapper sel needs no sideways scrolling of its own (its row actions are
// in view).
func assertTableFits(t *testing.T, ctx context.Context, sel, what string) {
	t.Helper()
	if !browsertest.Eval[bool](t, ctx, `(() => { const w = document.querySelector(`+strconv.Quote(sel)+`); return !!w && w.scrollWidth <= w.clientWidth })()`) {
		t.Errorf("%s: the table scrolls sideways at %s", what, browsertest.Eval[string](t, ctx, `innerWidth + " px"`))
	}
}
