package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

func TestScopeLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		org, err := store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: " Acme ", Description: "the org"})
		if err != nil {
			t.Fatal(err)
		}
		if org.Type != models.ScopeOrg || org.Name != "Acme" || !strings.HasPrefix(org.ID, "o_") {
			t.Fatalf("org = %+v", org)
		}
		proj, err := store.CreateScope(ctx, admin, org.ID, models.ScopeInput{Name: "Prod"})
		if err != nil {
			t.Fatal(err)
		}
		if proj.Type != models.ScopeProject || !strings.HasPrefix(proj.ID, "p_") {
			t.Fatalf("project = %+v", proj)
		}
		_, err = store.CreateScope(ctx, admin, proj.ID, models.ScopeInput{Name: "Nested"})
		if fe := models.FieldErrors(err); fe["parent"] == "" {
			t.Fatalf("project under project: %v", err)
		}
		_, err = store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: "acme"})
		if fe := models.FieldErrors(err); !strings.Contains(fe["name"], "already has a scope") {
			t.Fatalf("duplicate name: %v", err)
		}
		page, err := store.ListScopes(ctx, admin, models.GlobalScopeID, models.ListOptions{Search: "acm"})
		if err != nil || page.Total != 1 || page.Items[0].Children != 1 || page.Items[0].Name != "Acme" {
			t.Fatalf("list = %+v, %v", page, err)
		}
		if _, err := store.UpdateScope(ctx, admin, org.ID, org.Version+5, models.ScopeInput{Name: "X"}); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("stale version: %v", err)
		}
		up, err := store.UpdateScope(ctx, admin, org.ID, org.Version, models.ScopeInput{Name: "Acme Corp"})
		if err != nil || up.Name != "Acme Corp" || up.Version != org.Version+1 {
			t.Fatalf("update = %+v, %v", up, err)
		}
		if err := store.DeleteScope(ctx, admin, models.GlobalScopeID); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("delete global: %v", err)
		}
		if err := store.DeleteScope(ctx, admin, org.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := store.GetScope(ctx, admin, proj.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("project survived its org: %v", err)
		}
	})
}

func TestScopeBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		cases := []struct {
			in    models.ScopeInput
			field string
			want  string
		}{
			{models.ScopeInput{Name: ""}, "name", "Name is required."},
			{models.ScopeInput{Name: "   "}, "name", "Name is required."},
			{models.ScopeInput{Name: strings.Repeat("x", 129)}, "name", "Name must be at most 128 characters."},
			{models.ScopeInput{Name: "ok", Description: strings.Repeat("d", 1025)}, "description", "Description must be at most 1024 characters."},
			{models.ScopeInput{Name: "bad\x01name"}, "name", "Name contains control characters."},
		}
		for _, c := range cases {
			_, err := store.CreateScope(ctx, admin, models.GlobalScopeID, c.in)
			if got := models.FieldErrors(err)[c.field]; got != c.want {
				t.Errorf("%q: %s error = %q, want %q (err %v)", c.in.Name, c.field, got, c.want, err)
			}
		}
		page, _ := store.ListScopes(ctx, admin, models.GlobalScopeID, models.ListOptions{})
		if page.Total != 0 {
			t.Fatalf("bad input wrote %d scopes", page.Total)
		}
		if _, err := store.CreateScope(ctx, admin, "o_missing", models.ScopeInput{Name: "x"}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown parent: %v", err)
		}
		if _, err := store.CreateScope(ctx, models.Anonymous, models.GlobalScopeID, models.ScopeInput{Name: "x"}); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("anonymous: %v", err)
		}
	})
}
