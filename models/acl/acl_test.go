package acl

import (
	"reflect"
	"slices"
	"testing"
)

// aclTestTree is global → o_1 → {p_1, p_2}, global → o_2 → p_3.
var aclTestTree = ScopeParents{"o_1": "global", "o_2": "global", "p_1": "o_1", "p_2": "o_1", "p_3": "o_2"}

var aclTestScopes = []string{"global", "o_1", "o_2", "p_1", "p_2", "p_3"}

var aclTestMe = Principal{UserID: "u_me", AccountID: "acctpw_me"}

// aclTestRole builds role r_1 "test" in scope with grant scopes and grants.
func aclTestRole(t *testing.T, id, scope string, grantScopes []string, grants ...string) RoleGrants {
	t.Helper()
	gs, err := ParseGrants(grants)
	if err != nil {
		t.Fatalf("ParseGrants: %v", err)
	}
	return RoleGrants{RoleID: id, RoleName: "role " + id, RoleScopeID: scope, GrantScopes: grantScopes, Grants: gs}
}

// The grant-form rows: one grant (or a few) against one resource and action,
// in a scope where the grant applies. Resources carry no ScopeID; the matrix
// test places them in every scope.
var aclTestForms = []struct {
	name   string
	grants []string
	r      Resource
	action string
	want   bool
	via    string // the grant expected to match, when want
}{
	// Specific ids.
	{"id read", []string{"ids=ttcp_1;actions=read"}, Resource{Type: "target", ID: "ttcp_1"}, "read", true, "ids=ttcp_1;actions=read"},
	{"id other item", []string{"ids=ttcp_1;actions=read"}, Resource{Type: "target", ID: "ttcp_2"}, "read", false, ""},
	{"id other action", []string{"ids=ttcp_1;actions=read"}, Resource{Type: "target", ID: "ttcp_1"}, "update", false, ""},
	{"id no-op from read", []string{"ids=ttcp_1;actions=read"}, Resource{Type: "target", ID: "ttcp_1"}, "no-op", true, "ids=ttcp_1;actions=read"},
	{"id authorize-session", []string{"ids=ttcp_1;actions=authorize-session"}, Resource{Type: "target", ID: "ttcp_1"}, "authorize-session", true, "ids=ttcp_1;actions=authorize-session"},
	{"id list refused", []string{"ids=ttcp_1;actions=*"}, Resource{Type: "target"}, "list", false, ""},
	{"id list on item refused", []string{"ids=ttcp_1;actions=*"}, Resource{Type: "target", ID: "ttcp_1"}, "list", false, ""},
	{"id collection no-op", []string{"ids=ttcp_1;actions=read"}, Resource{Type: "target"}, "no-op", true, "ids=ttcp_1;actions=read"},
	{"id child collection no-op", []string{"ids=hst_1;actions=read"}, Resource{Type: "host"}, "no-op", true, "ids=hst_1;actions=read"},
	{"id child collection under a parent", []string{"ids=hst_1;actions=read"}, Resource{Type: "host", ParentID: "hc_1"}, "no-op", false, ""},
	{"id second of list", []string{"ids=ttcp_1,ttcp_2;actions=read"}, Resource{Type: "target", ID: "ttcp_2"}, "read", true, "ids=ttcp_1,ttcp_2;actions=read"},
	{"id star actions", []string{"ids=ttcp_1;actions=*"}, Resource{Type: "target", ID: "ttcp_1"}, "delete", true, "ids=ttcp_1;actions=*"},
	{"id of parent is not its children", []string{"ids=hc_1;actions=read"}, Resource{Type: "host", ID: "hst_1", ParentID: "hc_1"}, "read", false, ""},
	{"id type mismatch", []string{"ids=ttcp_1;actions=read"}, Resource{Type: "host", ID: "ttcp_1"}, "read", false, ""},
	{"action invalid for type", []string{"ids=*;type=*;actions=*"}, Resource{Type: "target", ID: "ttcp_1"}, "cancel", false, ""},
	{"star is not an action to ask", []string{"ids=*;type=*;actions=*"}, Resource{Type: "target", ID: "ttcp_1"}, "*", false, ""},
	{"unknown type", []string{"ids=*;type=*;actions=*"}, Resource{Type: "widget", ID: "w_1"}, "read", false, ""},

	// Child types through the parent id.
	{"parent host read", []string{"ids=hc_1;type=host;actions=read"}, Resource{Type: "host", ID: "hst_1", ParentID: "hc_1"}, "read", true, "ids=hc_1;type=host;actions=read"},
	{"parent other catalog", []string{"ids=hc_1;type=host;actions=read"}, Resource{Type: "host", ID: "hst_2", ParentID: "hc_2"}, "read", false, ""},
	{"parent other child type", []string{"ids=hc_1;type=host;actions=read"}, Resource{Type: "host-set", ID: "hsst_1", ParentID: "hc_1"}, "read", false, ""},
	{"parent not the catalog itself", []string{"ids=hc_1;type=host;actions=read"}, Resource{Type: "host-catalog", ID: "hc_1"}, "read", false, ""},
	{"parent unknown", []string{"ids=hc_1;type=host;actions=read"}, Resource{Type: "host", ID: "hst_1"}, "read", false, ""},
	{"parent list", []string{"ids=hc_1;type=host;actions=list,create"}, Resource{Type: "host", ParentID: "hc_1"}, "list", true, "ids=hc_1;type=host;actions=create,list"},
	{"parent create", []string{"ids=hc_1;type=host;actions=list,create"}, Resource{Type: "host", ParentID: "hc_1"}, "create", true, "ids=hc_1;type=host;actions=create,list"},
	{"parent list other catalog", []string{"ids=hc_1;type=host;actions=list"}, Resource{Type: "host", ParentID: "hc_2"}, "list", false, ""},
	{"parent list without parent", []string{"ids=hc_1;type=host;actions=list"}, Resource{Type: "host"}, "list", false, ""},
	{"parent list reveals no item", []string{"ids=hc_1;type=host;actions=list"}, Resource{Type: "host", ID: "hst_1", ParentID: "hc_1"}, "no-op", false, ""},
	{"parent any child type", []string{"ids=hc_1;type=*;actions=read"}, Resource{Type: "host-set", ID: "hsst_1", ParentID: "hc_1"}, "read", true, "ids=hc_1;type=*;actions=read"},
	{"parent any child, not catalog", []string{"ids=hc_1;type=*;actions=read"}, Resource{Type: "host-catalog", ID: "hc_1"}, "read", false, ""},
	{"parent any child, other tree", []string{"ids=csvlt_1;type=*;actions=read"}, Resource{Type: "host", ID: "hst_1", ParentID: "csvlt_1"}, "read", false, ""},
	{"parent account", []string{"ids=ampw_1;type=account;actions=set-password"}, Resource{Type: "account", ID: "acctpw_2", ParentID: "ampw_1"}, "set-password", true, "ids=ampw_1;type=account;actions=set-password"},

	// ids=* with a type.
	{"star type read", []string{"ids=*;type=target;actions=read"}, Resource{Type: "target", ID: "ttcp_9"}, "read", true, "ids=*;type=target;actions=read"},
	{"star type other type", []string{"ids=*;type=target;actions=read"}, Resource{Type: "host", ID: "hst_1", ParentID: "hc_1"}, "read", false, ""},
	{"star type other action", []string{"ids=*;type=target;actions=read"}, Resource{Type: "target", ID: "ttcp_9"}, "update", false, ""},
	{"star type no list", []string{"ids=*;type=target;actions=read"}, Resource{Type: "target"}, "list", false, ""},
	{"star type list", []string{"ids=*;type=target;actions=list"}, Resource{Type: "target"}, "list", true, "ids=*;type=target;actions=list"},
	{"star type list reveals no item", []string{"ids=*;type=target;actions=list"}, Resource{Type: "target", ID: "ttcp_9"}, "no-op", false, ""},
	{"star type list collection no-op", []string{"ids=*;type=target;actions=list"}, Resource{Type: "target"}, "no-op", true, "ids=*;type=target;actions=list"},
	{"star child type any catalog", []string{"ids=*;type=host;actions=list,read"}, Resource{Type: "host"}, "list", true, "ids=*;type=host;actions=list,read"},
	{"star child type in catalog", []string{"ids=*;type=host;actions=list,read"}, Resource{Type: "host", ParentID: "hc_7"}, "list", true, "ids=*;type=host;actions=list,read"},
	{"star child type item", []string{"ids=*;type=host;actions=list,read"}, Resource{Type: "host", ID: "hst_2", ParentID: "hc_7"}, "read", true, "ids=*;type=host;actions=list,read"},
	{"star star", []string{"ids=*;type=*;actions=*"}, Resource{Type: "credential", ID: "credup_1", ParentID: "csst_1"}, "delete", true, "ids=*;type=*;actions=*"},
	{"star star create", []string{"ids=*;type=*;actions=*"}, Resource{Type: "target"}, "create", true, "ids=*;type=*;actions=*"},
	{"star star other's session", []string{"ids=*;type=*;actions=*"}, Resource{Type: "session", ID: "s_2", OwnerUserID: "u_other"}, "cancel", true, "ids=*;type=*;actions=*"},
	{"star star action for targets only", []string{"ids=*;type=*;actions=authorize-session"}, Resource{Type: "host", ID: "hst_1", ParentID: "hc_1"}, "no-op", false, ""},

	// Type-only collection grants: never an item.
	{"type list", []string{"type=target;actions=list,create"}, Resource{Type: "target"}, "list", true, "type=target;actions=create,list"},
	{"type create", []string{"type=target;actions=list,create"}, Resource{Type: "target"}, "create", true, "type=target;actions=create,list"},
	{"type collection no-op", []string{"type=target;actions=list"}, Resource{Type: "target"}, "no-op", true, "type=target;actions=list"},
	{"type never reads an item", []string{"type=target;actions=list,create,no-op"}, Resource{Type: "target", ID: "ttcp_1"}, "read", false, ""},
	{"type never reveals an item", []string{"type=target;actions=list,create,no-op"}, Resource{Type: "target", ID: "ttcp_1"}, "no-op", false, ""},
	{"type list on item refused", []string{"type=target;actions=list"}, Resource{Type: "target", ID: "ttcp_1"}, "list", false, ""},
	{"type other action", []string{"type=target;actions=list"}, Resource{Type: "target"}, "create", false, ""},
	{"type other type", []string{"type=target;actions=list"}, Resource{Type: "host", ParentID: "hc_1"}, "list", false, ""},
	{"type item action on collection", []string{"ids=*;type=*;actions=*"}, Resource{Type: "target"}, "read", false, ""},
	{"type sessions list", []string{"type=session;actions=list"}, Resource{Type: "session"}, "list", true, "type=session;actions=list"},
	{"type sessions not mine", []string{"type=session;actions=list"}, Resource{Type: "session", ID: "s_1", OwnerUserID: "u_me"}, "read", false, ""},

	// Templates.
	{"template user reads self", []string{"ids={{.User.Id}};actions=read"}, Resource{Type: "user", ID: "u_me"}, "read", true, "ids={{.User.Id}};actions=read"},
	{"template user not others", []string{"ids={{.User.Id}};actions=read"}, Resource{Type: "user", ID: "u_2"}, "read", false, ""},
	{"template user other action", []string{"ids={{.User.Id}};actions=read"}, Resource{Type: "user", ID: "u_me"}, "update", false, ""},
	{"template account", []string{"ids={{.Account.Id}};actions=read,change-password"}, Resource{Type: "account", ID: "acctpw_me", ParentID: "ampw_1"}, "change-password", true, "ids={{.Account.Id}};actions=change-password,read"},
	{"template account not others", []string{"ids={{.Account.Id}};actions=read,change-password"}, Resource{Type: "account", ID: "acctpw_2", ParentID: "ampw_1"}, "change-password", false, ""},

	// :self.
	{"self read own", []string{"ids=*;type=session;actions=read:self,cancel:self"}, Resource{Type: "session", ID: "s_1", OwnerUserID: "u_me"}, "read", true, "ids=*;type=session;actions=cancel:self,read:self"},
	{"self cancel own", []string{"ids=*;type=session;actions=read:self,cancel:self"}, Resource{Type: "session", ID: "s_1", OwnerUserID: "u_me"}, "cancel", true, "ids=*;type=session;actions=cancel:self,read:self"},
	{"self read:self own", []string{"ids=*;type=session;actions=read:self"}, Resource{Type: "session", ID: "s_1", OwnerUserID: "u_me"}, "read:self", true, "ids=*;type=session;actions=read:self"},
	{"self no-op own", []string{"ids=*;type=session;actions=read:self"}, Resource{Type: "session", ID: "s_1", OwnerUserID: "u_me"}, "no-op", true, "ids=*;type=session;actions=read:self"},
	{"self read other", []string{"ids=*;type=session;actions=read:self,cancel:self"}, Resource{Type: "session", ID: "s_2", OwnerUserID: "u_other"}, "read", false, ""},
	{"self cancel other", []string{"ids=*;type=session;actions=read:self,cancel:self"}, Resource{Type: "session", ID: "s_2", OwnerUserID: "u_other"}, "cancel", false, ""},
	{"self no-op other", []string{"ids=*;type=session;actions=read:self"}, Resource{Type: "session", ID: "s_2", OwnerUserID: "u_other"}, "no-op", false, ""},
	{"self unowned", []string{"ids=*;type=session;actions=read:self"}, Resource{Type: "session", ID: "s_3"}, "read", false, ""},
	{"self read implies read:self", []string{"ids=*;type=session;actions=read"}, Resource{Type: "session", ID: "s_1", OwnerUserID: "u_me"}, "read:self", true, "ids=*;type=session;actions=read"},
	{"self read:self needs owner", []string{"ids=*;type=session;actions=read"}, Resource{Type: "session", ID: "s_2", OwnerUserID: "u_other"}, "read:self", false, ""},
	{"self read reads others", []string{"ids=*;type=session;actions=read"}, Resource{Type: "session", ID: "s_2", OwnerUserID: "u_other"}, "read", true, "ids=*;type=session;actions=read"},
	{"self star own", []string{"ids=*;type=session;actions=*"}, Resource{Type: "session", ID: "s_1", OwnerUserID: "u_me"}, "cancel:self", true, "ids=*;type=session;actions=*"},
	{"self star other", []string{"ids=*;type=session;actions=*"}, Resource{Type: "session", ID: "s_2", OwnerUserID: "u_other"}, "cancel:self", false, ""},
	{"self specific id", []string{"ids=s_1;actions=cancel:self"}, Resource{Type: "session", ID: "s_1", OwnerUserID: "u_me"}, "cancel", true, "ids=s_1;actions=cancel:self"},
	{"self auth token", []string{"ids=*;type=auth-token;actions=delete:self"}, Resource{Type: "auth-token", ID: "at_1", OwnerUserID: "u_me"}, "delete", true, "ids=*;type=auth-token;actions=delete:self"},
	{"self on type without self", []string{"ids=*;type=*;actions=read:self"}, Resource{Type: "target", ID: "ttcp_1", OwnerUserID: "u_me"}, "read", false, ""},

	// Several grants: every matching one is reported, in order.
	{"two grants match", []string{"ids=ttcp_1;actions=read", "type=target;actions=list", "ids=*;type=target;actions=read"}, Resource{Type: "target", ID: "ttcp_1"}, "read", true, "ids=ttcp_1;actions=read|ids=*;type=target;actions=read"},
}

// aclTestScopeCases says where a role's grants apply, for the matrix.
var aclTestScopeCases = []struct {
	roleScope   string
	grantScopes []string
	applies     []string
	via         []string // grant scope entry reported per applied scope, same order
}{
	{"global", []string{"this"}, []string{"global"}, []string{"this"}},
	{"global", []string{"children"}, []string{"o_1", "o_2"}, []string{"children", "children"}},
	{"global", []string{"descendants"}, []string{"o_1", "o_2", "p_1", "p_2", "p_3"}, []string{"descendants", "descendants", "descendants", "descendants", "descendants"}},
	{"global", []string{"p_1"}, []string{"p_1"}, []string{"p_1"}},
	{"global", []string{"o_2"}, []string{"o_2"}, []string{"o_2"}},
	{"global", []string{"this", "children"}, []string{"global", "o_1", "o_2"}, []string{"this", "children", "children"}},
	{"global", []string{"p_9"}, nil, nil}, // unknown to the tree
	{"o_1", []string{"this"}, []string{"o_1"}, []string{"this"}},
	{"o_1", []string{"children"}, []string{"p_1", "p_2"}, []string{"children", "children"}},
	{"o_1", []string{"descendants"}, []string{"p_1", "p_2"}, []string{"descendants", "descendants"}},
	{"o_1", []string{"p_2"}, []string{"p_2"}, []string{"p_2"}},
	{"o_1", []string{"o_1"}, []string{"o_1"}, []string{"o_1"}},
	{"o_1", []string{"p_3"}, nil, nil},    // not below the role's scope
	{"o_1", []string{"global"}, nil, nil}, // above the role's scope
	{"o_1", []string{"p_1", "children"}, []string{"p_1", "p_2"}, []string{"p_1", "children"}},
	{"p_1", []string{"this"}, []string{"p_1"}, []string{"this"}},
	{"p_1", []string{"children"}, nil, nil},
	{"p_1", []string{"descendants"}, nil, nil},
	{"p_1", []string{"p_2"}, nil, nil}, // a sibling
	{"p_1", nil, nil, nil},             // no grant scopes: nothing
}

// TestAllowedMatrix crosses every grant form with every grant-scope case and
// every scope of the tree: allowed exactly when the form allows and the scope
// is covered, with the right match.
func TestAllowedMatrix(t *testing.T) {
	for _, sc := range aclTestScopeCases {
		for _, form := range aclTestForms {
			role := aclTestRole(t, "r_1", sc.roleScope, sc.grantScopes, form.grants...)
			acl := NewACL(aclTestMe, []RoleGrants{role}, aclTestTree)
			for _, scope := range aclTestScopes {
				r := form.r
				r.ScopeID = scope
				got := acl.Allowed(r, form.action)
				want := Decision{}
				if i := slices.Index(sc.applies, scope); i >= 0 && form.want {
					want.Allowed = true
					for _, g := range splitVia(form.via) {
						want.Matches = append(want.Matches, GrantMatch{RoleID: "r_1", RoleName: "role r_1", RoleScopeID: sc.roleScope, GrantScope: sc.via[i], Grant: g})
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("role in %s %v, %s: %s %+v in %s = %+v, want %+v", sc.roleScope, sc.grantScopes, form.name, form.action, form.r, scope, got, want)
				}
			}
		}
	}
}

func splitVia(via string) []string {
	if via == "" {
		return nil
	}
	var out []string
	start := 0
	for i := 0; i <= len(via); i++ {
		if i == len(via) || via[i] == '|' {
			out = append(out, via[start:i])
			start = i + 1
		}
	}
	return out
}

func TestAllowedSeveralRoles(t *testing.T) {
	roles := []RoleGrants{
		aclTestRole(t, "r_a", "global", []string{"descendants"}, "ids=*;type=target;actions=read"),
		aclTestRole(t, "r_b", "p_2", []string{"this"}, "ids=ttcp_1;actions=read"), // wrong project
		aclTestRole(t, "r_c", "o_1", []string{"p_1"}, "ids=ttcp_1;actions=read,update"),
	}
	acl := NewACL(aclTestMe, roles, aclTestTree)
	got := acl.Allowed(Resource{Type: "target", ID: "ttcp_1", ScopeID: "p_1"}, "read")
	want := Decision{Allowed: true, Matches: []GrantMatch{
		{RoleID: "r_a", RoleName: "role r_a", RoleScopeID: "global", GrantScope: "descendants", Grant: "ids=*;type=target;actions=read"},
		{RoleID: "r_c", RoleName: "role r_c", RoleScopeID: "o_1", GrantScope: "p_1", Grant: "ids=ttcp_1;actions=read,update"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Allowed = %+v, want %+v", got, want)
	}
}

func TestAllowedEdgeCases(t *testing.T) {
	all := func(t *testing.T) []RoleGrants {
		return []RoleGrants{aclTestRole(t, "r_1", "global", []string{"this", "descendants"}, "ids={{.User.Id}};actions=read", "ids=*;type=session;actions=read:self")}
	}
	tests := []struct {
		name string
		p    Principal
		tree ScopeTree
		r    Resource
		act  string
		want bool
	}{
		{"anonymous template matches nothing", Principal{}, aclTestTree, Resource{Type: "user", ID: "u_me", ScopeID: "global"}, "read", false},
		{"anonymous owns nothing", Principal{}, aclTestTree, Resource{Type: "session", ID: "s_1", ScopeID: "p_1"}, "read", false},
		{"owner set, principal matches", aclTestMe, aclTestTree, Resource{Type: "session", ID: "s_1", ScopeID: "p_1", OwnerUserID: "u_me"}, "read", true},
		{"no scope", aclTestMe, aclTestTree, Resource{Type: "user", ID: "u_me"}, "read", false},
		{"nil tree: this still works", aclTestMe, nil, Resource{Type: "user", ID: "u_me", ScopeID: "global"}, "read", true},
		{"nil tree: no descendants", aclTestMe, nil, Resource{Type: "session", ID: "s_1", ScopeID: "p_1", OwnerUserID: "u_me"}, "read", false},
		{"cyclic tree terminates", aclTestMe, ScopeParents{"p_1": "p_x", "p_x": "p_1"}, Resource{Type: "session", ID: "s_1", ScopeID: "p_1", OwnerUserID: "u_me"}, "read", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acl := NewACL(tt.p, all(t), tt.tree)
			if got := acl.Allowed(tt.r, tt.act); got.Allowed != tt.want || (len(got.Matches) > 0) != tt.want {
				t.Fatalf("Allowed = %+v, want allowed %v", got, tt.want)
			}
		})
	}
}

func TestNewACLCopiesInput(t *testing.T) {
	roles := []RoleGrants{aclTestRole(t, "r_1", "p_1", []string{"this"}, "ids=ttcp_1;actions=read")}
	acl := NewACL(aclTestMe, roles, aclTestTree)
	roles[0].GrantScopes[0] = "children"
	roles[0].Grants[0] = Grant{}
	if !acl.Allowed(Resource{Type: "target", ID: "ttcp_1", ScopeID: "p_1"}, "read").Allowed {
		t.Fatal("mutating the roles after NewACL changed the ACL")
	}
}

func TestScopeParents(t *testing.T) {
	tree := ScopeParents{"o_1": "global", "global": ""}
	for _, tt := range []struct {
		id, parent string
		ok         bool
	}{{"o_1", "global", true}, {"global", "", false}, {"p_9", "", false}} {
		if p, ok := tree.Parent(tt.id); p != tt.parent || ok != tt.ok {
			t.Errorf("Parent(%q) = %q, %v; want %q, %v", tt.id, p, ok, tt.parent, tt.ok)
		}
	}
}

func TestAllowedActions(t *testing.T) {
	roles := []RoleGrants{aclTestRole(t, "r_1", "p_1", []string{"this"}, "ids=ttcp_1;actions=read,authorize-session")}
	acl := NewACL(aclTestMe, roles, aclTestTree)
	r := Resource{Type: "target", ID: "ttcp_1", ScopeID: "p_1"}
	got := acl.AllowedActions(r, []string{"update", "authorize-session", "bogus", "read", "delete"})
	if want := []string{"authorize-session", "read"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("AllowedActions = %q, want %q", got, want)
	}
	if got := acl.AllowedActions(r, []string{"delete"}); got != nil {
		t.Fatalf("AllowedActions = %q, want nil", got)
	}
}
