package models_test

import (
	"context"
	"errors"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

type counts struct{ users, accounts, logins, members int64 }

func countRows(t *testing.T, store *models.Store) counts {
	t.Helper()
	var c counts
	db := store.DB()
	db.Table("users").Count(&c.users)
	db.Table("accounts").Count(&c.accounts)
	db.Table("logins").Count(&c.logins)
	db.Table("managed_group_members").Count(&c.members)
	return c
}

func activeMethod(t *testing.T, store *models.Store, admin models.Actor, name, issuer string, primary bool) *models.OIDCMethod {
	t.Helper()
	ctx := context.Background()
	in := validOIDC(name)
	in.Issuer, in.Primary = issuer, primary
	m, err := store.CreateOIDCMethod(ctx, admin, models.GlobalScopeID, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.ChangeAuthMethodState(ctx, admin, m.ID, m.Version, models.StateActivePrivate); err != nil {
		t.Fatal(err)
	}
	return m
}

func identity(methodID, sub string, groups ...any) models.OIDCIdentity {
	return models.OIDCIdentity{AuthMethodID: methodID, Issuer: "https://idp.example.com", Subject: sub,
		TokenClaims:    map[string]any{"sub": sub, "name": "Alice Example", "preferred_username": "alice", "groups": []any{"stale"}},
		UserinfoClaims: map[string]any{"sub": sub, "mail": "alice@example.com", "groups": groups}, ClientIP: "127.0.0.1"}
}

func TestOIDCLoginLinksAccountsAndGroups(t *testing.T) {
	eachWithChecker(t, func(t *testing.T, store *models.Store, _ *error) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		m := activeMethod(t, store, admin, "Corp", "https://idp.example.com", true)
		sre, err := store.CreateManagedGroup(ctx, admin, m.ID, models.ManagedGroupInput{Name: "SRE", Filter: `"sre" in groups`})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.CreateManagedGroup(ctx, admin, m.ID, models.ManagedGroupInput{Name: "Bad", Filter: `"sre" in (`}); models.FieldErrors(err)["filter"] == "" {
			t.Errorf("unparsable filter: %v", err)
		}
		if _, err := store.CreateManagedGroup(ctx, admin, m.ID, models.ManagedGroupInput{Name: "Example mail", Filter: `mail matches "@example\\.com$"`}); err != nil {
			t.Fatal(err)
		}
		before := countRows(t, store)

		// First login through the primary method creates user + account.
		res, err := store.OIDCLogin(ctx, identity(m.ID, "alice-sub", "sre"))
		if err != nil {
			t.Fatal(err)
		}
		a, _, err := store.LoginByToken(ctx, res.Token)
		if err != nil {
			t.Fatal(err)
		}
		u, err := store.GetUser(ctx, admin, a.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "alice" || u.FullName != "Alice Example" || u.Email != "alice@example.com" || u.ScopeID != models.GlobalScopeID {
			t.Errorf("created user = %+v", u.User)
		}
		if len(u.Accounts) != 1 || *u.Accounts[0].Subject != "alice-sub" || *u.Accounts[0].Issuer != "https://idp.example.com" ||
			u.Accounts[0].MethodName != "Corp" || u.Accounts[0].Email != "alice@example.com" {
			t.Errorf("accounts = %+v", u.Accounts)
		}
		if len(u.ManagedGroups) != 2 || u.ManagedGroups[0].Name != "Example mail" || u.ManagedGroups[1].Name != "SRE" || u.ManagedGroups[1].MethodName != "Corp" {
			t.Errorf("managed groups = %+v", u.ManagedGroups)
		}
		after := countRows(t, store)
		if after.users != before.users+1 || after.accounts != before.accounts+1 || after.logins != before.logins+1 || after.members != 2 {
			t.Errorf("counts %+v → %+v", before, after)
		}

		// Second login reuses the user, refreshes name and email, leaves SRE
		// (userinfo's groups win over the ID token's), and is a new login.
		id := identity(m.ID, "alice-sub")
		id.TokenClaims["name"] = "Alice Renamed"
		res2, err := store.OIDCLogin(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if res2.Login.ID == res.Login.ID || res2.Token == res.Token {
			t.Error("second login reused the first login")
		}
		u, _ = store.GetUser(ctx, admin, a.UserID)
		if u.FullName != "Alice Renamed" || u.Accounts[0].FullName != "Alice Renamed" || len(u.ManagedGroups) != 1 || u.ManagedGroups[0].Name != "Example mail" {
			t.Errorf("after second login: user %+v, groups %+v", u.User, u.ManagedGroups)
		}
		g, err := store.GetManagedGroup(ctx, admin, sre.ID)
		if err != nil || g.Members != 0 || g.MethodName != "Corp" {
			t.Errorf("SRE group = %+v, %v", g, err)
		}
		if _, err := store.OIDCLogin(ctx, identity(m.ID, "alice-sub", "sre")); err != nil {
			t.Fatal(err)
		}
		g, _ = store.GetManagedGroup(ctx, admin, sre.ID)
		if g.Members != 1 || g.MemberList[0].UserID != a.UserID || g.MemberList[0].FullName != "Alice Example" {
			t.Errorf("SRE members = %+v", g.MemberList)
		}
		list, err := store.ListManagedGroups(ctx, admin, m.ID, models.ListOptions{Search: "sre"})
		if err != nil || list.Total != 1 || list.Items[0].Members != 1 || list.Items[0].Name != "SRE" {
			t.Errorf("list = %+v, %v", list, err)
		}
		if err := store.UpdateManagedGroup(ctx, admin, sre.ID, sre.Version, models.ManagedGroupInput{Name: "SRE", Filter: "groups ==="}); models.FieldErrors(err)["filter"] == "" {
			t.Errorf("update with bad filter: %v", err)
		}

		// Refusals change nothing.
		other := activeMethod(t, store, admin, "Other", "https://idp.example.com", false)
		before = countRows(t, store)
		refusals := map[string]models.OIDCIdentity{
			"linked elsewhere": func() models.OIDCIdentity { i := identity(other.ID, "alice-sub"); return i }(),
			"not primary":      func() models.OIDCIdentity { i := identity(other.ID, "bob-sub"); return i }(),
			"wrong issuer": func() models.OIDCIdentity {
				i := identity(m.ID, "carol")
				i.Issuer = "https://evil.example.com"
				return i
			}(),
			"no subject": identity(m.ID, ""),
		}
		for name, id := range refusals {
			var rf *models.OIDCRefusal
			if _, err := store.OIDCLogin(ctx, id); !errors.As(err, &rf) || !errors.Is(err, models.ErrUnauthenticated) {
				t.Errorf("%s: %v, want a refusal", name, err)
			}
		}
		if err := store.ChangeAuthMethodState(ctx, admin, m.ID, m.Version+1, models.StateInactive); err != nil {
			t.Fatal(err)
		}
		var rf *models.OIDCRefusal
		if _, err := store.OIDCLogin(ctx, identity(m.ID, "dave")); !errors.As(err, &rf) {
			t.Errorf("inactive method: %v", err)
		}
		if after := countRows(t, store); after != before {
			t.Errorf("refusals changed counts %+v → %+v", before, after)
		}

		// Deleting the managed group drops its membership.
		if err := store.DeleteManagedGroup(ctx, admin, sre.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := store.GetManagedGroup(ctx, admin, sre.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("deleted group: %v", err)
		}
	})
}
