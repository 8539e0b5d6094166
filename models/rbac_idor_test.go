package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestIDOR: an org administrator sees nothing of another org, and guessing
// its ids gives the same not-found as ids that do not exist.
func TestIDOR(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		w := newRBACWorld(t, store)
		carol, err := store.CreateUser(ctx, w.admin, w.o1, models.UserInput{Name: "carol", LoginName: "carol", Password: "carol-password-1"})
		if err != nil {
			t.Fatal(err)
		}
		dave, err := store.CreateUser(ctx, w.admin, w.o2, models.UserInput{Name: "dave"})
		if err != nil {
			t.Fatal(err)
		}
		g2, err := store.CreateGroup(ctx, w.admin, w.o2, models.GroupInput{Name: "org two people"})
		if err != nil {
			t.Fatal(err)
		}
		w.grantRole(t, w.o1, "org one admins", carol.ID, []string{"this", "descendants"}, []string{models.FullGrant})
		ca := dbtest.Login(t, store, mustPasswordMethod(t, store, w.o1), "carol", "carol-password-1")

		notFound := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, models.ErrNotFound) {
				t.Errorf("%s: err = %v, want not found", what, err)
			}
		}
		_, err = store.GetRole(ctx, ca, w.targets["o2"])
		notFound("role in o2", err)
		_, err = store.GetRole(ctx, ca, "r_doesnotexist")
		notFound("missing role", err)
		_, err = store.GetRole(ctx, ca, w.targets["global"])
		notFound("role in global", err)
		_, err = store.GetUser(ctx, ca, dave.ID)
		notFound("user in o2", err)
		_, err = store.GetScope(ctx, ca, w.p2)
		notFound("project in o2", err)
		_, err = store.GetGroup(ctx, ca, g2.ID)
		notFound("group in o2", err)
		_, err = store.ListUsers(ctx, ca, w.o2, models.ListOptions{})
		notFound("list users of o2", err)
		_, err = store.CreateRole(ctx, ca, w.p2, models.RoleInput{Name: "sneaky"})
		notFound("create role in p2", err)
		_, err = store.UpdateRole(ctx, ca, w.targets["p2"], 1, models.RoleInput{Name: "x"})
		notFound("update role in p2", err)
		notFound("delete role in p2", store.DeleteRole(ctx, ca, w.targets["p2"]))
		notFound("add members to o2 group", store.AddGroupMembers(ctx, ca, g2.ID, []string{carol.ID}))

		// Her own things work, without read on her org (granted from global).
		if _, err := store.GetRole(ctx, ca, w.targets["p1"]); err != nil {
			t.Errorf("role in p1: %v", err)
		}
		p3, err := store.CreateScope(ctx, ca, w.o1, models.ScopeInput{Name: "Project three"})
		if err != nil {
			t.Errorf("create project in o1: %v", err)
		}
		if projects, err := store.ListScopes(ctx, ca, w.o1, models.ListOptions{}); err != nil || projects.Total != 2 {
			t.Errorf("projects of o1: %v %d", err, projects.Total)
		}
		if _, err := store.ListScopes(ctx, ca, w.o2, models.ListOptions{}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("projects of o2: %v", err)
		}
		if _, err := store.CreateUser(ctx, ca, w.o1, models.UserInput{Name: "erin"}); err != nil {
			t.Errorf("create user in o1: %v", err)
		}
		if _, err := store.CreateUser(ctx, ca, models.GlobalScopeID, models.UserInput{Name: "mallory"}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("create user in global: %v", err)
		}
		// Lists and counts show only org one.
		users, err := store.ListUsers(ctx, ca, "", models.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if users.Total != 2 || len(users.Items) != 2 || users.Items[0].ID != carol.ID || users.Items[1].Name != "erin" {
			t.Errorf("users = %d %+v, want carol and erin", users.Total, users.Items)
		}
		roles, err := store.ListRoles(ctx, ca, "", models.ListOptions{PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range roles.Items {
			if r.ScopeID != w.o1 && r.ScopeID != w.p1 && r.ScopeID != p3.ID {
				t.Errorf("carol lists role %s in %s", r.Name, r.ScopeID)
			}
		}
		// o1: target-o1, org one admins; p1: target-p1, Default grants; Project three: Default grants.
		if roles.Total != 5 {
			t.Errorf("roles total = %d, want 4: %+v", roles.Total, roles.Items)
		}
		groups, err := store.ListGroups(ctx, ca, "", models.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if groups.Total != 0 {
			t.Errorf("groups total = %d, want 0", groups.Total)
		}
		// A principal from another org (invisible to her) is refused like a missing one.
		r1 := w.targets["o1"]
		err = store.AddRolePrincipals(ctx, ca, r1, []string{dave.ID})
		if fe := models.FieldErrors(err); fe["principals"] == "" || !strings.Contains(fe["principals"], "There is no user") {
			t.Errorf("add dave: err = %v", err)
		}
		err = store.AddRolePrincipals(ctx, ca, r1, []string{"u_missing00000"})
		if fe := models.FieldErrors(err); !strings.Contains(fe["principals"], "There is no user") {
			t.Errorf("add missing: err = %v", err)
		}
		cands, err := store.PrincipalCandidates(ctx, ca, r1, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cands {
			if c.ID == dave.ID || c.ID == g2.ID || c.ID == w.bobID {
				t.Errorf("candidates leak %s", c.ID)
			}
		}
	})
}

func mustPasswordMethod(t *testing.T, store *models.Store, scopeID string) string {
	t.Helper()
	var id string
	if err := store.DB().Raw("SELECT id FROM auth_methods WHERE scope_id = ? AND type = 'password'", scopeID).Scan(&id).Error; err != nil || id == "" {
		t.Fatalf("password method of %s: %v", scopeID, err)
	}
	return id
}
