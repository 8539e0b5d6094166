package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/text/language"

	"gatehouse/browsertest"
	"gatehouse/dbtest"
	"gatehouse/models"
)

var devURL = regexp.MustCompile(`Gatehouse \(dev\) is running at (http://\S+)`)

func startDev(t *testing.T, dataDir string) (string, func()) {
	a := launchUntil(t, nil, devURL, "dev", "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	return a.URL, func() { a.Stop(t) }
}

// loginThroughDevProvider clicks "Log in with Dev provider" and signs in at
// the dev provider's form.
func loginThroughDevProvider(t *testing.T, ctx context.Context, base, user string) {
	t.Helper()
	browsertest.Navigate(t, ctx, base+"/login")
	browsertest.WaitText(t, ctx, "a.provider-btn", "Log in with Dev provider")
	browsertest.Click(t, ctx, "a.provider-btn")
	browsertest.Fill(t, ctx, "#username", user)
	browsertest.Fill(t, ctx, "#password", "password")
	browsertest.Click(t, ctx, "[data-testid=login-form] button[type=submit]")
	browsertest.WaitVisible(t, ctx, "[data-testid=current-user]")
}

func TestDevServesDevProviderAndAliceLogsIn(t *testing.T) {
	dataDir := t.TempDir()
	base, _ := startDev(t, dataDir)
	resp, err := http.Get(base + "/dev-idp/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"issuer":"`+base+`/dev-idp"`) {
		t.Fatalf("dev discovery: %d %s", resp.StatusCode, body)
	}

	ctx := browsertest.New(t)
	loginThroughDevProvider(t, ctx, base, "alice")
	if got := browsertest.Text(t, ctx, "[data-testid=current-user]"); got != "Alice Example" {
		t.Errorf("logged in as %q", got)
	}
	browsertest.Navigate(t, ctx, base+"/account")
	browsertest.WaitText(t, ctx, "[data-testid=managed-groups]", "SRE")
	browsertest.WaitText(t, ctx, "[data-testid=account-list]", "Dev provider")
	// The dev seeds give the SRE managed group (alice) the dev targets.
	browsertest.Navigate(t, ctx, base+"/targets")
	browsertest.WaitText(t, ctx, "[data-testid=my-target-list]", "echo")
	browsertest.WaitText(t, ctx, "[data-testid=my-target-list]", "postgres-local")
	browsertest.Click(t, ctx, "[data-testid=logout]")
	browsertest.WaitVisible(t, ctx, "[data-testid=password-login]")

	// bob is in no group: he may start nothing; echo is his only to request
	// (the dev seeds), and Home says how to get access.
	loginThroughDevProvider(t, ctx, base, "bob")
	browsertest.Navigate(t, ctx, base+"/")
	browsertest.WaitVisible(t, ctx, "[data-testid=no-access]")
	browsertest.Navigate(t, ctx, base+"/targets")
	browsertest.WaitText(t, ctx, "[data-testid=my-target-list]", "Request access")
	if browsertest.Exists(t, ctx, "[data-testid=start-session]") {
		t.Error("bob may start a session")
	}
	browsertest.Click(t, ctx, "[data-testid=logout]")
	browsertest.WaitVisible(t, ctx, "[data-testid=password-login]")

	// The dev provider's admin is the bootstrap administrator.
	loginThroughDevProvider(t, ctx, base, "admin")
	browsertest.Navigate(t, ctx, base+"/auth-methods")
	browsertest.WaitText(t, ctx, "[data-testid=auth-method-list]", "Dev provider")
}

func TestDevProviderFollowsPortChanges(t *testing.T) {
	dataDir := t.TempDir()
	ctx := browsertest.New(t)
	for i := 0; i < 2; i++ { // two runs, each on a new port 0 address
		base, stop := startDev(t, dataDir)
		loginThroughDevProvider(t, ctx, base, "alice")
		browsertest.Navigate(t, ctx, base+"/account")
		browsertest.WaitText(t, ctx, "[data-testid=managed-groups]", "SRE")
		browsertest.Click(t, ctx, "[data-testid=logout]")
		browsertest.WaitVisible(t, ctx, "[data-testid=password-login]")
		stop()
	}
	db, _, err := models.OpenDB(context.Background(), filepath.Join(dataDir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	var users, methods int64
	db.Table("users").Where("full_name = ?", "Alice Example").Count(&users)
	db.Table("auth_methods").Where("type = 'oidc'").Count(&methods)
	if users != 1 || methods != 1 {
		t.Errorf("after two runs on two ports: %d alice users, %d oidc methods; want 1 and 1", users, methods)
	}
}

func TestServeDoesNotMountDevProvider(t *testing.T) {
	env := serveEnvOnFreePort(t, filepath.Join(t.TempDir(), "g.db"))
	base := launchUntil(t, env, regexp.MustCompile(`listening on (http://\S+)`), "serve").URL
	for _, p := range []string{"/dev-idp/.well-known/openid-configuration", "/dev-idp/keys", "/dev-idp/login"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("serve: GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
	resp, err := http.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "Dev provider") {
		t.Error("serve's login page offers the dev provider")
	}
}

// exampleUsers is a UserStore for zitadel's example OP whose people can
// change between logins (its own store is fixed).
type exampleUsers struct {
	mu    sync.Mutex
	users map[string]*storage.User
}

func (u *exampleUsers) GetUserByID(id string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	if x, ok := u.users[id]; ok {
		c := *x
		return &c
	}
	return nil
}

func (u *exampleUsers) GetUserByUsername(name string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, x := range u.users {
		if x.Username == name {
			c := *x
			return &c
		}
	}
	return nil
}

func (u *exampleUsers) ExampleClientID() string { return "service" }

func (u *exampleUsers) setEmail(id, email string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.users[id].Email = email
}

// startExampleOP runs zitadel's example OpenID provider on its own listener
// (its login form posts to /login/username, so it must own the root).
func startExampleOP(t *testing.T, users *exampleUsers) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	// A nil logger keeps exampleop from replacing the global slog logger.
	router := exampleop.SetupServer(issuer, storage.NewStorage(users), nil, false)
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return issuer
}

var serveAdmin = regexp.MustCompile(`Log in as "admin" with password "([^"]+)"`)

// TestExampleOPLoginsAndManagedGroups: an admin adds a certified example
// OpenID provider through the admin pages, with a managed group; Jane logs
// in through it in Chromium (user and account created, then refreshed), on
// both databases.
func TestExampleOPLoginsAndManagedGroups(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) { exampleOPLoginsAndManagedGroups(t, d) })
	}
}

func exampleOPLoginsAndManagedGroups(t *testing.T, d models.Dialect) {
	users := &exampleUsers{users: map[string]*storage.User{"jane-1": {ID: "jane-1", Username: "jane", Password: "verysecure",
		FirstName: "Jane", LastName: "Doe", Email: "jane@corp.example", EmailVerified: true, PreferredLanguage: language.English}}}
	issuer := startExampleOP(t, users)

	dbPath := dbtest.NewDatabaseURL(t, d)
	env := serveEnvOnFreePort(t, dbPath)
	app := launchUntil(t, env, regexp.MustCompile(`listening on (http://\S+)`), "serve")
	base, stdout := app.URL, app.Out
	adminPassword := serveAdmin.FindStringSubmatch(stdout.String())[1]
	// One client id per test: exampleop keeps clients in a package-global map.
	clientID := "gatehouse-browser-test-" + string(d)
	storage.RegisterClients(storage.WebClient(clientID, "example-secret", base+"/auth/oidc/callback"))

	ctx := browsertest.New(t)
	// Expected failed loads: the 422 of a refused form, the example OP's
	// missing favicon and its end_session refusing our (unregistrable)
	// post_logout_redirect_uri, and Jane's 404 on an admin page.
	browsertest.FailOnConsoleErrors(t, ctx, "status of 422", "favicon.ico", "/end_session?", "/managed-groups/")
	// The admin adds the provider through the admin pages.
	browsertest.Navigate(t, ctx, base+"/login")
	browsertest.Fill(t, ctx, "#login_name", "admin")
	browsertest.Fill(t, ctx, "#password", adminPassword)
	browsertest.Click(t, ctx, "[data-testid=login-submit]")
	browsertest.WaitVisible(t, ctx, "[data-testid=current-user]")
	browsertest.Navigate(t, ctx, base+"/auth-methods/new")
	browsertest.Fill(t, ctx, "#name", "Example OP")
	browsertest.Fill(t, ctx, "#issuer", issuer)
	browsertest.Fill(t, ctx, "#client_id", clientID)
	browsertest.Fill(t, ctx, "#client_secret", "example-secret")
	browsertest.Click(t, ctx, "#primary")
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=auth-method-name]", "Example OP")
	if got := browsertest.Text(t, ctx, "[data-testid=callback-url]"); got != base+"/auth/oidc/callback" {
		t.Errorf("callback URL shown = %q", got)
	}
	browsertest.WaitText(t, ctx, "[data-testid=client-secret]", "stored (never shown)")
	browsertest.Select(t, ctx, "#state", models.StateActivePublic)
	browsertest.Click(t, ctx, "[data-testid=change-state]")
	browsertest.WaitText(t, ctx, "[data-testid=flash]", "Saved.")
	browsertest.WaitText(t, ctx, "dl.props [data-testid=state]", models.StateActivePublic)

	// A managed group; a filter that does not parse is explained.
	browsertest.Click(t, ctx, "[data-testid=new-managed-group]")
	browsertest.Fill(t, ctx, "#name", "Corp mail")
	// (chromedp's Fill cannot Clear a textarea; set its value directly.)
	browsertest.Eval[any](t, ctx, `document.querySelector("#filter").value = 'email matches'`)
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=filter-error]", "The filter does not parse")
	browsertest.Eval[any](t, ctx, `document.querySelector("#filter").value = 'email matches "@corp\\\\.example$"'`)
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=managed-group-name]", "Corp mail")
	browsertest.WaitVisible(t, ctx, "[data-testid=no-members]")
	groupURL := browsertest.Location(t, ctx)
	browsertest.Click(t, ctx, "[data-testid=logout]")
	browsertest.WaitVisible(t, ctx, "[data-testid=password-login]")

	login := func() {
		t.Helper()
		browsertest.Navigate(t, ctx, base+"/login")
		browsertest.WaitText(t, ctx, "a.provider-btn", "Log in with Example OP")
		browsertest.Click(t, ctx, "a.provider-btn")
		browsertest.Fill(t, ctx, "#username", "jane")
		browsertest.Fill(t, ctx, "#password", "verysecure")
		browsertest.Click(t, ctx, "button[type=submit]")
		browsertest.WaitText(t, ctx, "[data-testid=current-user]", "Jane Doe")
	}
	countJane := func() (users, accounts int64) {
		db, _, err := models.OpenDB(context.Background(), dbPath)
		if err != nil {
			t.Fatal(err)
		}
		sqlDB, _ := db.DB()
		defer sqlDB.Close()
		db.Table("users").Where("full_name = ?", "Jane Doe").Count(&users)
		db.Table("accounts").Where("issuer = ? AND subject = ?", issuer, "jane-1").Count(&accounts)
		return users, accounts
	}

	// First login creates Jane, in the managed group.
	login()
	browsertest.Navigate(t, ctx, base+"/account")
	browsertest.WaitText(t, ctx, "[data-testid=managed-groups]", "Corp mail")
	browsertest.WaitText(t, ctx, "[data-testid=account-list]", "jane@corp.example")
	if u, a := countJane(); u != 1 || a != 1 {
		t.Fatalf("after first login: %d users, %d accounts", u, a)
	}

	// Logout ends the Gatehouse login and goes on to the provider's end
	// session endpoint.
	logout := func() {
		t.Helper()
		browsertest.Click(t, ctx, "[data-testid=logout]")
		browsertest.WaitLocation(t, ctx, issuer+"/end_session")
	}
	logout()
	browsertest.Navigate(t, ctx, base+"/account")
	browsertest.WaitVisible(t, ctx, "[data-testid=password-login]")

	// The claim changes at the provider: the second login reuses Jane and
	// moves her out of the group.
	users.setEmail("jane-1", "jane@elsewhere.example")
	login()
	browsertest.Navigate(t, ctx, base+"/account")
	browsertest.WaitVisible(t, ctx, "[data-testid=no-managed-groups]")
	browsertest.WaitText(t, ctx, "[data-testid=account-list]", "jane@elsewhere.example")
	if u, a := countJane(); u != 1 || a != 1 {
		t.Errorf("after second login: %d users, %d accounts", u, a)
	}
	// And back in.
	logout()
	users.setEmail("jane-1", "jane@corp.example")
	login()
	browsertest.Navigate(t, ctx, base+"/account")
	browsertest.WaitText(t, ctx, "[data-testid=managed-groups]", "Corp mail")
	// Jane is no administrator: the admin pages do not show her anything.
	browsertest.Navigate(t, ctx, groupURL)
	browsertest.WaitText(t, ctx, "[data-testid=error-page]", "Not found")
}
