package models

import (
	"reflect"
	"testing"

	"gatehouse/models/acl"
)

func TestListFilterSQL(t *testing.T) {
	cols := ListColumns{Scope: "t.scope_id", ID: "t.id", Parent: "t.parent_id", Owner: "t.user_id"}
	cases := []struct {
		name  string
		f     acl.ListFilter
		cols  ListColumns
		every bool
		sql   string
		args  []any
	}{
		{"nothing", acl.ListFilter{}, cols, true, "1=0", nil},
		{"all scopes", acl.ListFilter{All: true, ScopeIDs: []string{"global", "o_1"}}, cols, true, "1=1", nil},
		{"all listed but not every scope", acl.ListFilter{All: true, ScopeIDs: []string{"o_1"}}, cols, false,
			"(t.scope_id IN (?))", []any{"o_1"}},
		{"every shape", acl.ListFilter{
			ScopeIDs:    []string{"p_1", "p_2"},
			ParentIDs:   []acl.ScopedID{{ScopeID: "p_3", ID: "hc_1"}, {ScopeID: "p_3", ID: "hc_2"}},
			IDs:         []acl.ScopedID{{ScopeID: "p_3", ID: "t_1"}, {ScopeID: "p_4", ID: "t_2"}},
			OwnScopeIDs: []string{"p_5"},
		}, cols, true,
			"(t.scope_id IN (?,?) OR (t.scope_id = ? AND t.parent_id IN (?,?)) OR (t.scope_id = ? AND t.id IN (?)) OR (t.scope_id = ? AND t.id IN (?)) OR (t.scope_id IN (?) AND t.user_id = ?))",
			[]any{"p_1", "p_2", "p_3", "hc_1", "hc_2", "p_3", "t_1", "p_4", "t_2", "p_5", "u_me"}},
		{"columns missing: those grants allow nothing", acl.ListFilter{
			ParentIDs: []acl.ScopedID{{ScopeID: "p_3", ID: "hc_1"}}, OwnScopeIDs: []string{"p_5"},
		}, ListColumns{Scope: "t.scope_id", ID: "t.id"}, true, "1=0", nil},
	}
	for _, c := range cases {
		sql, args := listFilterSQL(c.f, c.cols, "u_me", c.every)
		if sql != c.sql || !reflect.DeepEqual(args, c.args) {
			t.Errorf("%s:\n got %s %v\nwant %s %v", c.name, sql, args, c.sql, c.args)
		}
	}
}
