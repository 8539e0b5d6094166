package acl

import (
	"reflect"
	"slices"
	"testing"
)

func TestListFilter(t *testing.T) {
	type role struct {
		scope       string
		grantScopes []string
		grants      []string
	}
	tests := []struct {
		name   string
		roles  []role
		typ    string
		action string
		scopes []string
		want   ListFilter
	}{
		{"star type in one project", []role{{"p_1", []string{"this"}, []string{"ids=*;type=target;actions=read"}}},
			"target", "read", []string{"p_1", "p_2"}, ListFilter{ScopeIDs: []string{"p_1"}}},
		{"descendants cover all", []role{{"global", []string{"descendants"}, []string{"ids=*;type=*;actions=*"}}},
			"target", "read", []string{"p_2", "p_1"}, ListFilter{All: true, ScopeIDs: []string{"p_1", "p_2"}}},
		{"descendants do not cover global", []role{{"global", []string{"descendants"}, []string{"ids=*;type=*;actions=*"}}},
			"user", "read", []string{"global", "o_1"}, ListFilter{ScopeIDs: []string{"o_1"}}},
		{"type-only reveals nothing", []role{{"p_1", []string{"this"}, []string{"type=target;actions=list,create,no-op"}}},
			"target", "no-op", []string{"p_1"}, ListFilter{}},
		{"star type list-only reveals nothing", []role{{"p_1", []string{"this"}, []string{"ids=*;type=target;actions=list"}}},
			"target", "no-op", []string{"p_1"}, ListFilter{}},
		{"specific ids", []role{{"p_1", []string{"this"}, []string{"ids=ttcp_2,ttcp_1;actions=read"}}},
			"target", "read", []string{"p_1", "p_2"}, ListFilter{IDs: []ScopedID{{"p_1", "ttcp_1"}, {"p_1", "ttcp_2"}}}},
		{"specific ids other action", []role{{"p_1", []string{"this"}, []string{"ids=ttcp_1;actions=read"}}},
			"target", "authorize-session", []string{"p_1"}, ListFilter{}},
		{"specific ids no-op from any item action", []role{{"p_1", []string{"this"}, []string{"ids=ttcp_1;actions=update"}}},
			"target", "no-op", []string{"p_1"}, ListFilter{IDs: []ScopedID{{"p_1", "ttcp_1"}}}},
		{"ids paired with every applicable scope", []role{{"o_1", []string{"children"}, []string{"ids=ttcp_1;actions=read"}}},
			"target", "read", []string{"p_1", "p_2", "p_3"}, ListFilter{IDs: []ScopedID{{"p_1", "ttcp_1"}, {"p_2", "ttcp_1"}}}},
		{"parent ids", []role{{"p_1", []string{"this"}, []string{"ids=hc_1,hc_2;type=host;actions=read"}}},
			"host", "read", []string{"p_1"}, ListFilter{ParentIDs: []ScopedID{{"p_1", "hc_1"}, {"p_1", "hc_2"}}}},
		{"parent ids other child type", []role{{"p_1", []string{"this"}, []string{"ids=hc_1;type=host;actions=read"}}},
			"host-set", "read", []string{"p_1"}, ListFilter{}},
		{"parent ids any child type", []role{{"p_1", []string{"this"}, []string{"ids=hc_1;type=*;actions=read"}}},
			"host-set", "read", []string{"p_1"}, ListFilter{ParentIDs: []ScopedID{{"p_1", "hc_1"}}}},
		{"full scope absorbs ids and parents", []role{{"p_1", []string{"this"}, []string{"ids=hst_1;actions=read", "ids=hc_1;type=host;actions=read", "ids=*;type=host;actions=read"}}},
			"host", "read", []string{"p_1"}, ListFilter{All: true, ScopeIDs: []string{"p_1"}}},
		{"my targets", []role{
			{"p_1", []string{"this"}, []string{"ids=ttcp_1;actions=authorize-session"}},
			{"p_2", []string{"this"}, []string{"ids=*;type=target;actions=authorize-session,read"}},
		}, "target", "authorize-session", []string{"p_1", "p_2", "p_3"},
			ListFilter{ScopeIDs: []string{"p_2"}, IDs: []ScopedID{{"p_1", "ttcp_1"}}}},
		{"own sessions", []role{{"o_1", []string{"children"}, []string{"ids=*;type=session;actions=read:self,cancel:self"}}},
			"session", "read", []string{"p_1", "p_2", "p_3"}, ListFilter{OwnScopeIDs: []string{"p_1", "p_2"}}},
		{"own sessions read:self", []role{{"p_1", []string{"this"}, []string{"ids=*;type=session;actions=read"}}},
			"session", "read:self", []string{"p_1"}, ListFilter{OwnScopeIDs: []string{"p_1"}}},
		{"own sessions no-op", []role{{"p_1", []string{"this"}, []string{"ids=*;type=session;actions=cancel:self"}}},
			"session", "no-op", []string{"p_1"}, ListFilter{OwnScopeIDs: []string{"p_1"}}},
		{"all sessions beat own", []role{
			{"p_1", []string{"this"}, []string{"ids=*;type=session;actions=read:self"}},
			{"global", []string{"descendants"}, []string{"ids=*;type=session;actions=read"}},
		}, "session", "read", []string{"p_1"}, ListFilter{All: true, ScopeIDs: []string{"p_1"}}},
		{"self on type without self", []role{{"p_1", []string{"this"}, []string{"ids=*;type=*;actions=read:self"}}},
			"target", "read", []string{"p_1"}, ListFilter{}},
		{"specific id self-only left out", []role{{"p_1", []string{"this"}, []string{"ids=s_1;actions=read:self"}}},
			"session", "read", []string{"p_1"}, ListFilter{}},
		{"template ids", []role{{"global", []string{"this"}, []string{"ids={{.User.Id}};actions=read"}}},
			"user", "read", []string{"global"}, ListFilter{IDs: []ScopedID{{"global", "u_me"}}}},
		{"collection action", []role{{"p_1", []string{"this"}, []string{"ids=*;type=*;actions=*"}}},
			"target", "list", []string{"p_1"}, ListFilter{}},
		{"invalid action", []role{{"p_1", []string{"this"}, []string{"ids=*;type=*;actions=*"}}},
			"target", "cancel", []string{"p_1"}, ListFilter{}},
		{"no scopes", []role{{"p_1", []string{"this"}, []string{"ids=*;type=*;actions=*"}}},
			"target", "read", nil, ListFilter{}},
		{"duplicate and empty scopes", []role{{"p_1", []string{"this"}, []string{"ids=*;type=*;actions=*"}}},
			"target", "read", []string{"p_1", "", "p_1"}, ListFilter{All: true, ScopeIDs: []string{"p_1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var roles []RoleGrants
			for i, r := range tt.roles {
				roles = append(roles, aclTestRole(t, "r_"+string(rune('a'+i)), r.scope, r.grantScopes, r.grants...))
			}
			got := NewACL(aclTestMe, roles, aclTestTree).ListFilter(tt.typ, tt.action, tt.scopes)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ListFilter = %+v, want %+v", got, tt.want)
			}
			if got.Empty() != reflect.DeepEqual(tt.want, ListFilter{}) {
				t.Fatalf("Empty = %v for %+v", got.Empty(), got)
			}
		})
	}
}

// aclTestFilterMatches evaluates f on r as the SQL would.
func aclTestFilterMatches(f ListFilter, r Resource, userID string) bool {
	return slices.Contains(f.ScopeIDs, r.ScopeID) ||
		slices.Contains(f.ParentIDs, ScopedID{r.ScopeID, r.ParentID}) ||
		slices.Contains(f.IDs, ScopedID{r.ScopeID, r.ID}) ||
		(slices.Contains(f.OwnScopeIDs, r.ScopeID) && r.OwnerUserID == userID && userID != "")
}

// TestListFilterAgreesWithAllowed checks, over a universe of items, that an
// item passes ListFilter exactly when Allowed says yes.
func TestListFilterAgreesWithAllowed(t *testing.T) {
	var items []Resource
	for _, s := range aclTestScopes {
		items = append(items,
			Resource{Type: "target", ID: "ttcp_1", ScopeID: s},
			Resource{Type: "target", ID: "ttcp_2", ScopeID: s},
			Resource{Type: "host", ID: "hst_1", ScopeID: s, ParentID: "hc_1"},
			Resource{Type: "host", ID: "hst_2", ScopeID: s, ParentID: "hc_2"},
			Resource{Type: "host-set", ID: "hsst_1", ScopeID: s, ParentID: "hc_1"},
			Resource{Type: "session", ID: "s_1", ScopeID: s, OwnerUserID: "u_me"},
			Resource{Type: "session", ID: "s_2", ScopeID: s, OwnerUserID: "u_other"},
			Resource{Type: "user", ID: "u_me", ScopeID: s},
			Resource{Type: "user", ID: "u_2", ScopeID: s},
		)
	}
	grantSets := [][]string{
		{"ids=*;type=*;actions=*"},
		{"ids=*;type=target;actions=read,authorize-session"},
		{"ids=ttcp_1;actions=authorize-session", "ids=hc_1;type=host;actions=read"},
		{"ids=hc_2;type=*;actions=update"},
		{"type=target;actions=list", "ids=*;type=host;actions=list"},
		{"ids=*;type=session;actions=read:self,cancel:self"},
		{"ids=*;type=session;actions=read", "ids={{.User.Id}};actions=read"},
		{"ids=*;type=*;actions=read:self", "ids=*;type=*;actions=no-op"},
	}
	actions := []string{"no-op", "read", "read:self", "update", "cancel", "cancel:self", "authorize-session"}
	types := []string{"target", "host", "host-set", "session", "user"}
	for _, sc := range aclTestScopeCases {
		for _, grants := range grantSets {
			acl := NewACL(aclTestMe, []RoleGrants{aclTestRole(t, "r_1", sc.roleScope, sc.grantScopes, grants...)}, aclTestTree)
			for _, typ := range types {
				for _, act := range actions {
					f := acl.ListFilter(typ, act, aclTestScopes)
					for _, r := range items {
						if r.Type != typ {
							continue
						}
						want := acl.Allowed(r, act).Allowed
						if got := aclTestFilterMatches(f, r, aclTestMe.UserID); got != want {
							t.Errorf("role in %s %v with %q: %s on %+v: filter %v (%+v), Allowed %v",
								sc.roleScope, sc.grantScopes, grants, act, r, got, f, want)
						}
					}
				}
			}
		}
	}
}
