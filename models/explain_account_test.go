package models_test

import (
	"context"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestExplainOtherUserAccountTemplate: an administrator explaining another
// user's access sees it as that user logged in with its last used account,
// so a grant written with {{.Account.Id}} counts. On both databases.
func TestExplainOtherUserAccountTemplate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		var method string
		mustNil(t, store.DB().Raw("SELECT id FROM auth_methods WHERE type = 'password' ORDER BY created_at LIMIT 1").Scan(&method).Error)
		bob, err := store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "bob", LoginName: "bob", Password: "bob-password-1"})
		mustNil(t, err)
		bobActor := dbtest.Login(t, store, method, "bob", "bob-password-1") // bob's last used account
		r, err := store.CreateRole(ctx, admin, models.GlobalScopeID, models.RoleInput{Name: "own account"})
		mustNil(t, err)
		mustNil(t, store.SetRoleGrants(ctx, admin, r.ID, r.Version, []string{"ids={{.Account.Id}};actions=read"}))
		mustNil(t, store.AddRolePrincipals(ctx, admin, r.ID, []string{bob.ID}))

		for who, a := range map[string]models.Actor{"the admin about bob": admin, "bob about himself": dbtest.Login(t, store, method, "bob", "bob-password-1")} {
			ex, err := store.ExplainAccess(ctx, a, bob.ID, bobActor.AccountID)
			mustNil(t, err)
			allowed := false
			for _, e := range ex.Actions {
				if e.Action == "read" {
					allowed = e.Allowed
				}
			}
			if !allowed {
				t.Errorf("%s: read on bob's account not allowed through {{.Account.Id}}: %+v", who, ex.Actions)
			}
		}
	})
}
