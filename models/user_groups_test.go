package models_test

import (
	"context"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestUserPageShowsOnlyVisibleGroups: a user's page lists the groups and
// managed groups the user is in, but to someone else only those the reader
// may see; the user always sees its own. On both databases.
func TestUserPageShowsOnlyVisibleGroups(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		w := newRBACWorld(t, store)
		_, err := store.CreateUser(ctx, w.admin, models.GlobalScopeID, models.UserInput{Name: "carol", LoginName: "carol", Password: "carol-password-1"})
		mustNil(t, err)
		carolRole, err := store.CreateRole(ctx, w.admin, models.GlobalScopeID, models.RoleInput{Name: "user readers"})
		mustNil(t, err)
		mustNil(t, store.SetRoleGrants(ctx, w.admin, carolRole.ID, carolRole.Version, []string{"ids=*;type=user;actions=read"}))
		var carolID string
		mustNil(t, store.DB().Raw("SELECT id FROM users WHERE name = 'carol'").Scan(&carolID).Error)
		mustNil(t, store.AddRolePrincipals(ctx, w.admin, carolRole.ID, []string{carolID}))
		carol := func() models.Actor { return dbtest.Login(t, store, w.authID, "carol", "carol-password-1") }

		seen := func(a models.Actor) (groups, managed int) {
			t.Helper()
			d, err := store.GetUser(ctx, a, w.bobID)
			mustNil(t, err)
			return len(d.Groups), len(d.ManagedGroups)
		}
		if g, m := seen(w.bob(t)); g != 1 || m != 1 {
			t.Errorf("bob's own page: %d groups, %d managed groups; want 1 and 1", g, m)
		}
		if g, m := seen(w.admin); g != 1 || m != 1 {
			t.Errorf("the admin: %d groups, %d managed groups; want 1 and 1", g, m)
		}
		if g, m := seen(carol()); g != 0 || m != 0 {
			t.Errorf("carol, who may read users only: %d groups, %d managed groups; want none", g, m)
		}
		cur, err := store.GetRole(ctx, w.admin, carolRole.ID)
		mustNil(t, err)
		mustNil(t, store.SetRoleGrants(ctx, w.admin, carolRole.ID, cur.Version,
			[]string{"ids=*;type=user;actions=read", "ids=*;type=group;actions=read"}))
		if g, m := seen(carol()); g != 1 || m != 0 {
			t.Errorf("carol, who may read groups too: %d groups, %d managed groups; want 1 and 0", g, m)
		}
	})
}
