package models_test

import (
	"context"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestInfraPartialGrantsLeakNothing: inside ONE project, a user who may see
// some items only gets counts of what the lists show (catalog page and
// list, store page and list, host set members and list) and, on a target
// page, ids in place of the names of host sets, catalogs, credentials and
// stores it may not see; a credential's name is shown to whoever may
// authorize a session on the target (the session brokers it).
func TestInfraPartialGrantsLeakNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		p := project(t, store, admin, "Acme", "Prod")
		x := dbtest.SeedInfra(t, store, admin, p.ID, "alpha")
		h2, err := store.CreateHost(ctx, admin, x.CatalogID, models.HostInput{Name: "alpha host 2", Address: "10.0.0.2"})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.AddHostSetMembers(ctx, admin, x.HostSetID, []string{h2.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.CreateCredential(ctx, admin, x.StoreID, models.CredentialInput{Type: models.CredentialJSON, Name: "alpha json", JSON: `{"a":1}`}); err != nil {
			t.Fatal(err)
		}
		method := mustPasswordMethod(t, store, models.GlobalScopeID)
		user := func(name string, grants ...string) models.Actor {
			u := plainUser(t, store, admin, name)
			grantRole(t, store, admin, p.ID, grants, u.UserID)
			return dbtest.Login(t, store, method, name, "password-"+name)
		}
		// bob: the catalog, its list, one host; the store, its list, one credential.
		bob := user("bob", "ids="+x.CatalogID+";actions=read", "type=host-catalog;actions=list", "ids="+x.HostID+";actions=read",
			"ids="+x.CatalogID+";type=host;actions=list", "ids="+x.CatalogID+";type=host-set;actions=list",
			"ids="+x.StoreID+";actions=read", "type=credential-store;actions=list", "ids="+x.CredentialID+";actions=read")
		c, err := store.GetHostCatalog(ctx, bob, x.CatalogID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Hosts != 1 || c.HostSets != 0 {
			t.Errorf("catalog page counts: %d hosts, %d host sets; want 1, 0", c.Hosts, c.HostSets)
		}
		cats, err := store.ListHostCatalogs(ctx, bob, p.ID, models.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(cats.Items) != 1 || cats.Items[0].Hosts != 1 || cats.Items[0].HostSets != 0 {
			t.Errorf("catalog list: %+v; want one row with 1 host, 0 host sets", cats.Items)
		}
		hosts, err := store.ListHosts(ctx, bob, x.CatalogID, models.ListOptions{})
		if err != nil || hosts.Total != c.Hosts {
			t.Errorf("host list total %d (%v), page count %d", hosts.Total, err, c.Hosts)
		}
		cs, err := store.GetCredentialStore(ctx, bob, x.StoreID)
		if err != nil {
			t.Fatal(err)
		}
		if cs.Credentials != 1 {
			t.Errorf("store page: %d credentials, want 1", cs.Credentials)
		}
		stores, err := store.ListCredentialStores(ctx, bob, p.ID, models.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(stores.Items) != 1 || stores.Items[0].Credentials != 1 {
			t.Errorf("store list: %+v; want one row with 1 credential", stores.Items)
		}

		// carol: the host set and one of its two hosts.
		carol := user("carol", "ids="+x.HostSetID+";actions=read", "ids="+x.CatalogID+";actions=read",
			"ids="+x.CatalogID+";type=host-set;actions=list", "ids="+x.HostID+";actions=read")
		hs, err := store.GetHostSet(ctx, carol, x.HostSetID)
		if err != nil {
			t.Fatal(err)
		}
		if hs.Members != 1 || len(hs.Hosts) != 1 || hs.Hosts[0].ID != x.HostID {
			t.Errorf("host set page: %d members %+v; want only %s", hs.Members, hs.Hosts, x.HostID)
		}
		sets, err := store.ListHostSets(ctx, carol, x.CatalogID, models.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(sets.Items) != 1 || sets.Items[0].Members != 1 {
			t.Errorf("host set list: %+v; want one row with 1 member", sets.Items)
		}
		if c, err := store.GetHostCatalog(ctx, carol, x.CatalogID); err != nil || c.Hosts != 1 || c.HostSets != 1 {
			t.Errorf("carol's catalog counts: %+v %v; want 1 host, 1 host set", c, err)
		}

		// dave: the target only; erin: the target with authorize-session
		// and the catalog.
		dave := user("dave", "ids="+x.TargetID+";actions=read")
		erin := user("erin", "ids="+x.TargetID+";actions=read,authorize-session", "ids="+x.CatalogID+";actions=read")
		for _, tc := range []struct {
			name                               string
			who                                models.Actor
			setHidden, catalogHidden, credHide bool
			hosts                              int64
		}{
			{"dave", dave, true, true, true, 0},
			{"erin", erin, true, false, false, 0},
			{"admin", admin, false, false, false, 2},
		} {
			d, err := store.GetTarget(ctx, tc.who, x.TargetID)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if len(d.HostSources) != 1 || len(d.CredentialSources) != 1 {
				t.Fatalf("%s: sources %+v %+v", tc.name, d.HostSources, d.CredentialSources)
			}
			hsv, crv := d.HostSources[0], d.CredentialSources[0]
			wantName := func(hidden bool, id, name string) string {
				if hidden {
					return id
				}
				return name
			}
			if hsv.HostSetHidden != tc.setHidden || hsv.HostSetName != wantName(tc.setHidden, x.HostSetID, "alpha set") ||
				hsv.CatalogHidden != tc.catalogHidden || hsv.CatalogName != wantName(tc.catalogHidden, x.CatalogID, "alpha catalog") ||
				hsv.Hosts != tc.hosts {
				t.Errorf("%s: host source %+v", tc.name, hsv)
			}
			wantType := models.CredentialUsernamePassword
			if tc.credHide {
				wantType = ""
			}
			storeHidden := tc.name != "admin"
			if crv.CredentialHidden != tc.credHide || crv.CredentialName != wantName(tc.credHide, x.CredentialID, "alpha login") ||
				crv.CredentialType != wantType || crv.StoreHidden != storeHidden || crv.StoreName != wantName(storeHidden, x.StoreID, "alpha store") {
				t.Errorf("%s: credential source %+v", tc.name, crv)
			}
		}
	})
}
