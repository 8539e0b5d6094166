package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestInfraIDORHTTP: over HTTP, on both databases, a user with every action
// in project A only gets 404 for every page and form of project B's
// catalog, host, host set, target, credential store and credential, exactly
// as for ids that do not exist, and My targets shows and counts only A's
// targets.
func TestInfraIDORHTTP(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		app := newAppOn(t, store)
		org, ps := orgWithProjects(t, store, app.admin, "A", "B")
		pa, pb := ps[0], ps[1]
		a := dbtest.SeedInfra(t, store, app.admin, pa.ID, "alpha")
		b := dbtest.SeedInfra(t, store, app.admin, pb.ID, "beta")
		carol, err := store.CreateUser(ctx, app.admin, models.GlobalScopeID, models.UserInput{Name: "carol", LoginName: "carol", Password: "carol-password-1"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []struct{ scope, grant string }{{pa.ID, models.FullGrant}, {org.ID, "ids=" + pa.ID + ";actions=read"}} {
			role, err := store.CreateRole(ctx, app.admin, r.scope, models.RoleInput{Name: "carol in " + r.scope})
			if err != nil {
				t.Fatal(err)
			}
			if err := store.SetRoleGrants(ctx, app.admin, role.ID, role.Version, []string{r.grant}); err != nil {
				t.Fatal(err)
			}
			if err := store.AddRolePrincipals(ctx, app.admin, role.ID, []string{carol.ID}); err != nil {
				t.Fatal(err)
			}
		}
		c := app.login("carol", "carol-password-1")

		pages := func(x dbtest.Infra) (gets, posts []string) {
			for _, p := range []string{"/host-catalogs/" + x.CatalogID, "/hosts/" + x.HostID, "/host-sets/" + x.HostSetID,
				"/targets/" + x.TargetID, "/targets/" + x.AddrTargetID, "/credential-stores/" + x.StoreID, "/credentials/" + x.CredentialID} {
				gets = append(gets, p, p+"/edit", p+"/delete")
				posts = append(posts, p+"/edit", p+"/delete")
			}
			gets = append(gets, "/host-catalogs/"+x.CatalogID+"/host-sets", "/host-catalogs/"+x.CatalogID+"/hosts/new",
				"/host-catalogs/"+x.CatalogID+"/host-sets/new", "/credential-stores/"+x.StoreID+"/credentials/new",
				"/explain?resource="+x.TargetID, "/explain?resource="+x.CredentialID, "/explain?resource="+x.HostID)
			posts = append(posts, "/host-catalogs/"+x.CatalogID+"/hosts/new", "/host-catalogs/"+x.CatalogID+"/host-sets/new",
				"/credential-stores/"+x.StoreID+"/credentials/new", "/host-sets/"+x.HostSetID+"/hosts",
				"/host-sets/"+x.HostSetID+"/hosts/"+x.HostID+"/remove", "/targets/"+x.TargetID+"/host-sources",
				"/targets/"+x.TargetID+"/host-sources/"+x.HostSetID+"/remove", "/targets/"+x.TargetID+"/credential-sources",
				"/targets/"+x.TargetID+"/credential-sources/"+x.CredentialID+"/remove")
			if x.ProjectID != "" {
				for _, coll := range []string{"targets", "host-catalogs", "credential-stores"} {
					gets = append(gets, "/scopes/"+x.ProjectID+"/"+coll, "/scopes/"+x.ProjectID+"/"+coll+"/new")
					posts = append(posts, "/scopes/"+x.ProjectID+"/"+coll+"/new")
				}
			}
			return gets, posts
		}
		form := url.Values{"name": {"sneaky"}, "version": {"1"}, "address": {"10.9.9.9"}, "default_port": {"22"},
			"session_max_seconds": {"60"}, "session_connection_limit": {"-1"}, "type": {models.CredentialJSON}, "json": {`{"a":1}`},
			"host_ids": {b.HostID}, "host_set_ids": {b.HostSetID}, "credential_ids": {b.CredentialID}}
		missing := dbtest.Infra{CatalogID: "hcst_doesnotexist", HostID: "hst_doesnotexist", HostSetID: "hsst_doesnotexist",
			TargetID: "ttcp_doesnotexist", AddrTargetID: "ttcp_doesnotexis2", StoreID: "csst_doesnotexist", CredentialID: "credup_doesnotexi"}
		var notFoundTitle string
		for name, x := range map[string]dbtest.Infra{"B": b, "missing": missing} {
			gets, posts := pages(x)
			for _, p := range gets {
				code, doc := c.get(p)
				if code != http.StatusNotFound {
					t.Errorf("%s GET %s: %d, want 404", name, p, code)
				}
				body := render(doc)
				for _, leak := range []string{"beta", b.ProjectID} {
					if strings.Contains(body, leak) && !strings.Contains(p, leak) {
						t.Errorf("%s GET %s: page mentions %q", name, p, leak)
					}
				}
				if title := testIDText(doc, "error-page"); name == "missing" && !strings.HasPrefix(p, "/explain") {
					notFoundTitle = title // the explain page answers 404 on its form instead
				}
			}
			for _, p := range posts {
				if code, _, _ := c.post(p, form); code != http.StatusNotFound {
					t.Errorf("%s POST %s: %d, want 404", name, p, code)
				}
			}
		}
		if _, doc := c.get("/targets/" + b.TargetID); testIDText(doc, "error-page") != notFoundTitle {
			t.Errorf("B's target page %q differs from a missing id's %q", testIDText(doc, "error-page"), notFoundTitle)
		}
		for table, id := range map[string]string{"host_catalogs": b.CatalogID, "hosts": b.HostID, "host_sets": b.HostSetID,
			"targets": b.TargetID, "credential_stores": b.StoreID, "credentials": b.CredentialID} {
			var n int64
			store.DB().Table(table).Where("id = ? AND version = 1", id).Count(&n)
			if n != 1 {
				t.Errorf("%s %s changed or gone", table, id)
			}
		}

		// My targets: A's two targets, whatever the filter says.
		for _, q := range []string{"", "?project=" + pb.ID, "?q=beta", "?page=2"} {
			code, doc := c.get("/targets" + q)
			if code != http.StatusOK {
				t.Fatalf("my targets %s: %d", q, code)
			}
			body := render(doc)
			if strings.Contains(body, "beta") && q != "?q=beta" || strings.Contains(body, b.TargetID) || strings.Contains(body, pb.ID) && q == "" {
				t.Errorf("my targets %q leaks B: %s", q, testIDText(doc, "my-target-list"))
			}
			rows := strings.Count(body, `data-testid="my-target-row-`)
			want := map[string]int{"": 2, "?project=" + pb.ID: 0, "?q=beta": 0, "?page=2": 0}[q]
			if rows != want {
				t.Errorf("my targets %q: %d rows, want %d", q, rows, want)
			}
		}
		if _, doc := c.get("/targets"); byTestID(doc, "my-target-row-"+a.TargetID) == nil || byTestID(doc, "my-target-row-"+a.AddrTargetID) == nil ||
			!strings.Contains(testIDText(doc, "total"), "2 items") {
			t.Errorf("my targets: rows of A or total %q missing", testIDText(doc, "total"))
		}
		if _, doc := c.get("/targets"); strings.Contains(testIDText(doc, "project-filter"), "B") {
			t.Errorf("project filter offers B: %q", testIDText(doc, "project-filter"))
		}
	})
}
