package acl

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestExplain(t *testing.T) {
	roles := []RoleGrants{aclTestRole(t, "r_1", "p_123", []string{"this"}, "ids=ttcp_1;actions=read", "ids=*;type=session;actions=read")}
	acl := NewACL(aclTestMe, roles, aclTestTree)
	readMatch := []GrantMatch{{RoleID: "r_1", RoleName: "role r_1", RoleScopeID: "p_123", GrantScope: "this", Grant: "ids=ttcp_1;actions=read"}}
	tests := []struct {
		name       string
		r          Resource
		action     string
		allowed    bool
		matches    []GrantMatch
		suggestion string
	}{
		{"allowed", Resource{Type: "target", ID: "ttcp_1", ScopeID: "p_123"}, "read", true, readMatch, ""},
		{"item action", Resource{Type: "target", ID: "ttcp_1", ScopeID: "p_123"}, "authorize-session", false, nil,
			`add a role in scope p_123 with grant "ids=ttcp_1;actions=authorize-session" and principal u_me`},
		{"top-level collection", Resource{Type: "target", ScopeID: "p_123"}, "create", false, nil,
			`add a role in scope p_123 with grant "type=target;actions=create" and principal u_me`},
		{"child collection under parent", Resource{Type: "host", ScopeID: "p_123", ParentID: "hc_1"}, "list", false, nil,
			`add a role in scope p_123 with grant "ids=hc_1;type=host;actions=list" and principal u_me`},
		{"child collection anywhere", Resource{Type: "host", ScopeID: "p_123"}, "list", false, nil,
			`add a role in scope p_123 with grant "ids=*;type=host;actions=list" and principal u_me`},
		{"child item", Resource{Type: "host", ID: "hst_1", ScopeID: "p_123", ParentID: "hc_1"}, "update", false, nil,
			`add a role in scope p_123 with grant "ids=hst_1;actions=update" and principal u_me`},
		{"own session", Resource{Type: "session", ID: "s_1", ScopeID: "p_123", OwnerUserID: "u_me"}, "cancel:self", false, nil,
			`add a role in scope p_123 with grant "ids=*;type=session;actions=cancel:self" and principal u_me`},
		{"someone else's session", Resource{Type: "session", ID: "s_2", ScopeID: "p_123", OwnerUserID: "u_other"}, "cancel:self", false, nil,
			`s_2 is not the principal's own session, so "cancel:self" cannot apply; to allow "cancel" instead, add a role in scope p_123 with grant "ids=s_2;actions=cancel" and principal u_me`},
		{"invalid action", Resource{Type: "host", ID: "hst_1", ScopeID: "p_123"}, "authorize-session", false, nil,
			`"authorize-session" is not an action on host (valid: no-op, read, update, delete, list, create)`},
		{"unknown type", Resource{Type: "widget", ID: "w_1", ScopeID: "p_123"}, "read", false, nil,
			`"widget" is not a resource type`},
		{"no scope", Resource{Type: "target", ID: "ttcp_1"}, "read", false, nil,
			"the resource has no scope; nothing can be granted on it"},
		{"item action on collection", Resource{Type: "target", ScopeID: "p_123"}, "read", false, nil,
			`"read" acts on one target: ask it with the item's id`},
		{"id of another type", Resource{Type: "host", ID: "ttcp_1", ScopeID: "p_123"}, "read", false, nil,
			`id "ttcp_1" does not denote a host, so no grant can name it`},
		{"collection action on item", Resource{Type: "target", ID: "ttcp_1", ScopeID: "p_123"}, "list", false, nil,
			`"list" is a collection action: ask it on the target collection, without an id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := acl.Explain(tt.r, []string{tt.action})
			want := []ActionExplanation{{Action: tt.action, Allowed: tt.allowed, Matches: tt.matches, Suggestion: tt.suggestion}}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Explain = %+v\nwant      %+v", got, want)
			}
		})
	}
}

func TestExplainAnonymousSuggestion(t *testing.T) {
	got := NewACL(Principal{}, nil, aclTestTree).Explain(Resource{Type: "target", ID: "ttcp_1", ScopeID: "p_1"}, []string{"read", "no-op"})
	want := []ActionExplanation{
		{Action: "read", Suggestion: `add a role in scope p_1 with grant "ids=ttcp_1;actions=read"`},
		{Action: "no-op", Suggestion: `add a role in scope p_1 with grant "ids=ttcp_1;actions=no-op"`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Explain = %+v, want %+v", got, want)
	}
}

var aclTestSuggestionRE = regexp.MustCompile(`(?:to allow "([^"]+)" instead, )?add a role in scope (\S+) with grant "([^"]+)"`)

// TestExplainSuggestionsWork follows every suggestion of the form matrix: the
// suggested grant parses, and a role holding it in the suggested scope allows
// the action (or the plain action it names instead).
func TestExplainSuggestionsWork(t *testing.T) {
	for _, form := range aclTestForms {
		r := form.r
		r.ScopeID = "p_1"
		acl := NewACL(aclTestMe, nil, aclTestTree)
		e := acl.Explain(r, []string{form.action})[0]
		m := aclTestSuggestionRE.FindStringSubmatch(e.Suggestion)
		if m == nil {
			if strings.Contains(e.Suggestion, "add a role") || e.Suggestion == "" {
				t.Errorf("%s: unexpected suggestion %q", form.name, e.Suggestion)
			}
			continue
		}
		action := form.action
		if m[1] != "" {
			action = m[1]
		}
		role := aclTestRole(t, "r_new", m[2], []string{"this"}, m[3])
		if !NewACL(aclTestMe, []RoleGrants{role}, aclTestTree).Allowed(r, action).Allowed {
			t.Errorf("%s: following %q does not allow %s on %+v", form.name, e.Suggestion, action, r)
		}
	}
}
