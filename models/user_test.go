package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

func TestUserLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		org, err := store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		u, err := store.CreateUser(ctx, admin, org.ID, models.UserInput{Name: "alice", FullName: "Alice A", Email: "alice@example.com",
			LoginName: "alice", Password: "correct horse"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u.ID, "u_") || u.ScopeID != org.ID || u.Email != "alice@example.com" {
			t.Fatalf("user = %+v", u)
		}
		d, err := store.GetUser(ctx, admin, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.ScopeName != "Acme" || len(d.Accounts) != 1 || *d.Accounts[0].LoginName != "alice" || d.Accounts[0].MethodType != "password" {
			t.Fatalf("detail = %+v", d)
		}
		// The org got its own password method; alice logs in through it.
		alice := dbtest.Login(t, store, d.Accounts[0].AuthMethodID, "ALICE", "correct horse")
		if alice.UserID != u.ID || alice.Name != "Alice A" {
			t.Fatalf("alice actor = %+v", alice)
		}
		// A user may read itself but not list or change others.
		if _, err := store.GetUser(ctx, alice, u.ID); err != nil {
			t.Fatalf("read self: %v", err)
		}
		if _, err := store.GetUser(ctx, alice, admin.UserID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("alice reads admin: %v", err)
		}
		page, err := store.ListUsers(ctx, admin, "", models.ListOptions{Search: "ALI"})
		if err != nil || page.Total != 1 || page.Items[0].LoginNames != "alice" || page.Items[0].ScopeName != "Acme" {
			t.Fatalf("search = %+v, %v", page, err)
		}
		// Same login name in the same method is refused, in another scope it is fine.
		_, err = store.CreateUser(ctx, admin, org.ID, models.UserInput{Name: "alice2", LoginName: "Alice", Password: "password1"})
		if fe := models.FieldErrors(err); !strings.Contains(fe["login_name"], "already taken") {
			t.Fatalf("duplicate login: %v", err)
		}
		if n := countUsers(t, store, admin); n != 2 {
			t.Fatalf("failed create left a user behind: %d users", n)
		}
		if _, err := store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "alice", LoginName: "alice", Password: "password1"}); err != nil {
			t.Fatalf("same login in another scope: %v", err)
		}
		// Changing the password ends the old logins.
		up, err := store.UpdateUser(ctx, admin, u.ID, u.Version, models.UserInput{Name: "alice", FullName: "Alice B", LoginName: "alice", Password: "new password!"})
		if err != nil || up.FullName != "Alice B" {
			t.Fatalf("update = %+v, %v", up, err)
		}
		if _, err := store.GetUser(ctx, admin, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := store.UpdateUser(ctx, admin, u.ID, u.Version, models.UserInput{Name: "x"}); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("stale version: %v", err)
		}
		if err := store.DeleteUser(ctx, admin, admin.UserID); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("delete self: %v", err)
		}
		if err := store.DeleteUser(ctx, admin, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := store.GetUser(ctx, admin, u.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("deleted user: %v", err)
		}
	})
}

func countUsers(t *testing.T, store *models.Store, a models.Actor) int64 {
	t.Helper()
	page, err := store.ListUsers(context.Background(), a, "", models.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return page.Total
}

func TestUserBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		org, _ := store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: "Acme"})
		proj, _ := store.CreateScope(ctx, admin, org.ID, models.ScopeInput{Name: "Proj"})
		cases := []struct {
			scope string
			in    models.UserInput
			field string
			want  string
		}{
			{"global", models.UserInput{}, "name", "Name is required."},
			{"global", models.UserInput{Name: "has space"}, "name", "Name may contain letters, digits and . _ @ + - only, and must start with a letter or digit."},
			{"global", models.UserInput{Name: strings.Repeat("a", 129)}, "name", "Name must be at most 128 characters."},
			{"global", models.UserInput{Name: "bob", Email: "not-an-email"}, "email", "Email must be an address like name@example.com."},
			{"global", models.UserInput{Name: "bob", Email: "Bob <bob@example.com>"}, "email", "Email must be an address like name@example.com."},
			{"global", models.UserInput{Name: "bob", LoginName: "bob", Password: "short"}, "password", "Password must be at least 8 characters."},
			{"global", models.UserInput{Name: "bob", LoginName: "bob"}, "password", "Password must be at least 8 characters."},
			{"global", models.UserInput{Name: "bob", Password: "long enough"}, "login_name", "A password needs a login name."},
			{"global", models.UserInput{Name: "bob", LoginName: "b b", Password: "long enough"}, "login_name", "Login name may contain letters, digits and . _ @ + - only."},
			{"global", models.UserInput{Name: "admin"}, "name", "Global already has a user named \"admin\"."},
			{proj.ID, models.UserInput{Name: "bob"}, "scope", "Users live in global or an organization, not in a project."},
		}
		for _, c := range cases {
			_, err := store.CreateUser(ctx, admin, c.scope, c.in)
			if got := models.FieldErrors(err)[c.field]; got != c.want {
				t.Errorf("%+v: %s = %q, want %q (err %v)", c.in, c.field, got, c.want, err)
			}
		}
		if n := countUsers(t, store, admin); n != 1 {
			t.Fatalf("bad input wrote users: %d", n)
		}
	})
}
