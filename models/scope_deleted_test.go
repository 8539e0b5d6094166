package models_test

import (
	"context"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestSessionsOutliveTheirScopes: after its project (then its org) is
// deleted, a session stays visible — All sessions, its page, Session
// history and its audit record — to exactly those whose grants covered it
// before: a role in the org with grant scope children (until the org itself
// goes, taking the role), a role in global with grant scope descendants;
// never to a role in the org with grant scope this. On both databases.
func TestSessionsOutliveTheirScopes(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		id := f.start(t).Session.ID
		grants := []string{"ids=*;type=session;actions=list,read,read-history"}
		person := func(name, scope, grantScope string) func() models.Actor {
			t.Helper()
			u, err := f.store.CreateUser(ctx, f.admin, models.GlobalScopeID, models.UserInput{Name: name, LoginName: name, Password: name + "-password"})
			mustNil(t, err)
			r, err := f.store.CreateRole(ctx, f.admin, scope, models.RoleInput{Name: name + " role"})
			mustNil(t, err)
			mustNil(t, f.store.SetRoleGrants(ctx, f.admin, r.ID, r.Version, grants))
			mustNil(t, f.store.SetRoleGrantScopes(ctx, f.admin, r.ID, r.Version+1, []string{grantScope}))
			mustNil(t, f.store.AddRolePrincipals(ctx, f.admin, r.ID, []string{u.ID}))
			return func() models.Actor { return dbtest.Login(t, f.store, f.methodID, name, name+"-password") }
		}
		orgChildren := person("orgchildren", f.org, "children")
		globalDescendants := person("globaldesc", models.GlobalScopeID, "descendants")
		orgThis := person("orgthis", f.org, "this")

		sees := func(who string, a models.Actor) bool {
			t.Helper()
			list, err := f.store.ListSessions(ctx, a, models.SessionFilter{})
			mustNil(t, err)
			hist, err := f.store.HistorySessions(ctx, a, models.HistoryPageRequest{})
			mustNil(t, err)
			_, getErr := f.store.GetSession(ctx, a, id)
			_, recErr := f.store.GetHistorySession(ctx, a, id)
			inList := len(list.Items) == 1 && list.Items[0].ID == id && list.Total == 1
			inHist := len(hist.Rows) == 1 && hist.Rows[0].SessionID == id
			if inList != inHist || inList != (getErr == nil) || inList != (recErr == nil) {
				t.Errorf("%s: All sessions %v (total %d), history %v, session page %v, record %v: want all or none",
					who, inList, list.Total, inHist, getErr, recErr)
			}
			return inList
		}
		check := func(when string, want map[string]bool) {
			t.Helper()
			for who, a := range map[string]func() models.Actor{"org children": orgChildren, "global descendants": globalDescendants, "org this": orgThis} {
				if got := sees(who, a()); got != want[who] {
					t.Errorf("%s: %s sees the session: %v, want %v", when, who, got, want[who])
				}
			}
		}
		check("before any deletion", map[string]bool{"org children": true, "global descendants": true})
		mustNil(t, f.store.DeleteScope(ctx, f.admin, f.project))
		check("after the project's deletion", map[string]bool{"org children": true, "global descendants": true})
		mustNil(t, f.store.DeleteScope(ctx, f.admin, f.org))
		check("after the org's deletion (the org's roles went with it)", map[string]bool{"global descendants": true})
	})
}
