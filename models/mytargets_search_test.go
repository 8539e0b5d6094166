package models_test

import (
	"context"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestMyTargetsSearchHostSources: My targets search also matches the names
// and addresses of the hosts of a target's host sources (the hosts the page
// shows), only among the targets the user may authorize a session on.
func TestMyTargetsSearchHostSources(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		pa := project(t, store, admin, "Acme", "A")
		pb := project(t, store, admin, "Acme", "B")
		a := dbtest.SeedInfra(t, store, admin, pa.ID, "alpha")
		b := dbtest.SeedInfra(t, store, admin, pb.ID, "beta")
		for _, x := range []dbtest.Infra{a, b} {
			h, err := store.CreateHost(ctx, admin, x.CatalogID, models.HostInput{Name: "pg-primary", Address: "pg1.example.internal"})
			if err != nil {
				t.Fatal(err)
			}
			if err := store.AddHostSetMembers(ctx, admin, x.HostSetID, []string{h.ID}); err != nil {
				t.Fatal(err)
			}
			// A host of the catalog in no host source matches nothing.
			if _, err := store.CreateHost(ctx, admin, x.CatalogID, models.HostInput{Name: "orphan", Address: "10.7.7.7"}); err != nil {
				t.Fatal(err)
			}
		}
		dora := plainUser(t, store, admin, "dora")
		grantRole(t, store, admin, pa.ID, []string{"ids=*;type=target;actions=authorize-session"}, dora.UserID)
		dora = dbtest.Login(t, store, mustPasswordMethod(t, store, models.GlobalScopeID), "dora", "password-dora")

		for _, tc := range []struct {
			who     string
			search  string
			project string
			want    []string
		}{
			{"dora", "PG-PRIM", "", []string{a.TargetID}},
			{"dora", "pg1.example", "", []string{a.TargetID}},
			{"dora", "10.0.0.1", "", []string{a.TargetID}},
			{"dora", "alpha host", pa.ID, []string{a.TargetID}},
			{"dora", "pg-primary", pb.ID, nil},
			{"dora", "orphan", "", nil},
			{"dora", "10.7.7", "", nil},
			{"dora", "100%", "", nil},
			{"admin", "pg-primary", "", []string{a.TargetID, b.TargetID}},
			{"admin", "pg-primary", pb.ID, []string{b.TargetID}},
			{"admin", "db.internal", "", []string{a.AddrTargetID, b.AddrTargetID}},
		} {
			who := dora
			if tc.who == "admin" {
				who = admin
			}
			page, err := store.ListMyTargets(ctx, who, models.MyTargetsOptions{ListOptions: models.ListOptions{Search: tc.search}, ProjectID: tc.project})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range page.Items {
				got = append(got, it.ID)
			}
			want := map[string]bool{}
			for _, id := range tc.want {
				want[id] = true
			}
			ok := page.Total == int64(len(tc.want)) && len(got) == len(tc.want)
			for _, id := range got {
				ok = ok && want[id]
			}
			if !ok {
				t.Errorf("%s searches %q in %q: total %d, %v; want %v", tc.who, tc.search, tc.project, page.Total, got, tc.want)
			}
		}
	})
}
