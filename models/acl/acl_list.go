package acl

import (
	"cmp"
	"slices"
)

// ScopedID is an id that counts only for items whose scope is ScopeID: the
// scope where the grant naming it applies.
type ScopedID struct {
	ScopeID string
	ID      string
}

// ListFilter says which items of one type the principal may act on among
// the listed scopes, for a list query to apply in SQL. An item is allowed
// when any of these holds (the caller also keeps scope_id among the listed
// scopes):
//
//	scope_id IN ScopeIDs
//	(scope_id, parent_id) IN ParentIDs   (child types: every item under the parent)
//	(scope_id, id) IN IDs
//	scope_id IN OwnScopeIDs AND owner = principal's user id   (the :self forms)
//
// All is true when every listed scope is in ScopeIDs. Entries in a scope that
// is in ScopeIDs are omitted. Slices are sorted; nil means none.
type ListFilter struct {
	All         bool
	ScopeIDs    []string
	ParentIDs   []ScopedID
	IDs         []ScopedID
	OwnScopeIDs []string
}

// Empty reports whether the filter allows no item at all, so the query can
// be skipped.
func (f ListFilter) Empty() bool {
	return !f.All && len(f.ScopeIDs) == 0 && len(f.ParentIDs) == 0 && len(f.IDs) == 0 && len(f.OwnScopeIDs) == 0
}

// ListFilter answers which items of resourceType the principal may perform
// action on within scopeIDs (the scopes being listed, already expanded), so
// that an item passes the filter only if Allowed on it would say yes. Use
// "no-op" for what a list may show, "read", or "authorize-session" for the
// targets one may connect to. It is conservative where the filter cannot say
// exactly: a specific-id grant of only a :self action contributes nothing.
// It returns an empty filter for list/create, an action not valid for the
// type, or no scopes.
func (a *ACL) ListFilter(resourceType, action string, scopeIDs []string) ListFilter {
	var f ListFilter
	if !aclTypeHas(resourceType, action) || IsCollectionAction(action) {
		return f
	}
	full := map[string]bool{}
	own := map[string]bool{}
	ids := map[ScopedID]bool{}
	parents := map[ScopedID]bool{}
	listed := map[string]bool{}
	for _, s := range scopeIDs {
		if s == "" || listed[s] {
			continue
		}
		listed[s] = true
		for _, role := range a.roles {
			if _, ok := a.grantScopeFor(role, s); !ok {
				continue
			}
			for _, g := range role.grants {
				cov := aclCoverage(g.Actions, action, resourceType)
				if cov == aclCoverNone {
					continue
				}
				switch {
				case len(g.IDs) == 0:
					// A type-only grant never reveals an item.
				case g.IDs[0] == "*":
					if g.Type == "*" || g.Type == resourceType {
						if cov == aclCoverFull {
							full[s] = true
						} else {
							own[s] = true
						}
					}
				case cov != aclCoverFull:
					// Specific ids with only a :self action: left out.
				case g.Type == "":
					if g.idType == resourceType {
						for _, id := range g.ids {
							ids[ScopedID{s, id}] = true
						}
					}
				default:
					if aclChildMatch(g, resourceType) {
						for _, id := range g.ids {
							parents[ScopedID{s, id}] = true
						}
					}
				}
			}
		}
	}
	for s := range listed {
		if full[s] {
			f.ScopeIDs = append(f.ScopeIDs, s)
		} else if own[s] {
			f.OwnScopeIDs = append(f.OwnScopeIDs, s)
		}
	}
	f.IDs = aclScopedNotFull(ids, full)
	f.ParentIDs = aclScopedNotFull(parents, full)
	slices.Sort(f.ScopeIDs)
	slices.Sort(f.OwnScopeIDs)
	f.All = len(listed) > 0 && len(f.ScopeIDs) == len(listed)
	return f
}

func aclScopedNotFull(set map[ScopedID]bool, full map[string]bool) []ScopedID {
	var out []ScopedID
	for k := range set {
		if !full[k.ScopeID] {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(x, y ScopedID) int {
		return cmp.Or(cmp.Compare(x.ScopeID, y.ScopeID), cmp.Compare(x.ID, y.ID))
	})
	return out
}

const (
	aclCoverNone = iota
	aclCoverOwn  // only items the principal owns
	aclCoverFull // every item the grant names
)

// aclCoverage is aclActionCovers without a resource: how far a grant's
// actions reach for act on items of type typ.
func aclCoverage(actions []string, act, typ string) int {
	switch {
	case aclActionCovers(actions, act, typ, false):
		return aclCoverFull
	case aclActionCovers(actions, act, typ, true):
		return aclCoverOwn
	}
	return aclCoverNone
}
