package models_test

import (
	"context"
	"errors"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestInfraIDOR: a user holding every action in project A only (a role with
// the full grant, grant scope this) gets the same not-found for every item
// of project B (in the same org) and of project C (in another org) as for
// an id that does not exist, for every read, write and session use case;
// lists of B and C are refused, and My targets counts only A's targets.
func TestInfraIDOR(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		pa := project(t, store, admin, "Acme", "A")
		pb := project(t, store, admin, "Acme", "B")
		pc := project(t, store, admin, "Other", "C")
		a := dbtest.SeedInfra(t, store, admin, pa.ID, "alpha")
		b := dbtest.SeedInfra(t, store, admin, pb.ID, "beta")
		c := dbtest.SeedInfra(t, store, admin, pc.ID, "gamma")
		role, err := store.CreateRole(ctx, admin, pa.ID, models.RoleInput{Name: "A admins"})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.SetRoleGrants(ctx, admin, role.ID, role.Version, []string{models.FullGrant}); err != nil {
			t.Fatal(err)
		}
		carol := plainUser(t, store, admin, "carol")
		if err := store.AddRolePrincipals(ctx, admin, role.ID, []string{carol.UserID}); err != nil {
			t.Fatal(err)
		}
		// Read on project A itself, in the org (A's lists no longer need it:
		// its full grant makes A visible for them, see projectCollection).
		seeA, err := store.CreateRole(ctx, admin, *pa.ParentID, models.RoleInput{Name: "see A"})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.SetRoleGrants(ctx, admin, seeA.ID, seeA.Version, []string{"ids=" + pa.ID + ";actions=read"}); err != nil {
			t.Fatal(err)
		}
		if err := store.AddRolePrincipals(ctx, admin, seeA.ID, []string{carol.UserID}); err != nil {
			t.Fatal(err)
		}
		// A fresh login: an Actor caches its ACL.
		carol = dbtest.Login(t, store, mustPasswordMethod(t, store, models.GlobalScopeID), "carol", "password-carol")

		// Carol does have every action in A (the check below is not vacuous).
		if _, err := store.GetTarget(ctx, carol, a.TargetID); err != nil {
			t.Fatalf("carol reads A's target: %v", err)
		}
		if _, err := store.TargetForSession(ctx, carol, a.TargetID); err != nil {
			t.Fatalf("carol authorizes a session on A's target: %v", err)
		}

		notFound := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, models.ErrNotFound) {
				t.Errorf("%s: err = %v, want not found", what, err)
			}
		}
		missing := dbtest.Infra{ProjectID: "p_doesnotexist", CatalogID: "hcst_doesnotexist", HostID: "hst_doesnotexist",
			HostSetID: "hsst_doesnotexist", TargetID: "ttcp_doesnotexist", AddrTargetID: "ttcp_doesnotexis2",
			StoreID: "csst_doesnotexist", CredentialID: "credup_doesnotexi"}
		for name, x := range map[string]dbtest.Infra{"B": b, "C": c, "missing": missing} {
			var err error
			_, err = store.GetHostCatalog(ctx, carol, x.CatalogID)
			notFound(name+" get catalog", err)
			_, err = store.UpdateHostCatalog(ctx, carol, x.CatalogID, 1, models.HostCatalogInput{Name: "x"})
			notFound(name+" update catalog", err)
			_, err = store.ListHosts(ctx, carol, x.CatalogID, models.ListOptions{})
			notFound(name+" list hosts", err)
			_, err = store.ListHostSets(ctx, carol, x.CatalogID, models.ListOptions{})
			notFound(name+" list host sets", err)
			_, err = store.CreateHost(ctx, carol, x.CatalogID, models.HostInput{Name: "sneaky", Address: "10.9.9.9"})
			notFound(name+" create host", err)
			_, err = store.CreateHostSet(ctx, carol, x.CatalogID, models.HostSetInput{Name: "sneaky"}, nil)
			notFound(name+" create host set", err)

			_, err = store.GetHost(ctx, carol, x.HostID)
			notFound(name+" get host", err)
			_, err = store.UpdateHost(ctx, carol, x.HostID, 1, models.HostInput{Name: "x", Address: "10.1.1.1"})
			notFound(name+" update host", err)

			_, err = store.GetHostSet(ctx, carol, x.HostSetID)
			notFound(name+" get host set", err)
			_, err = store.UpdateHostSet(ctx, carol, x.HostSetID, 1, models.HostSetInput{Name: "x"})
			notFound(name+" update host set", err)
			notFound(name+" add host set members", store.AddHostSetMembers(ctx, carol, x.HostSetID, []string{x.HostID}))
			notFound(name+" remove host set member", store.RemoveHostSetMember(ctx, carol, x.HostSetID, x.HostID))

			for _, id := range []string{x.TargetID, x.AddrTargetID} {
				_, err = store.GetTarget(ctx, carol, id)
				notFound(name+" get target", err)
				_, err = store.UpdateTarget(ctx, carol, id, 1, models.TargetInput{Name: "x", DefaultPort: 22, Address: "x.internal",
					SessionMaxSeconds: 60, SessionConnectionLimit: -1})
				notFound(name+" update target", err)
				_, err = store.TargetForSession(ctx, carol, id)
				notFound(name+" authorize session", err)
				_, err = store.BrokeredCredentials(ctx, carol, id)
				notFound(name+" brokered credentials", err)
				_, err = store.ExplainAccess(ctx, carol, "", id)
				notFound(name+" explain target", err)
			}
			notFound(name+" add host source", store.AddTargetHostSources(ctx, carol, x.TargetID, []string{x.HostSetID}))
			notFound(name+" remove host source", store.RemoveTargetHostSource(ctx, carol, x.TargetID, x.HostSetID))
			notFound(name+" add credential source", store.AddTargetCredentialSources(ctx, carol, x.TargetID, []string{x.CredentialID}))
			notFound(name+" remove credential source", store.RemoveTargetCredentialSource(ctx, carol, x.TargetID, x.CredentialID))

			_, err = store.GetCredentialStore(ctx, carol, x.StoreID)
			notFound(name+" get credential store", err)
			_, err = store.UpdateCredentialStore(ctx, carol, x.StoreID, 1, models.CredentialStoreInput{Name: "x"})
			notFound(name+" update credential store", err)
			_, err = store.ListCredentials(ctx, carol, x.StoreID, models.ListOptions{})
			notFound(name+" list credentials", err)
			_, err = store.CreateCredential(ctx, carol, x.StoreID, models.CredentialInput{Type: models.CredentialJSON, Name: "sneaky", JSON: `{"a":1}`})
			notFound(name+" create credential", err)

			_, err = store.GetCredential(ctx, carol, x.CredentialID)
			notFound(name+" get credential", err)
			_, err = store.UpdateCredential(ctx, carol, x.CredentialID, 1, models.CredentialInput{Type: models.CredentialUsernamePassword, Name: "x", Username: "u"})
			notFound(name+" update credential", err)

			for what, id := range map[string]string{"catalog": x.CatalogID, "host": x.HostID, "host set": x.HostSetID,
				"target": x.TargetID, "credential store": x.StoreID, "credential": x.CredentialID} {
				_, err = store.ExplainAccess(ctx, carol, "", id)
				notFound(name+" explain "+what, err)
			}

			// Deletes last, children first: a refused delete must leave the row.
			notFound(name+" delete host", store.DeleteHost(ctx, carol, x.HostID))
			notFound(name+" delete host set", store.DeleteHostSet(ctx, carol, x.HostSetID))
			notFound(name+" delete target", store.DeleteTarget(ctx, carol, x.TargetID))
			notFound(name+" delete address target", store.DeleteTarget(ctx, carol, x.AddrTargetID))
			notFound(name+" delete credential", store.DeleteCredential(ctx, carol, x.CredentialID))
			notFound(name+" delete credential store", store.DeleteCredentialStore(ctx, carol, x.StoreID))
			notFound(name+" delete catalog", store.DeleteHostCatalog(ctx, carol, x.CatalogID))

			if name != "missing" {
				_, err = store.ListHostCatalogs(ctx, carol, x.ProjectID, models.ListOptions{})
				notFound(name+" list catalogs", err)
				_, err = store.ListTargets(ctx, carol, x.ProjectID, models.ListOptions{})
				notFound(name+" list targets", err)
				_, err = store.ListCredentialStores(ctx, carol, x.ProjectID, models.ListOptions{})
				notFound(name+" list credential stores", err)
				_, err = store.CreateTarget(ctx, carol, x.ProjectID, models.TargetInput{Name: "sneaky", DefaultPort: 22, Address: "s",
					SessionMaxSeconds: 60, SessionConnectionLimit: -1})
				notFound(name+" create target", err)
				_, err = store.CreateHostCatalog(ctx, carol, x.ProjectID, models.HostCatalogInput{Name: "sneaky"})
				notFound(name+" create catalog", err)
				_, err = store.CreateCredentialStore(ctx, carol, x.ProjectID, models.CredentialStoreInput{Name: "sneaky"})
				notFound(name+" create credential store", err)
			}
		}

		// Nothing of B or C was changed or removed, nothing was added.
		for _, x := range []dbtest.Infra{b, c} {
			for table, id := range map[string]string{"host_catalogs": x.CatalogID, "hosts": x.HostID, "host_sets": x.HostSetID,
				"targets": x.TargetID, "credential_stores": x.StoreID, "credentials": x.CredentialID} {
				if n := count(t, store, table, "id = ? AND name NOT IN ('x', 'sneaky') AND version = 1", id); n != 1 {
					t.Errorf("%s %s: %d unchanged rows, want 1", table, id, n)
				}
			}
			if n := count(t, store, "target_host_sources", "target_id = ?", x.TargetID); n != 1 {
				t.Errorf("host sources of %s: %d, want 1", x.TargetID, n)
			}
			if n := count(t, store, "target_credential_sources", "target_id = ?", x.TargetID); n != 1 {
				t.Errorf("credential sources of %s: %d, want 1", x.TargetID, n)
			}
		}
		for _, table := range []string{"host_catalogs", "hosts", "host_sets", "targets", "credential_stores", "credentials"} {
			if n := count(t, store, table, "name = 'sneaky'"); n != 0 {
				t.Errorf("%s: %d sneaky rows", table, n)
			}
		}

		// A's own items cannot reach into B: B's host set, host and
		// credential are refused as sources or members of A's items.
		if err := store.AddTargetHostSources(ctx, carol, a.TargetID, []string{b.HostSetID}); err == nil {
			t.Error("A target took B's host set as a source")
		}
		if err := store.AddTargetCredentialSources(ctx, carol, a.TargetID, []string{b.CredentialID}); err == nil {
			t.Error("A target took B's credential")
		}
		if err := store.AddHostSetMembers(ctx, carol, a.HostSetID, []string{b.HostID}); err == nil {
			t.Error("A host set took B's host")
		}

		// Lists and counts: only A's items, everywhere.
		mine, err := store.ListMyTargets(ctx, carol, models.MyTargetsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if mine.Total != 2 || len(mine.Items) != 2 || len(mine.Projects) != 1 || mine.Projects[0].ID != pa.ID {
			t.Errorf("my targets: total %d, %d items, projects %+v; want A's 2", mine.Total, len(mine.Items), mine.Projects)
		}
		for _, it := range mine.Items {
			if it.ScopeID != pa.ID {
				t.Errorf("my targets lists %s of %s", it.Name, it.ScopeID)
			}
		}
		for _, opt := range []models.MyTargetsOptions{{ProjectID: pb.ID}, {ProjectID: pc.ID}, {ListOptions: models.ListOptions{Search: "beta"}}, {ListOptions: models.ListOptions{Search: "db"}}} {
			p, err := store.ListMyTargets(ctx, carol, opt)
			if err != nil {
				t.Fatal(err)
			}
			want := int64(0)
			if opt.Search == "db" {
				want = 1 // alpha db only
			}
			if p.Total != want || len(p.Items) != int(want) {
				t.Errorf("my targets %+v: total %d, %d items, want %d", opt, p.Total, len(p.Items), want)
			}
		}
		tl, err := store.ListTargets(ctx, carol, pa.ID, models.ListOptions{})
		if err != nil || tl.Total != 2 {
			t.Errorf("targets of A: %d, %v", tl.Total, err)
		}
		cats, err := store.ListHostCatalogs(ctx, carol, pa.ID, models.ListOptions{})
		if err != nil || cats.Total != 1 || cats.Items[0].ID != a.CatalogID {
			t.Errorf("catalogs of A: %+v, %v", cats, err)
		}
		stores, err := store.ListCredentialStores(ctx, carol, pa.ID, models.ListOptions{})
		if err != nil || stores.Total != 1 || stores.Items[0].Credentials != 1 {
			t.Errorf("credential stores of A: %+v, %v", stores, err)
		}
		hs, err := store.GetHostSet(ctx, carol, a.HostSetID)
		if err != nil || len(hs.Hosts) != 1 || hs.Hosts[0].ID != a.HostID {
			t.Errorf("host set of A: %+v, %v", hs, err)
		}
		// The admin's My targets lists all six: the user's view is the filter.
		all, err := store.ListMyTargets(ctx, admin, models.MyTargetsOptions{})
		if err != nil || all.Total != 6 {
			t.Errorf("admin's my targets: %d, %v", all.Total, err)
		}
	})
}
