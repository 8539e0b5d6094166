package main

import (
	"context"
	"regexp"
	"testing"

	"gatehouse/browsertest"
	"gatehouse/dbtest"
	"gatehouse/migrations"
	"gatehouse/models"
)

// seedSessionWorld prepares a SQLite database for `serve`: the bootstrap
// admin, alice (password login) allowed to start sessions on the target
// "echo" of project Acme / Lab.
func seedSessionWorld(t testing.TB, dbPath string, rootKey []byte) {
	t.Helper()
	ctx := context.Background()
	db, dialect, err := models.OpenDB(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	if _, err := migrations.Up(ctx, sqlDB, string(dialect)); err != nil {
		t.Fatal(err)
	}
	crypter, err := models.NewCrypter(rootKey)
	if err != nil {
		t.Fatal(err)
	}
	p := dbtest.FastPasswords
	store := models.NewStore(db, dialect, models.Options{Crypter: crypter, PasswordParams: &p})
	boot, err := store.Bootstrap(ctx, models.BootstrapOptions{AdminLoginName: "admin", AdminPassword: "password"})
	if err != nil {
		t.Fatal(err)
	}
	admin := dbtest.Login(t, store, boot.AuthMethodID, "admin", "password")
	alice, err := store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "alice", FullName: "Alice", LoginName: "alice", Password: "alice-password"})
	must(t, err)
	org, err := store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: "Acme"})
	must(t, err)
	proj, err := store.CreateScope(ctx, admin, org.ID, models.ScopeInput{Name: "Lab"})
	must(t, err)
	_, err = store.CreateTarget(ctx, admin, proj.ID, models.TargetInput{Name: "echo", DefaultPort: 7, Address: "127.0.0.1",
		SessionMaxSeconds: 3600, SessionConnectionLimit: models.UnlimitedConnections})
	must(t, err)
	role, err := store.CreateRole(ctx, admin, proj.ID, models.RoleInput{Name: "connect"})
	must(t, err)
	must(t, store.SetRoleGrants(ctx, admin, role.ID, role.Version, []string{"ids=*;type=target;actions=read,authorize-session"}))
	must(t, store.AddRolePrincipals(ctx, admin, role.ID, []string{alice.ID}))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestBrowserSessionLifecycle: alice starts a session from My targets, sees
// it pending with a live countdown, cancels it, and sees "terminated /
// canceled" arrive over Server-Sent Events, without any reload.
func TestBrowserSessionLifecycle(t *testing.T) {
	app := newProxyWorldEnv(t, models.SQLite, 1, map[string]string{"GATEHOUSE_LOG_FORMAT": "text"}).Apps[0]

	ctx := browsertest.New(t)
	browsertest.HandleDialogs(t, ctx, true) // "End the session on echo?"
	browsertest.FailOnConsoleErrors(t, ctx)
	browserStartAsAlice(t, ctx, app.URL)
	if tok := browsertest.Text(t, ctx, `[data-testid="session-token"]`); len(tok) < 40 {
		t.Fatalf("token shown once = %q", tok)
	}
	// The countdown ticks client-side.
	left := browsertest.WaitText(t, ctx, `[data-testid="countdown"]`, "m ")
	if !regexp.MustCompile(`^\d+m \d\ds$`).MatchString(left) {
		t.Fatalf("countdown = %q", left)
	}
	// Wait for the event stream, then mark the document to prove no reload.
	browsertest.Eval[bool](t, ctx, `window.__noReload = true`)
	waitSSEOpen(t, ctx)
	browsertest.Click(t, ctx, `[data-testid="live-session"] [data-testid="cancel-session"]`)
	browsertest.WaitText(t, ctx, `[data-testid="live-session"] [data-testid="state"]`, "terminated / canceled")
	if !browsertest.Eval[bool](t, ctx, `window.__noReload === true`) {
		t.Fatal("the page was reloaded")
	}
	if browsertest.Exists(t, ctx, `[data-testid="live-session"] [data-testid="cancel-session"]`) {
		t.Fatal("a terminated session offers no cancel")
	}
	browsertest.WaitVisible(t, ctx, `[data-testid="history-terminated"]`)
	// The token card went away with the session, live: "Session ended".
	browsertest.WaitVisible(t, ctx, `[data-testid="session-ended"]`)
	if browsertest.Exists(t, ctx, `[data-testid="session-token"]`) || browsertest.Exists(t, ctx, `[data-testid="countdown"]`) {
		t.Fatal("the ended session still shows its token or a countdown")
	}

	// The start page answered a POST, but the address bar names the session:
	// a reload shows it again (without its token) instead of starting another.
	loc := browsertest.Location(t, ctx)
	if !regexp.MustCompile(`/sessions/s_[A-Za-z0-9]+$`).MatchString(loc) {
		t.Fatalf("address after starting = %s", loc)
	}
	browsertest.Eval[bool](t, ctx, `(location.reload(), true)`)
	browsertest.WaitVisible(t, ctx, `[data-testid="session-ended"]`)
	browsertest.Navigate(t, ctx, app.URL+"/sessions")
	if n := browsertest.Count(t, ctx, `[data-testid="session-list"] tbody tr[data-testid^="session-row-"]`); n != 1 {
		t.Fatalf("sessions after a reload of the start page: %d, want 1", n)
	}

	browsertest.Navigate(t, ctx, app.URL+"/sessions")
	browsertest.WaitText(t, ctx, `[data-testid="session-list"] [data-testid="state"]`, "terminated / canceled")
	if got := browsertest.Text(t, ctx, `[data-testid="session-list"] [data-testid="col-target"]`); got != "echo" {
		t.Fatalf("target column = %q", got)
	}
}

// browserStartAsAlice logs alice in and starts a session on echo from My
// targets, leaving the browser on the new session's page (pending), and
// returns the session's id.
func browserStartAsAlice(t testing.TB, ctx context.Context, baseURL string) string {
	t.Helper()
	browsertest.Navigate(t, ctx, baseURL+"/login")
	browsertest.Fill(t, ctx, "#login_name", "alice")
	browsertest.Fill(t, ctx, "#password", "alice-password")
	browsertest.Click(t, ctx, `[data-testid="login-submit"]`)
	browsertest.WaitText(t, ctx, `[data-testid="current-user"]`, "Alice")

	browsertest.Navigate(t, ctx, baseURL+"/targets")
	browsertest.Click(t, ctx, `[data-testid="my-target-list"] [data-testid="start-session"]`)
	browsertest.WaitText(t, ctx, `[data-testid="state"]`, "pending")
	m := regexp.MustCompile(`/sessions/(s_[A-Za-z0-9]+)$`).FindStringSubmatch(browsertest.Location(t, ctx))
	if m == nil {
		t.Fatalf("address after starting = %s", browsertest.Location(t, ctx))
	}
	return m[1]
}

// TestBrowserMySessionsLiveRow: on My sessions, alice's new session's row
// shows pending with a ticking countdown; she cancels it from the row and
// the row turns "terminated / canceled" over Server-Sent Events, without a
// reload.
func TestBrowserMySessionsLiveRow(t *testing.T) {
	app := newProxyWorldEnv(t, models.SQLite, 1, map[string]string{"GATEHOUSE_LOG_FORMAT": "text"}).Apps[0]

	ctx := browsertest.New(t)
	browsertest.HandleDialogs(t, ctx, true) // "End the session on echo?"
	browsertest.FailOnConsoleErrors(t, ctx)
	id := browserStartAsAlice(t, ctx, app.URL)

	browsertest.Navigate(t, ctx, app.URL+"/sessions")
	row := `[data-testid="live-sessions"] [data-testid="session-row-` + id + `"]`
	browsertest.WaitText(t, ctx, row+` [data-testid="state"]`, "pending")
	if got := browsertest.Text(t, ctx, row+` [data-testid="col-target"]`); got != "echo" {
		t.Fatalf("target column = %q", got)
	}
	// The row's countdown ticks client-side.
	left := browsertest.WaitText(t, ctx, row+` [data-testid="countdown"]`, "m ")
	if !regexp.MustCompile(`^\d+m \d\ds$`).MatchString(left) {
		t.Fatalf("countdown = %q", left)
	}
	// Wait for the event stream, then mark the document to prove no reload.
	browsertest.Eval[bool](t, ctx, `window.__noReload = true`)
	waitSSEOpen(t, ctx)
	browsertest.Click(t, ctx, row+` [data-testid="cancel-session"]`)
	browsertest.WaitText(t, ctx, row+` [data-testid="state"]`, "terminated / canceled")
	if !browsertest.Eval[bool](t, ctx, `window.__noReload === true`) {
		t.Fatal("the page was reloaded")
	}
	if loc := browsertest.Location(t, ctx); loc != app.URL+"/sessions" {
		t.Fatalf("address after cancel = %s", loc)
	}
	if browsertest.Exists(t, ctx, row+` [data-testid="cancel-session"]`) || browsertest.Exists(t, ctx, row+` [data-testid="countdown"]`) {
		t.Fatal("a terminated session's row offers no cancel and no countdown")
	}
}

// waitSSEOpen waits until every event stream of the page is open (the
// navigation's badge has one for approvers, besides the page's own).
func waitSSEOpen(t testing.TB, ctx context.Context) {
	t.Helper()
	const allOpen = `(function(){
		var els = document.querySelectorAll("[sse-connect]");
		if (els.length === 0) return false;
		for (var i = 0; i < els.length; i++) {
			var d = els[i]["htmx-internal-data"];
			if (!d || !d.sseEventSource || d.sseEventSource.readyState !== 1) return false;
		}
		return true;
	})()`
	browsertest.WaitVisible(t, ctx, "body")
	browsertest.WaitEval(t, ctx, allOpen, "the event streams open")
}
