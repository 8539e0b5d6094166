package models_test

import (
	"context"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// rbacWorld is a small tree with people, for authorization tests:
//
//	global ─ o1 ─ p1
//	       └ o2 ─ p2
//
// bob (global) is in group "ops" and, through his account, in managed group
// "sre". Each scope holds one "target-<scope>" role to be seen or not.
type rbacWorld struct {
	store    *models.Store
	admin    models.Actor
	authID   string
	o1, p1   string
	o2, p2   string
	bobID    string
	bobToken string
	groupID  string
	mgID     string
	targets  map[string]string // scope key ("global", "o1", ...) → role id
}

func newRBACWorld(t *testing.T, store *models.Store) *rbacWorld {
	t.Helper()
	ctx := context.Background()
	w := &rbacWorld{store: store, targets: map[string]string{}}
	boot, err := store.Bootstrap(ctx, models.BootstrapOptions{AdminLoginName: "admin", AdminPassword: "password"})
	if err != nil {
		t.Fatal(err)
	}
	w.authID = boot.AuthMethodID
	w.admin = dbtest.Login(t, store, boot.AuthMethodID, "admin", "password")
	mk := func(parent, name string) string {
		sc, err := store.CreateScope(ctx, w.admin, parent, models.ScopeInput{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return sc.ID
	}
	w.o1 = mk(models.GlobalScopeID, "Org one")
	w.p1 = mk(w.o1, "Project one")
	w.o2 = mk(models.GlobalScopeID, "Org two")
	w.p2 = mk(w.o2, "Project two")
	bob, err := store.CreateUser(ctx, w.admin, models.GlobalScopeID, models.UserInput{Name: "bob", LoginName: "bob", Password: "bob-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	w.bobID = bob.ID
	res, err := store.AuthenticatePassword(ctx, models.PasswordLogin{AuthMethodID: w.authID, LoginName: "bob", Password: "bob-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	w.bobToken = res.Token
	g, err := store.CreateGroup(ctx, w.admin, models.GlobalScopeID, models.GroupInput{Name: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	w.groupID = g.ID
	if err := store.AddGroupMembers(ctx, w.admin, g.ID, []string{bob.ID}); err != nil {
		t.Fatal(err)
	}
	w.mgID = insertManagedGroup(t, store, w.authID, "sre", res.Login.AccountID)
	for key, sc := range w.scopes() {
		r, err := store.CreateRole(ctx, w.admin, sc, models.RoleInput{Name: "target-" + key})
		if err != nil {
			t.Fatal(err)
		}
		w.targets[key] = r.ID
	}
	return w
}

func (w *rbacWorld) scopes() map[string]string {
	return map[string]string{"global": models.GlobalScopeID, "o1": w.o1, "p1": w.p1, "o2": w.o2, "p2": w.p2}
}

// bob returns bob's actor as a fresh request would see it.
func (w *rbacWorld) bob(t *testing.T) models.Actor {
	t.Helper()
	a, _, err := w.store.LoginByToken(context.Background(), w.bobToken)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// insertManagedGroup writes a managed group of authMethodID holding
// accountID, as the OIDC login would (its own use cases live in the OIDC work).
func insertManagedGroup(t *testing.T, store *models.Store, authMethodID, name, accountID string) string {
	t.Helper()
	id := models.NewID(models.PrefixManagedGroup)
	now := store.Now()
	db := store.DB()
	if err := db.Exec("INSERT INTO managed_groups (id, auth_method_id, name, filter, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, 1)",
		id, authMethodID, name, `"sre" in "/token/groups"`, now, now).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("INSERT INTO managed_group_members (managed_group_id, account_id, created_at) VALUES (?, ?, ?)",
		id, accountID, now.Add(time.Second)).Error; err != nil {
		t.Fatal(err)
	}
	return id
}

// grantRole creates a role in scopeID with grants and grant scopes held by
// principal, as the admin.
func (w *rbacWorld) grantRole(t *testing.T, scopeID, name, principal string, grantScopes, grants []string) string {
	t.Helper()
	ctx := context.Background()
	r, err := w.store.CreateRole(ctx, w.admin, scopeID, models.RoleInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.store.SetRoleGrantScopes(ctx, w.admin, r.ID, r.Version, grantScopes); err != nil {
		t.Fatalf("grant scopes %v: %v", grantScopes, err)
	}
	if err := w.store.SetRoleGrants(ctx, w.admin, r.ID, r.Version+1, grants); err != nil {
		t.Fatalf("grants %v: %v", grants, err)
	}
	if err := w.store.AddRolePrincipals(ctx, w.admin, r.ID, []string{principal}); err != nil {
		t.Fatalf("principal %s: %v", principal, err)
	}
	return r.ID
}
