package models_test

import (
	"context"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestMyRolesListsEveryWayARoleCounts: a user sees the roles naming them
// directly and through a group, with where each lives; another user sees
// neither; anonymous is refused.
func TestMyRolesListsEveryWayARoleCounts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		carol, err := store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "carol", LoginName: "carol", Password: "carol-password"})
		must(t, err)
		_, err = store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "dave", LoginName: "dave", Password: "dave-password"})
		must(t, err)
		g, err := store.CreateGroup(ctx, admin, models.GlobalScopeID, models.GroupInput{Name: "sre"})
		must(t, err)
		must(t, store.AddGroupMembers(ctx, admin, g.ID, []string{carol.ID}))
		direct, err := store.CreateRole(ctx, admin, models.GlobalScopeID, models.RoleInput{Name: "direct"})
		must(t, err)
		must(t, store.AddRolePrincipals(ctx, admin, direct.ID, []string{carol.ID}))
		viaGroup, err := store.CreateRole(ctx, admin, models.GlobalScopeID, models.RoleInput{Name: "via group"})
		must(t, err)
		must(t, store.AddRolePrincipals(ctx, admin, viaGroup.ID, []string{g.ID}))

		var methodID string
		must(t, store.DB().Raw("SELECT id FROM auth_methods WHERE type = 'password' ORDER BY created_at LIMIT 1").Scan(&methodID).Error)
		roles := func(login string) map[string]string {
			t.Helper()
			rs, err := store.MyRoles(ctx, dbtest.Login(t, store, methodID, login, login+"-password"))
			must(t, err)
			out := map[string]string{}
			for _, r := range rs {
				out[r.Name] = r.Via + " in " + r.ScopeName
			}
			return out
		}
		c := roles("carol")
		if c["direct"] != "you in Global" || c["via group"] != "group sre in Global" || c["Login and self-service"] != "any logged-in user in Global" {
			t.Errorf("carol's roles = %v", c)
		}
		d := roles("dave")
		if _, ok := d["direct"]; ok {
			t.Errorf("dave's roles = %v", d)
		}
		if _, ok := d["via group"]; ok {
			t.Errorf("dave's roles = %v", d)
		}
		if _, err := store.MyRoles(ctx, models.Actor{}); err == nil {
			t.Error("anonymous MyRoles: no error")
		}
	})
}
