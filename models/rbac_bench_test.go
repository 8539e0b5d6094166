package models_test

import (
	"context"
	"fmt"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// BenchmarkEvaluator measures the per-request cost of authorization for a
// user holding 200 roles (100 through 10 groups, 100 through 10 managed
// groups) in a tree of 10 orgs × 10 projects: resolving the login (roles
// loaded once, capabilities computed), then one list condition and one
// item check, as a list page does.
func BenchmarkEvaluator(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			store := dbtest.Open(b, d, models.Options{})
			admin := dbtest.Admin(b, store)
			var method string
			store.DB().Raw("SELECT id FROM auth_methods WHERE scope_id = 'global'").Scan(&method)
			u, err := store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "heavy", LoginName: "heavy", Password: "heavy-password-1"})
			if err != nil {
				b.Fatal(err)
			}
			res, err := store.AuthenticatePassword(ctx, models.PasswordLogin{AuthMethodID: method, LoginName: "heavy", Password: "heavy-password-1"})
			if err != nil {
				b.Fatal(err)
			}
			var projects []string
			for o := range 10 {
				org, err := store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: fmt.Sprintf("org %d", o)})
				if err != nil {
					b.Fatal(err)
				}
				for p := range 10 {
					pr, err := store.CreateScope(ctx, admin, org.ID, models.ScopeInput{Name: fmt.Sprintf("project %d", p)})
					if err != nil {
						b.Fatal(err)
					}
					projects = append(projects, pr.ID)
				}
			}
			var principals []string
			for i := range 10 {
				g, err := store.CreateGroup(ctx, admin, models.GlobalScopeID, models.GroupInput{Name: fmt.Sprintf("g%d", i)})
				if err != nil {
					b.Fatal(err)
				}
				if err := store.AddGroupMembers(ctx, admin, g.ID, []string{u.ID}); err != nil {
					b.Fatal(err)
				}
				principals = append(principals, g.ID)
				principals = append(principals, insertManagedGroupB(b, store, method, fmt.Sprintf("mg%d", i), res.Login.AccountID))
			}
			for i := range 200 {
				p := projects[i%len(projects)]
				r, err := store.CreateRole(ctx, admin, p, models.RoleInput{Name: fmt.Sprintf("role %d", i)})
				if err != nil {
					b.Fatal(err)
				}
				if err := store.SetRoleGrants(ctx, admin, r.ID, r.Version, []string{"ids=*;type=target;actions=authorize-session,read", "type=target;actions=list", "ids=*;type=role;actions=read"}); err != nil {
					b.Fatal(err)
				}
				if err := store.AddRolePrincipals(ctx, admin, r.ID, []string{principals[i%len(principals)]}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				a, _, err := store.LoginByToken(ctx, res.Token)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := store.ListRoles(ctx, a, "", models.ListOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func insertManagedGroupB(b *testing.B, store *models.Store, method, name, account string) string {
	id := models.NewID(models.PrefixManagedGroup)
	now := store.Now()
	if err := store.DB().Exec("INSERT INTO managed_groups (id, auth_method_id, name, filter, created_at, updated_at, version) VALUES (?, ?, ?, 'x', ?, ?, 1)", id, method, name, now, now).Error; err != nil {
		b.Fatal(err)
	}
	if err := store.DB().Exec("INSERT INTO managed_group_members (managed_group_id, account_id, created_at) VALUES (?, ?, ?)", id, account, now).Error; err != nil {
		b.Fatal(err)
	}
	return id
}
