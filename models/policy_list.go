package models

import (
	"context"
	"slices"
	"strings"

	"gatehouse/models/acl"

	"gorm.io/gorm"
)

// listCondition returns a SQL condition (with its arguments) that keeps only
// the rows of resourceType the actor may do action on, so that lists are
// filtered in the database and never after loading everything. Its shape,
// portable to SQLite and Postgres (any part left out when empty):
//
//	( Scope IN (?,…)                                 -- ids=*;type=T grants
//	  OR (Scope = ? AND Parent IN (?,…)) OR …         -- ids=<parent>;type=T grants
//	  OR (Scope = ? AND ID IN (?,…)) OR …             -- ids=<id> grants, per scope
//	  OR (Scope IN (?,…) AND Owner = ?) )             -- :self grants
//
// "1=1" when every scope is fully allowed, "1=0" when nothing is.
//
// action is the item action every kept row must allow (read,
// authorize-session, …). ActionList means what a list page shows, as in
// Boundary: the rows in the scopes where the actor may list the type's
// collection (for child types: any scope) on which it has at least one item
// action (no-op). A type-only grant never reveals an item. Errors:
// ErrUnauthenticated for an anonymous actor allowed nothing.
func (s *Store) listCondition(ctx context.Context, a Actor, resourceType string, action Action, cols ListColumns) (string, []any, error) {
	access, err := s.aclFor(ctx, a)
	if err != nil {
		return "", nil, err
	}
	tree, err := s.scopeTree(ctx, true)
	if err != nil {
		return "", nil, err
	}
	all := make([]string, 0, len(tree))
	for id := range tree {
		all = append(all, id)
	}
	slices.Sort(all)
	if resourceType == sessionType { // sessions outlive their scopes
		if access, all, err = s.withDeletedScopes(ctx, access, tree); err != nil {
			return "", nil, err
		}
	}
	act, listed := string(action), all
	if action == ActionList {
		act = string(ActionNoOp)
		if _, child := acl.ParentType(resourceType); !child {
			listed = nil
			for _, sc := range all {
				if access.Allowed(acl.Resource{Type: resourceType, ScopeID: sc}, "list").Allowed {
					listed = append(listed, sc)
				}
			}
		}
	}
	f := access.ListFilter(resourceType, act, listed)
	cond, args := listFilterSQL(f, cols, access.Principal().UserID, len(listed) == len(all))
	if cond == "1=0" && !a.Authenticated() {
		return "", nil, ErrUnauthenticated
	}
	return cond, args, nil
}

// listFilterSQL turns f into the condition documented on listCondition.
// everyScope tells that f was computed over every scope there is.
func listFilterSQL(f acl.ListFilter, cols ListColumns, userID string, everyScope bool) (string, []any) {
	if f.All && everyScope {
		return "1=1", nil
	}
	var parts []string
	var args []any
	in := func(col string, vals []string) string {
		for _, v := range vals {
			args = append(args, v)
		}
		return col + " IN (" + strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",") + ")"
	}
	if len(f.ScopeIDs) > 0 {
		parts = append(parts, in(cols.Scope, f.ScopeIDs))
	}
	perScope := func(col string, ids []acl.ScopedID) {
		if col == "" {
			return
		}
		for i := 0; i < len(ids); {
			j := i
			var vals []string
			for ; j < len(ids) && ids[j].ScopeID == ids[i].ScopeID; j++ {
				vals = append(vals, ids[j].ID)
			}
			args = append(args, ids[i].ScopeID)
			parts = append(parts, "("+cols.Scope+" = ? AND "+in(col, vals)+")")
			i = j
		}
	}
	perScope(cols.Parent, f.ParentIDs)
	perScope(cols.ID, f.IDs)
	if cols.Owner != "" && userID != "" && len(f.OwnScopeIDs) > 0 {
		c := "(" + in(cols.Scope, f.OwnScopeIDs)
		args = append(args, userID)
		parts = append(parts, c+" AND "+cols.Owner+" = ?)")
	}
	if len(parts) == 0 {
		return "1=0", nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// scopedList starts a list query over "table AS alias" joined to its scope
// (alias sc), keeping only the rows of resourceType the actor may list and,
// when scopeID is set, only that scope's rows (an unknown or invisible scope
// is ErrNotFound). The lists of scope-level resources all begin here.
func (s *Store) scopedList(ctx context.Context, a Actor, resourceType, table, alias, scopeID string) (*gorm.DB, error) {
	cond, args, err := s.listCondition(ctx, a, resourceType, ActionList, ListColumns{Scope: alias + ".scope_id", ID: alias + ".id"})
	if err != nil {
		return nil, err
	}
	q := s.q(ctx).Table(table+" AS "+alias).Joins("JOIN scopes sc ON sc.id = "+alias+".scope_id").Where(cond, args...)
	if scopeID != "" {
		if _, err := s.collectionScope(ctx, a, scopeID, resourceType, ActionList); err != nil {
			return nil, err
		}
		q = q.Where(alias+".scope_id = ?", scopeID)
	}
	return q, nil
}
