package main

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/browsertest"
	"gatehouse/dbtest"
	"gatehouse/models"
)

// seedAccessWorld adds just-in-time access to a session world: bob (no
// role but request-access on the project's targets) and echo's settings
// (requests up to 1 hour, sessions extendable by 30 minutes). The
// bootstrap admin may approve (it may do anything).
func seedAccessWorld(t testing.TB, dbURL string) {
	t.Helper()
	ctx := context.Background()
	db, dialect, err := models.OpenDB(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	p := dbtest.FastPasswords
	store := models.NewStore(db, dialect, models.Options{PasswordParams: &p})
	var method, project, echo string
	must(t, db.Raw("SELECT id FROM auth_methods WHERE type = 'password' ORDER BY created_at LIMIT 1").Scan(&method).Error)
	must(t, db.Raw("SELECT id FROM scopes WHERE name = 'Lab'").Scan(&project).Error)
	must(t, db.Raw("SELECT id FROM targets WHERE name = 'echo'").Scan(&echo).Error)
	admin := dbtest.Login(t, store, method, "admin", "password")
	bob, err := store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "bob", FullName: "Bob", LoginName: "bob", Password: "bob-password"})
	must(t, err)
	role, err := store.CreateRole(ctx, admin, project, models.RoleInput{Name: "request"})
	must(t, err)
	must(t, store.SetRoleGrants(ctx, admin, role.ID, role.Version, []string{"ids=*;type=target;actions=read,request-access"}))
	must(t, store.AddRolePrincipals(ctx, admin, role.ID, []string{bob.ID}))
	_, err = store.UpdateTargetAccessSettings(ctx, admin, echo, models.AccessSettingsInput{RequestMax: "1h", ApprovalsRequired: "1",
		RequestTTL: "1h", ExtensionMax: "30m"})
	must(t, err)
}

func browserLogin(t testing.TB, ctx context.Context, base, name, password, shown string) {
	t.Helper()
	browsertest.Navigate(t, ctx, base+"/login")
	browsertest.Fill(t, ctx, "#login_name", name)
	browsertest.Fill(t, ctx, "#password", password)
	browsertest.Click(t, ctx, `[data-testid="login-submit"]`)
	browsertest.WaitText(t, ctx, `[data-testid="current-user"]`, shown)
}

// TestBrowserAccessRequestFlow: bob requests access to echo (a too long
// duration is refused next to the field); the admin, watching Access
// requests, sees it arrive live with the badge and approves; bob sees the
// outcome live (request page, Home), starts a session from My targets and
// relays bytes with `gatehouse connect`; the admin revokes and bob's
// connection is cut within a second, the session saying why. Then a
// denial and a request nobody decides (expired), both seen live by bob.
func TestBrowserAccessRequestFlow(t *testing.T) {
	w := newProxyWorldEnv(t, models.SQLite, 1, map[string]string{"GATEHOUSE_LOG_FORMAT": "text"})
	seedAccessWorld(t, w.DBURL)
	app := w.Apps[0]

	adm := browsertest.New(t)
	browsertest.FailOnConsoleErrors(t, adm, "status of 422")
	browserLogin(t, adm, app.URL, "admin", "password", "Administrator")
	browsertest.Navigate(t, adm, app.URL+"/access")
	browsertest.WaitVisible(t, adm, `[data-testid="to-decide-empty"]`)
	waitSSEOpen(t, adm)
	browsertest.Eval[bool](t, adm, `window.__noReload = true`)

	bob := browsertest.New(t)
	browsertest.FailOnConsoleErrors(t, bob, "status of 422")
	browserLogin(t, bob, app.URL, "bob", "bob-password", "Bob")
	browsertest.Navigate(t, bob, app.URL+"/targets")
	if browsertest.Exists(t, bob, `[data-testid="start-session"]`) {
		t.Fatal("bob may start a session before any grant")
	}
	browsertest.Click(t, bob, `[data-testid="request-access"]`)
	browsertest.WaitVisible(t, bob, `[data-testid="request-form"]`)
	checkPage(t, bob, "request-form")
	browsertest.Fill(t, bob, "#duration", "2h")
	browsertest.Fill(t, bob, "#reason", "deploy the fix")
	browsertest.Click(t, bob, `[data-testid="submit-request"]`)
	if got := browsertest.WaitText(t, bob, `[data-testid="duration-error"]`, "At most"); got != "At most 1 hour for echo." {
		t.Fatalf("duration message = %q", got)
	}
	if v, _ := browsertest.Attr(t, bob, "#duration", "aria-invalid"); v != "true" {
		t.Fatal("the duration field is not marked invalid")
	}
	checkPage(t, bob, "request-form-error")
	browsertest.Fill(t, bob, "#duration", "30m")
	browsertest.Click(t, bob, `[data-testid="submit-request"]`)
	browsertest.WaitText(t, bob, `[data-testid="request-state"]`, "waiting for approval")
	reqURL := browsertest.Location(t, bob)
	waitSSEOpen(t, bob)

	// The admin sees it arrive, live, with the badge.
	browsertest.WaitText(t, adm, `[data-testid="to-decide"] [data-testid="requester"]`, "Bob")
	browsertest.WaitText(t, adm, `[data-testid="access-badge"]`, "1")
	if !browsertest.Eval[bool](t, adm, `window.__noReload === true`) {
		t.Fatal("the admin's page was reloaded")
	}
	checkPage(t, adm, "access-requests")
	browsertest.Click(t, adm, `[data-testid="to-decide"] a[href^="/access/requests/"]`)
	browsertest.WaitVisible(t, adm, `[data-testid="decide"]`)
	waitSSEOpen(t, adm)
	checkPage(t, adm, "request-decide")
	browsertest.Fill(t, adm, "#comment", "go ahead")
	clickAndLoad(t, adm, `[data-testid="approve"]`)
	browsertest.WaitText(t, adm, `[data-testid="request-state"]`, "approved: access until")

	// Bob sees the outcome live, and on Home.
	browsertest.WaitText(t, bob, `[data-testid="request-state"]`, "approved: access until")
	browsertest.Navigate(t, bob, app.URL+"/")
	browsertest.WaitText(t, bob, `[data-testid="access-home"] [data-testid="request-state"]`, "approved")
	checkPage(t, bob, "home")
	browsertest.Navigate(t, bob, app.URL+"/targets")
	browsertest.WaitText(t, bob, `[data-testid="access-until"]`, "access until")
	checkPage(t, bob, "my-targets")
	browsertest.Click(t, bob, `[data-testid="my-target-list"] [data-testid="start-session"]`)
	tok := browsertest.WaitText(t, bob, `[data-testid="session-token"]`, "")
	m := regexp.MustCompile(`/sessions/(s_[A-Za-z0-9]+)$`).FindStringSubmatch(browsertest.Location(t, bob))
	if m == nil || len(tok) < 40 {
		t.Fatalf("session page %s, token %q", browsertest.Location(t, bob), tok)
	}
	sessionID := m[1]
	browsertest.WaitVisible(t, bob, `[data-testid="extend-form"]`)
	checkPage(t, bob, "session-extend")
	proc := startConnect(t, "--addr", app.URL, "--token", tok)
	conn, err := net.Dial("tcp", proc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	echoOnce(t, conn, "through a time-boxed grant")
	cut := cutWatch(conn)
	browsertest.Navigate(t, bob, app.URL+"/sessions/"+sessionID)
	waitSSEOpen(t, bob)

	// The admin revokes: bob's connection is cut within a second, and his
	// session page says why, live.
	browsertest.Navigate(t, adm, reqURL)
	waitSSEOpen(t, adm)
	browsertest.Fill(t, adm, `[data-testid="revoke"] textarea`, "incident closed")
	start := time.Now()
	clickAndLoad(t, adm, `[data-testid="revoke-grant"]`)
	select {
	case at := <-cut:
		t.Logf("connection cut %s after the revoke click", at.Sub(start))
		if at.Sub(start) > time.Second {
			t.Fatalf("the connection was cut %s after the revocation", at.Sub(start))
		}
	case <-time.After(time.Second):
		t.Fatal("the connection was not cut within a second of the revocation")
	}
	browsertest.WaitText(t, bob, `[data-testid="access-note"]`, "access grant revoked by Administrator: incident closed")
	browsertest.WaitText(t, bob, `[data-testid="live-session"] [data-testid="state"]`, "terminated")
	if err := proc.wait(t, 10*time.Second); err != nil || !strings.Contains(proc.Out.String(), "access grant revoked by Administrator") {
		t.Fatalf("connect: %v\n%s", err, proc.Out)
	}
	browsertest.WaitText(t, adm, `[data-testid="grant-revoked"]`, "revoked by Administrator")

	// A denial, seen live; the request arrives in the badge on any page.
	browsertest.Navigate(t, adm, app.URL+"/")
	waitSSEOpen(t, adm)
	browsertest.WaitText(t, adm, `[data-testid="access-badge-live"]`, "")
	deny := requestAs(t, bob, app.URL, "15m", "look at logs")
	browsertest.WaitText(t, adm, `[data-testid="access-badge"]`, "1")
	browsertest.Navigate(t, adm, deny)
	waitSSEOpen(t, adm)
	browsertest.Click(t, adm, `[data-testid="deny"]`) // no comment: refused next to the field
	browsertest.WaitText(t, adm, `[data-testid="comment-error"]`, "Comment is required")
	browsertest.Fill(t, adm, "#comment", "not today")
	browsertest.Click(t, adm, `[data-testid="deny"]`)
	browsertest.WaitText(t, adm, `[data-testid="request-state"]`, "denied")
	browsertest.WaitText(t, bob, `[data-testid="request-state"]`, "denied")
	browsertest.WaitText(t, bob, `[data-testid="decisions"]`, "not today")

	// A request nobody decides expires, seen live.
	exp := requestAs(t, bob, app.URL, "15m", "later maybe")
	w.exec(t, "UPDATE access_requests SET expires_at = ? WHERE id = ?", time.Now().UTC().Add(-time.Second), exp[strings.LastIndex(exp, "/")+1:])
	browsertest.WaitText(t, bob, `[data-testid="request-state"]`, "expired")

	// The history shows it all, and exports it.
	browsertest.Navigate(t, adm, app.URL+"/access/history")
	browsertest.WaitVisible(t, adm, `[data-testid="access-row-revoked"]`)
	for _, kind := range []string{"requested", "approved", "granted", "session-started", "denied", "expired"} {
		if !browsertest.Exists(t, adm, `[data-testid="access-row-`+kind+`"]`) {
			t.Errorf("history lacks %s", kind)
		}
	}
	checkPage(t, adm, "access-history")
	browsertest.Navigate(t, adm, app.URL+"/audit/sessions/"+sessionID)
	browsertest.WaitVisible(t, adm, `[data-testid="access-event-revoked"]`)
	checkPage(t, adm, "audit-record")
	c := client(t)
	loginAs(t, c, app.URL, "admin", "password")
	csv := get(t, c, app.URL+"/access/history.csv?kind=revoked")
	if csv.Status != http.StatusOK || !strings.HasPrefix(csv.Body, "id,at,kind,") || strings.Count(csv.Body, ",revoked,") != 1 {
		t.Fatalf("CSV export: %d\n%s", csv.Status, csv.Body)
	}
	jl := get(t, c, app.URL+"/access/history.jsonl?target=echo")
	if jl.Status != http.StatusOK || strings.Count(jl.Body, "\n") < 9 || !strings.Contains(jl.Body, `"kind":"session-started"`) {
		t.Fatalf("JSON lines export: %d\n%s", jl.Status, jl.Body)
	}
	var echoID string
	if m := regexp.MustCompile(`/targets/(ttcp_[A-Za-z0-9]+)/`).FindStringSubmatch(get(t, c, app.URL+"/targets").Body); m != nil {
		echoID = m[1]
	}
	browsertest.Navigate(t, adm, app.URL+"/targets/"+echoID+"/access")
	browsertest.WaitVisible(t, adm, `[data-testid="access-settings"]`)
	checkPage(t, adm, "access-settings")
}

// requestAs makes a request as the browser's user (on echo) and leaves the
// browser on its page, event stream open; it returns the page's address.
func requestAs(t testing.TB, ctx context.Context, base, dur, reason string) string {
	t.Helper()
	browsertest.Navigate(t, ctx, base+"/targets")
	browsertest.Click(t, ctx, `[data-testid="request-access"]`)
	browsertest.Fill(t, ctx, "#duration", dur)
	browsertest.Fill(t, ctx, "#reason", reason)
	browsertest.Click(t, ctx, `[data-testid="submit-request"]`)
	browsertest.WaitText(t, ctx, `[data-testid="request-state"]`, "waiting for approval")
	waitSSEOpen(t, ctx)
	return browsertest.Location(t, ctx)
}

// clickAndLoad clicks a plain form's submit button and waits until the
// page it leads to (often the same address again) has loaded.
func clickAndLoad(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	browsertest.Eval[bool](t, ctx, `window.__beforeSubmit = true`)
	browsertest.Click(t, ctx, sel)
	// A form POST and the page it redirects to can take longer than one
	// helper's Timeout on a loaded machine: allow three.
	for deadline := time.Now().Add(3 * browsertest.Timeout); ; {
		if done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__beforeSubmit !== true && document.readyState === "complete"`)); err == nil && done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("clicking %s loaded no page: %s\n%s", sel, browsertest.Location(t, ctx), browsertest.HTML(t, ctx, "main"))
		}
		time.Sleep(20 * time.Millisecond) // polling the browser, not waiting for a clock
	}
}
