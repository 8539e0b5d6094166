package models_test

import (
	"context"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestExplainByNameAndHelpers: "Why can't I?" finds what the asker may see
// by name (any case, targets first, nothing invisible), and names who can
// give access in a scope (holders of a role that may add principals there,
// directly or through a group), only among the users the asker may read;
// an explanation with a refused action carries them. On both databases.
func TestExplainByNameAndHelpers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		p := project(t, store, admin, "Acme", "Prod")
		tg, err := store.CreateTarget(ctx, admin, p.ID, models.TargetInput{Name: "echo", DefaultPort: 7, Address: "127.0.0.1",
			SessionMaxSeconds: 3600, SessionConnectionLimit: -1})
		mustNil(t, err)
		cat, err := store.CreateHostCatalog(ctx, admin, p.ID, models.HostCatalogInput{Name: "lab"})
		mustNil(t, err)
		h, err := store.CreateHost(ctx, admin, cat.ID, models.HostInput{Name: "Echo", Address: "10.0.0.7"})
		mustNil(t, err)

		found, err := store.FindByName(ctx, admin, " ECHO ")
		mustNil(t, err)
		if len(found) != 2 || found[0].ID != tg.ID || found[0].Type != "target" || found[1].ID != h.ID || found[0].Where != "Prod" {
			t.Fatalf("admin finds %+v", found)
		}
		carol := plainUser(t, store, admin, "carol")
		if found, err := store.FindByName(ctx, carol, "echo"); err != nil || len(found) != 0 {
			t.Fatalf("carol finds %+v, %v (she may see none of them)", found, err)
		}

		// dave may add principals to the project's roles, through a group.
		dave := plainUser(t, store, admin, "dave")
		r, err := store.CreateRole(ctx, admin, p.ID, models.RoleInput{Name: "Prod gatekeepers"})
		mustNil(t, err)
		mustNil(t, store.SetRoleGrants(ctx, admin, r.ID, r.Version, []string{"ids=*;type=role;actions=read,add-principals"}))
		g, err := store.CreateGroup(ctx, admin, models.GlobalScopeID, models.GroupInput{Name: "gatekeepers"})
		mustNil(t, err)
		mustNil(t, store.AddGroupMembers(ctx, admin, g.ID, []string{dave.UserID}))
		mustNil(t, store.AddRolePrincipals(ctx, admin, r.ID, []string{g.ID}))

		names := func(hs []models.Helper) []string {
			var out []string
			for _, h := range hs {
				out = append(out, h.Name)
			}
			return out
		}
		if hs, err := store.AccessHelpers(ctx, carol, p.ID); err != nil || len(hs) != 0 {
			t.Fatalf("carol, who may read no user, is told of %v (%v)", names(hs), err)
		}
		readers, err := store.CreateRole(ctx, admin, models.GlobalScopeID, models.RoleInput{Name: "user readers"})
		mustNil(t, err)
		mustNil(t, store.SetRoleGrants(ctx, admin, readers.ID, readers.Version, []string{"ids=*;type=user;actions=read"}))
		mustNil(t, store.AddRolePrincipals(ctx, admin, readers.ID, []string{carol.UserID}))
		carol = fresh(carol)
		hs, err := store.AccessHelpers(ctx, carol, p.ID)
		mustNil(t, err)
		if got := names(hs); len(got) != 2 || got[0] != "Administrator" || got[1] != "dave" || hs[1].Via != "Prod gatekeepers" {
			t.Fatalf("helpers in Prod: %+v", hs)
		}
		// In another project dave cannot help.
		other := project(t, store, admin, "Acme", "Dev")
		if hs, err := store.AccessHelpers(ctx, carol, other.ID); err != nil || len(hs) != 1 || hs[0].Name != "Administrator" {
			t.Fatalf("helpers in Dev: %+v, %v", hs, err)
		}
		ex, err := store.ExplainAccess(ctx, admin, carol.UserID, tg.ID)
		mustNil(t, err)
		if got := names(ex.Helpers); len(got) != 2 {
			t.Fatalf("explanation's helpers: %v", got)
		}
	})
}
