package models_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// adminRoleID returns the bootstrap Administration role's id.
func adminRoleID(t *testing.T, store *models.Store, admin models.Actor) string {
	t.Helper()
	page, err := store.ListRoles(context.Background(), admin, models.GlobalScopeID, models.ListOptions{Search: models.AdminRoleName})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("administration role: %v", err)
	}
	return page.Items[0].ID
}

// TestAdminGuardCountsOnlyWhoCanLogIn: a user without any account (nobody
// can log in as it), like an empty group, does not count as an
// administrator. On both databases.
func TestAdminGuardCountsOnlyWhoCanLogIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		w := newRBACWorld(t, store)
		role := adminRoleID(t, store, w.admin)
		ghost, err := store.CreateUser(ctx, w.admin, models.GlobalScopeID, models.UserInput{Name: "ghost"}) // no login name: no account
		mustNil(t, err)
		mustNil(t, store.AddRolePrincipals(ctx, w.admin, role, []string{ghost.ID}))
		err = store.RemoveRolePrincipals(ctx, w.admin, role, []string{w.admin.UserID})
		if !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), "nobody with full access") {
			t.Fatalf("removing the last administrator who can log in: %v", err)
		}
	})
}

// TestAdminGuardUnderConcurrentRemovals: two requests at once, each
// removing a different one of the two administrators, never leave none
// (Postgres, where they would otherwise not wait for each other).
func TestAdminGuardUnderConcurrentRemovals(t *testing.T) {
	for i := 0; i < 8; i++ {
		store := dbtest.Open(t, models.Postgres, models.Options{})
		ctx := context.Background()
		w := newRBACWorld(t, store)
		role := adminRoleID(t, store, w.admin)
		mustNil(t, store.AddRolePrincipals(ctx, w.admin, role, []string{w.groupID})) // bob, through ops
		bob := w.bob(t)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		wg.Go(func() { <-start; errs[0] = store.RemoveRolePrincipals(ctx, w.admin, role, []string{w.admin.UserID}) })
		wg.Go(func() { <-start; errs[1] = store.RemoveGroupMembers(ctx, bob, w.groupID, []string{w.bobID}) })
		close(start)
		wg.Wait()
		if errs[0] == nil && errs[1] == nil {
			t.Fatalf("round %d: both removals went through: nobody administers Gatehouse", i)
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, models.ErrConflict) {
				t.Fatalf("round %d: %v", i, err)
			}
		}
	}
}
