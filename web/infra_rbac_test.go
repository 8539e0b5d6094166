package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// grantRole makes a role in scopeID with grant scope this, the given grants
// and principal, failing the test on any error.
func grantRole(t *testing.T, store *models.Store, admin models.Actor, scopeID, principal string, grants ...string) {
	t.Helper()
	ctx := context.Background()
	role, err := store.CreateRole(ctx, admin, scopeID, models.RoleInput{Name: "role of " + principal + " in " + scopeID})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SetRoleGrants(ctx, admin, role.ID, role.Version, grants); err != nil {
		t.Fatal(err)
	}
	if err := store.AddRolePrincipals(ctx, admin, role.ID, []string{principal}); err != nil {
		t.Fatal(err)
	}
}

// newUser creates a password user named name (password "<name>-password-1").
// orgWithProjects creates the org "Acme" with projects of the given names;
// it returns the org and the projects in order.
func orgWithProjects(t *testing.T, store *models.Store, admin models.Actor, names ...string) (*models.Scope, []*models.Scope) {
	t.Helper()
	ctx := context.Background()
	org, err := store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	var projects []*models.Scope
	for _, n := range names {
		p, err := store.CreateScope(ctx, admin, org.ID, models.ScopeInput{Name: n})
		if err != nil {
			t.Fatal(err)
		}
		projects = append(projects, p)
	}
	return org, projects
}

func newUser(t *testing.T, store *models.Store, admin models.Actor, name string) string {
	t.Helper()
	u, err := store.CreateUser(context.Background(), admin, models.GlobalScopeID,
		models.UserInput{Name: name, LoginName: name, Password: name + "-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestInfraPagesWithoutScopeRead: the breadcrumbs of the infrastructure
// pages need only the scope names every user may see, not read on the
// project and its ancestors. Alice, with target list/read/authorize-session
// in one project (the dev seed's role), opens the target My targets links
// to; a project-level admin (every action, grant scope this, nothing in
// the org or global) opens the project's lists, forms and items; neither
// gains anything else.
func TestInfraPagesWithoutScopeRead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		app := newAppOn(t, store)
		_, ps := orgWithProjects(t, store, app.admin, "Prod", "Other")
		p, other := ps[0], ps[1]
		x := dbtest.SeedInfra(t, store, app.admin, p.ID, "alpha")
		y := dbtest.SeedInfra(t, store, app.admin, other.ID, "beta")
		grantRole(t, store, app.admin, p.ID, newUser(t, store, app.admin, "alice"), "ids=*;type=target;actions=list,read,authorize-session")
		grantRole(t, store, app.admin, p.ID, newUser(t, store, app.admin, "pat"), models.FullGrant)

		alice := app.login("alice", "alice-password-1")
		code, doc := alice.get("/targets")
		if code != http.StatusOK || byTestID(doc, "my-target-row-"+x.AddrTargetID) == nil {
			t.Fatalf("alice's My targets: %d %q", code, testIDText(doc, "my-target-list"))
		}
		if !strings.Contains(render(doc), `href="/targets/`+x.AddrTargetID+`"`) {
			t.Errorf("My targets does not link the target page")
		}
		for _, id := range []string{x.AddrTargetID, x.TargetID} {
			code, doc = alice.get("/targets/" + id)
			if code != http.StatusOK || !strings.HasPrefix(testIDText(doc, "target-name"), "alpha ") {
				t.Errorf("alice GET /targets/%s: %d %q, want 200 with its name", id, code, testIDText(doc, "target-name"))
			}
		}
		// Still nothing else: other types, writes, the project page, another project.
		for path, want := range map[string]int{
			"/targets/" + x.AddrTargetID + "/edit":   http.StatusForbidden,
			"/host-catalogs/" + x.CatalogID:          http.StatusNotFound,
			"/scopes/" + p.ID:                        http.StatusNotFound,
			"/scopes/" + p.ID + "/targets/new":       http.StatusForbidden,
			"/scopes/" + p.ID + "/host-catalogs":     http.StatusNotFound,
			"/scopes/" + other.ID + "/targets":       http.StatusNotFound,
			"/targets/" + y.AddrTargetID:             http.StatusNotFound,
			"/scopes/" + other.ID + "/targets/new":   http.StatusNotFound,
			"/scopes/" + p.ID + "/credential-stores": http.StatusNotFound,
		} {
			if code, _ := alice.get(path); code != want {
				t.Errorf("alice GET %s: %d, want %d", path, code, want)
			}
		}
		if code, doc := alice.get("/scopes/" + p.ID + "/targets"); code != http.StatusOK || byTestID(doc, "target-row-"+x.AddrTargetID) == nil {
			t.Errorf("alice's targets list: %d", code)
		}

		pat := app.login("pat", "pat-password-1")
		code, doc = pat.get("/scopes/" + p.ID + "/targets")
		if code != http.StatusOK || byTestID(doc, "target-row-"+x.TargetID) == nil || byTestID(doc, "target-row-"+x.AddrTargetID) == nil {
			t.Fatalf("project admin's targets list: %d %q", code, testIDText(doc, "target-list"))
		}
		for _, path := range []string{"/scopes/" + p.ID + "/host-catalogs", "/scopes/" + p.ID + "/credential-stores",
			"/scopes/" + p.ID + "/targets/new", "/scopes/" + p.ID + "/host-catalogs/new", "/scopes/" + p.ID + "/credential-stores/new",
			"/targets/" + x.TargetID, "/targets/" + x.TargetID + "/edit", "/host-catalogs/" + x.CatalogID, "/host-catalogs/" + x.CatalogID + "/host-sets",
			"/hosts/" + x.HostID, "/host-sets/" + x.HostSetID, "/credential-stores/" + x.StoreID, "/credentials/" + x.CredentialID} {
			if code, _ := pat.get(path); code != http.StatusOK {
				t.Errorf("project admin GET %s: %d, want 200", path, code)
			}
		}
		for _, path := range []string{"/scopes/" + other.ID + "/targets", "/scopes/" + other.ID + "/targets/new", "/targets/" + y.TargetID} {
			if code, _ := pat.get(path); code != http.StatusNotFound {
				t.Errorf("project admin GET %s: %d, want 404", path, code)
			}
		}
		// A project admin creates in the project without read on it.
		if code, loc, _ := pat.post("/scopes/"+p.ID+"/targets/new", map[string][]string{"name": {"new one"}, "default_port": {"22"},
			"address": {"10.1.1.1"}, "session_max_seconds": {""}, "session_connection_limit": {""}}); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/targets/ttcp_") {
			t.Errorf("project admin creates a target: %d %s", code, loc)
		}
	})
}

// TestInfraTabsFollowListGrants: project tabs and a catalog's tabs are
// shown only to users who may open them (list the collection; read the
// project for its overview).
func TestInfraTabsFollowListGrants(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		app := newAppOn(t, store)
		_, ps := orgWithProjects(t, store, app.admin, "Prod")
		p := ps[0]
		x := dbtest.SeedInfra(t, store, app.admin, p.ID, "alpha")
		grantRole(t, store, app.admin, p.ID, newUser(t, store, app.admin, "alice"), "ids=*;type=target;actions=list,read,authorize-session")
		grantRole(t, store, app.admin, p.ID, newUser(t, store, app.admin, "bob"), "ids="+x.CatalogID+";actions=read",
			"type=host-catalog;actions=list", "ids="+x.CatalogID+";type=host;actions=list", "ids="+x.HostID+";actions=read")

		tabs := func(c *appClient, path string) []string {
			t.Helper()
			code, doc := c.get(path)
			if code != http.StatusOK {
				t.Fatalf("GET %s: %d", path, code)
			}
			var out []string
			for _, k := range []string{"overview", "targets", "host-catalogs", "credential-stores", "hosts", "host-sets"} {
				if byTestID(doc, "tab-"+k) != nil {
					out = append(out, k)
				}
			}
			return out
		}
		admin := app.login("admin", "password")
		for path, want := range map[string]string{
			"/scopes/" + p.ID:                        "overview targets host-catalogs credential-stores",
			"/scopes/" + p.ID + "/targets":           "overview targets host-catalogs credential-stores",
			"/host-catalogs/" + x.CatalogID:          "hosts host-sets",
			"/scopes/" + p.ID + "/credential-stores": "overview targets host-catalogs credential-stores",
		} {
			if got := strings.Join(tabs(admin, path), " "); got != want {
				t.Errorf("admin %s: tabs %q, want %q", path, got, want)
			}
		}
		alice := app.login("alice", "alice-password-1")
		if got := strings.Join(tabs(alice, "/scopes/"+p.ID+"/targets"), " "); got != "targets" {
			t.Errorf("alice's targets page: tabs %q, want only targets", got)
		}
		bob := app.login("bob", "bob-password-1")
		if got := strings.Join(tabs(bob, "/scopes/"+p.ID+"/host-catalogs"), " "); got != "host-catalogs" {
			t.Errorf("bob's catalogs page: tabs %q, want only host-catalogs (no target of the project is his)", got)
		}
		code, doc := bob.get("/host-catalogs/" + x.CatalogID)
		if code != http.StatusOK || testIDText(doc, "tab-hosts") != "Hosts (1)" || byTestID(doc, "tab-host-sets") != nil {
			t.Errorf("bob's catalog page: %d, hosts tab %q, host sets tab shown %v", code, testIDText(doc, "tab-hosts"), byTestID(doc, "tab-host-sets") != nil)
		}
		if code, _ := bob.get("/host-catalogs/" + x.CatalogID + "/host-sets"); code != http.StatusForbidden {
			t.Errorf("bob's host sets tab by URL: %d, want 403", code)
		}
	})
}
