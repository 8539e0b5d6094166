package models_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
	"gatehouse/models/acl"
)

// TestBadGrants: every bad line gets its own message, and nothing is saved.
func TestBadGrants(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		r, err := store.CreateRole(ctx, admin, models.GlobalScopeID, models.RoleInput{Name: "r"})
		if err != nil {
			t.Fatal(err)
		}
		lines := []string{
			"ids=*;type=role;actions=read",
			"ids=*;type=rol;actions=read",
			"",
			"type=target;actions=read",
			"actions=read;type=role;ids=*",
			"ids=*;type=role;actions=read,frobnicate",
		}
		err = store.SetRoleGrants(ctx, admin, r.ID, r.Version, lines)
		fe := models.FieldErrors(err)
		want := map[string]string{
			"grants.2": "rol",
			"grants.4": "type",
			"grants.5": "repeats line 1",
			"grants.6": "frobnicate",
		}
		for k, sub := range want {
			if !strings.Contains(fe[k], sub) {
				t.Errorf("%s = %q, want it to mention %q", k, fe[k], sub)
			}
		}
		if _, ok := fe["grants.1"]; ok {
			t.Errorf("line 1 is good, got %q", fe["grants.1"])
		}
		for _, n := range []string{"Line 2:", "Line 4:", "Line 5:", "Line 6:"} {
			if !strings.Contains(fe["grants"], n) {
				t.Errorf("summary %q lacks %q", fe["grants"], n)
			}
		}
		d, err := store.GetRole(ctx, admin, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Grants) != 0 || d.Version != r.Version {
			t.Errorf("saved despite errors: %v v%d", d.Grants, d.Version)
		}
		// Good grants are stored canonically, in order.
		if err := store.SetRoleGrants(ctx, admin, r.ID, r.Version, []string{" actions=read , list;ids=* ;type=role", "ids={{ .User.Id }};actions=read"}); err != nil {
			t.Fatal(err)
		}
		d, _ = store.GetRole(ctx, admin, r.ID)
		if !slices.Equal(d.Grants, []string{"ids=*;type=role;actions=list,read", "ids={{.User.Id}};actions=read"}) {
			t.Errorf("grants = %q", d.Grants)
		}
		if err := store.SetRoleGrants(ctx, admin, r.ID, r.Version, nil); !errors.Is(err, models.ErrConflict) {
			t.Errorf("stale version: %v", err)
		}
	})
}

// TestGrantScopeValidation checks grant scopes against the tree.
func TestGrantScopeValidation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		w := newRBACWorld(t, store)
		cases := []struct {
			role   string
			scopes []string
			bad    string // substring of the message; "" = accepted
		}{
			{"global", []string{"this", "children", "descendants"}, "not both"},
			{"global", []string{"this", "@p2"}, ""},
			{"global", []string{"global"}, "use \"this\""},
			{"o1", []string{"@o2"}, "not a scope below"},
			{"o1", []string{"@p1", "this"}, ""},
			{"o1", []string{"o_nothere00000"}, "not a scope below"},
			{"p1", []string{"children"}, "project has no scopes"},
			{"p1", []string{"this"}, ""},
		}
		sc := w.scopes()
		for i, c := range cases {
			r, err := store.GetRole(ctx, w.admin, w.targets[c.role])
			if err != nil {
				t.Fatal(err)
			}
			var scopes []string
			for _, s := range c.scopes {
				if s[0] == '@' {
					s = sc[s[1:]]
				}
				scopes = append(scopes, s)
			}
			err = store.SetRoleGrantScopes(ctx, w.admin, r.ID, r.Version, scopes)
			msg := models.FieldErrors(err)["grant_scopes"]
			if c.bad == "" && err != nil || c.bad != "" && !strings.Contains(msg, c.bad) {
				t.Errorf("case %d %v on %s: err = %v, want %q", i, c.scopes, c.role, err, c.bad)
			}
		}
	})
}

// TestDefaultRoles checks the roles Bootstrap and CreateScope make.
func TestDefaultRoles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		w := newRBACWorld(t, store)
		all, err := store.ListRoles(ctx, w.admin, models.GlobalScopeID, models.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]models.RoleItem{}
		for _, r := range all.Items {
			byName[r.Name] = r
		}
		admin, err := store.GetRole(ctx, w.admin, byName[models.AdminRoleName].ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(admin.Grants, []string{models.FullGrant}) || !slices.Equal(admin.GrantScopes, []string{"descendants", "this"}) ||
			len(admin.Principals) != 1 || admin.Principals[0].ID != w.admin.UserID || admin.Principals[0].Type != "user" {
			t.Errorf("admin role = %+v", admin)
		}
		self, err := store.GetRole(ctx, w.admin, byName[models.SelfServiceRoleName].ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(self.Grants, models.SelfServiceGrants) || len(self.Principals) != 1 || self.Principals[0].ID != models.PrincipalAuthenticated {
			t.Errorf("self-service role = %+v", self)
		}
		for _, p := range []string{w.p1, w.p2} {
			page, err := store.ListRoles(ctx, w.admin, p, models.ListOptions{Search: models.DefaultProjectRoleName})
			if err != nil || len(page.Items) != 1 {
				t.Fatalf("default role of %s: %v %+v", p, err, page.Items)
			}
			d, _ := store.GetRole(ctx, w.admin, page.Items[0].ID)
			if !slices.Equal(d.Grants, models.DefaultProjectGrants) || !slices.Equal(d.GrantScopes, []string{"this"}) ||
				len(d.Principals) != 1 || d.Principals[0].ID != models.PrincipalAuthenticated {
				t.Errorf("default project role = %+v", d)
			}
		}
		for _, g := range append(slices.Clone(models.SelfServiceGrants), models.DefaultProjectGrants...) {
			if pg, err := acl.ParseGrant(g); err != nil || pg.String() != g {
				t.Errorf("grant %q is not canonical: %v %q", g, err, pg.String())
			}
		}
		// What the defaults mean for bob, a plain user.
		bob := w.bob(t)
		own := acl.Resource{Type: "session", ID: "s_1", ScopeID: w.p1, OwnerUserID: bob.UserID}
		other := acl.Resource{Type: "session", ID: "s_2", ScopeID: w.p1, OwnerUserID: w.admin.UserID}
		if got := store.Allowed(ctx, bob, own, "read:self", "cancel:self", "read"); !got["read:self"] || !got["cancel:self"] || !got["read"] {
			t.Errorf("own session: %v", got)
		}
		if got := store.Allowed(ctx, bob, other, "read:self", "cancel", "read"); got["read"] || got["cancel"] || got["read:self"] {
			t.Errorf("other's session: %v", got)
		}
		if got := store.Allowed(ctx, bob, acl.Resource{Type: "session", ScopeID: w.p1}, models.ActionList); !got[models.ActionList] {
			t.Errorf("list sessions: %v", got)
		}
		if _, err := store.GetUser(ctx, bob, bob.UserID); err != nil {
			t.Errorf("bob reads himself: %v", err)
		}
		if _, err := store.GetUser(ctx, bob, w.admin.UserID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("bob reads admin: %v", err)
		}
		if bob.Can != (models.Capabilities{}) {
			t.Errorf("bob can %+v", bob.Can)
		}
		want := models.Capabilities{Scopes: true, Users: true, Groups: true, Roles: true, AllSessions: true, SessionHistory: true, ExplainOthers: true,
			CreateUsers: true, CreateGroups: true, CreateRoles: true, CreateAuthMethods: true, Infrastructure: false, // no project in this world
			ApproveAccess: true, RequestAccess: true, ChangeLog: true, Webhooks: true}
		if w.admin.Can != want {
			t.Errorf("admin can %+v", w.admin.Can)
		}
	})
}

// TestRoleChangeNextRequest: a role change shows on the next request's actor.
func TestRoleChangeNextRequest(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		w := newRBACWorld(t, store)
		target := w.targets["o1"]
		before := w.bob(t)
		if _, err := store.GetRole(ctx, before, target); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("before: %v", err)
		}
		role := w.grantRole(t, w.o1, "readers", w.groupID, []string{"this"}, []string{"ids=*;type=role;actions=read"})
		if _, err := store.GetRole(ctx, w.bob(t), target); err != nil {
			t.Errorf("after grant: %v", err)
		}
		if err := store.RemoveGroupMembers(ctx, w.admin, w.groupID, []string{w.bobID}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.GetRole(ctx, w.bob(t), target); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("after leaving the group: %v", err)
		}
		if err := store.AddRolePrincipals(ctx, w.admin, role, []string{w.bobID}); err != nil {
			t.Fatal(err)
		}
		a := w.bob(t)
		if _, err := store.GetRole(ctx, a, target); err != nil {
			t.Errorf("as direct principal: %v", err)
		}
		if err := store.DeleteRole(ctx, w.admin, role); err != nil {
			t.Fatal(err)
		}
		if _, err := store.GetRole(ctx, w.bob(t), target); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}
	})
}

// TestKeepAnAdministrator: the last full administrator cannot be removed.
func TestKeepAnAdministrator(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		w := newRBACWorld(t, store)
		page, _ := store.ListRoles(ctx, w.admin, models.GlobalScopeID, models.ListOptions{Search: models.AdminRoleName})
		adminRole := page.Items[0]
		if err := store.RemoveRolePrincipals(ctx, w.admin, adminRole.ID, []string{w.admin.UserID}); !errors.Is(err, models.ErrConflict) {
			t.Errorf("remove last admin: %v", err)
		}
		if err := store.DeleteRole(ctx, w.admin, adminRole.ID); !errors.Is(err, models.ErrConflict) {
			t.Errorf("delete admin role: %v", err)
		}
		if err := store.SetRoleGrants(ctx, w.admin, adminRole.ID, adminRole.Version, []string{"ids=*;type=role;actions=read"}); !errors.Is(err, models.ErrConflict) {
			t.Errorf("weaken admin role: %v", err)
		}
		// An empty group reaches nobody, so it does not count.
		empty, err := store.CreateGroup(ctx, w.admin, models.GlobalScopeID, models.GroupInput{Name: "nobody yet"})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.AddRolePrincipals(ctx, w.admin, adminRole.ID, []string{empty.ID}); err != nil {
			t.Fatal(err)
		}
		lockout := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), "nobody with full access") {
				t.Errorf("%s: %v, want the lock-out conflict", what, err)
			}
		}
		lockout("remove last admin with only an empty group left", store.RemoveRolePrincipals(ctx, w.admin, adminRole.ID, []string{w.admin.UserID}))
		// With a second administrator (through a group) the first may go.
		if err := store.AddRolePrincipals(ctx, w.admin, adminRole.ID, []string{w.groupID}); err != nil {
			t.Fatal(err)
		}
		if err := store.RemoveRolePrincipals(ctx, w.admin, adminRole.ID, []string{w.admin.UserID}); err != nil {
			t.Errorf("remove admin with the group left: %v", err)
		}
		bob := w.bob(t)
		if _, err := store.GetRole(ctx, bob, adminRole.ID); err != nil {
			t.Errorf("bob as admin through ops: %v", err)
		}
		// Now bob, through ops, is the only administrator.
		lockout("remove bob from ops", store.RemoveGroupMembers(ctx, bob, w.groupID, []string{w.bobID}))
		lockout("delete ops", store.DeleteGroup(ctx, bob, w.groupID))
		// Through the managed group too, ops may go; then the managed group is the last.
		if err := store.AddRolePrincipals(ctx, bob, adminRole.ID, []string{w.mgID}); err != nil {
			t.Fatal(err)
		}
		if err := store.DeleteGroup(ctx, bob, w.groupID); err != nil {
			t.Errorf("delete ops with the managed group left: %v", err)
		}
		lockout("delete the managed group", store.DeleteManagedGroup(ctx, bob, w.mgID))
		if _, err := store.GetRole(ctx, w.bob(t), adminRole.ID); err != nil {
			t.Errorf("bob as admin through the managed group: %v", err)
		}
	})
}

// TestListSpecificIDs: a grant naming one item lists it only where the
// type's collection may be listed, and never reveals its siblings.
func TestListSpecificIDs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		w := newRBACWorld(t, store)
		one := w.targets["o1"]
		w.grantRole(t, w.o1, "one role", w.mgID, []string{"this"}, []string{"ids=" + one + ";actions=read"})
		list := func() []string {
			page, err := store.ListRoles(ctx, w.bob(t), "", models.ListOptions{PerPage: 100})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range page.Items {
				ids = append(ids, r.ID)
			}
			if int(page.Total) != len(ids) {
				t.Errorf("total %d for %v", page.Total, ids)
			}
			return ids
		}
		if got := list(); len(got) != 0 {
			t.Errorf("without list: %v", got)
		}
		if _, err := store.GetRole(ctx, w.bob(t), one); err != nil {
			t.Errorf("read by id: %v", err)
		}
		w.grantRole(t, w.o1, "list roles", w.mgID, []string{"this"}, []string{"type=role;actions=list"})
		if got := list(); !slices.Equal(got, []string{one}) {
			t.Errorf("with list: %v, want only %s", got, one)
		}
	})
}
