package models_test

import (
	"context"
	"errors"
	"slices"
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
			if pg, err := models.ParseGrant(g); err != nil || pg.String() != g {
				t.Errorf("grant %q is not canonical: %v %q", g, err, pg.String())
			}
		}
		// What the defaults mean for bob, a plain user.
		bob := w.bob(t)
		own := models.Resource{Type: "session", ID: "s_1", ScopeID: w.p1, OwnerUserID: bob.UserID}
		other := models.Resource{Type: "session", ID: "s_2", ScopeID: w.p1, OwnerUserID: w.admin.UserID}
		if got := store.Allowed(ctx, bob, own, "read:self", "cancel:self", "read"); !got["read:self"] || !got["cancel:self"] || !got["read"] {
			t.Errorf("own session: %v", got)
		}
		if got := store.Allowed(ctx, bob, other, "read:self", "cancel", "read"); got["read"] || got["cancel"] || got["read:self"] {
			t.Errorf("other's session: %v", got)
		}
		if got := store.Allowed(ctx, bob, models.Resource{Type: "session", ScopeID: w.p1}, models.ActionList); !got[models.ActionList] {
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
		want := models.Capabilities{Scopes: true, Users: true, Groups: true, Roles: true, AllSessions: true, SessionHistory: true, ExplainOthers: true}
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
		// With a second administrator (through a group) the first may go.
		if err := store.AddRolePrincipals(ctx, w.admin, adminRole.ID, []string{w.groupID}); err != nil {
			t.Fatal(err)
		}
		if err := store.RemoveRolePrincipals(ctx, w.admin, adminRole.ID, []string{w.admin.UserID}); err != nil {
			t.Errorf("remove admin with the group left: %v", err)
		}
		if _, err := store.GetRole(ctx, w.bob(t), adminRole.ID); err != nil {
			t.Errorf("bob as admin through ops: %v", err)
		}
	})
}
