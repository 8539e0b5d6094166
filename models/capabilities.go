package models

import (
	"context"
	"slices"
)

// Capabilities are the few yes/no answers the navigation needs, computed
// from the actor's roles when its login is resolved (LoginByToken). They only
// decide which links to show; every use case still checks its own action.
type Capabilities struct {
	// Scopes: may list the organizations in global (the Scopes page).
	Scopes bool
	// Users: may list users in at least one scope (the Users page).
	Users bool
	// Groups: may list groups in at least one scope (the Groups page).
	Groups bool
	// Roles: may list roles in at least one scope (the Roles page).
	Roles bool
	// AllSessions: may read sessions of other users (ids=*;type=session with
	// read, not read:self) in at least one scope (the "All sessions" page).
	AllSessions bool
	// SessionHistory: may read the session warehouse (type=session with
	// read-history) in at least one scope (the "Session history" page).
	SessionHistory bool
	// ExplainOthers: may read users in at least one scope, so the explain
	// page may ask about someone other than the actor.
	ExplainOthers bool
	// CreateUsers, CreateGroups, CreateRoles, CreateAuthMethods: may create
	// that kind of resource in at least one scope (the "New …" buttons).
	CreateUsers, CreateGroups, CreateRoles, CreateAuthMethods bool
	// Infrastructure: may create targets, host catalogs or credential
	// stores in at least one project (the Infrastructure navigation group
	// and the global Targets list).
	Infrastructure bool
}

// capabilities computes a's Capabilities. Errors leave everything false.
func (s *Store) capabilities(ctx context.Context, a Actor) Capabilities {
	var c Capabilities
	acl, err := s.aclFor(ctx, a)
	if err != nil {
		return c
	}
	tree, err := s.scopeTree(ctx, false)
	if err != nil {
		return c
	}
	may := func(acl *ACL, typ, act, scope string) bool {
		return acl.Allowed(Resource{Type: typ, ScopeID: scope}, act).Allowed
	}
	users, groups, roles := acl.only("user", "list"), acl.only("group", "list"), acl.only("role", "list")
	c.Scopes = may(acl, "scope", "list", GlobalScopeID)
	scopes := make([]string, 0, len(tree))
	for id, parent := range tree {
		scopes = append(scopes, id)
		if parent == "" || parent == GlobalScopeID { // users and groups live in global and orgs
			c.Users = c.Users || may(users, "user", "list", id)
			c.Groups = c.Groups || may(groups, "group", "list", id)
		}
		c.Roles = c.Roles || may(roles, "role", "list", id)
		if parent == "" || parent == GlobalScopeID {
			c.CreateUsers = c.CreateUsers || may(acl, "user", "create", id)
			c.CreateGroups = c.CreateGroups || may(acl, "group", "create", id)
			c.CreateAuthMethods = c.CreateAuthMethods || may(acl, "auth-method", "create", id)
		} else {
			c.Infrastructure = c.Infrastructure || may(acl, "target", "create", id) ||
				may(acl, "host-catalog", "create", id) || may(acl, "credential-store", "create", id)
		}
		c.CreateRoles = c.CreateRoles || may(acl, "role", "create", id)
	}
	c.AllSessions = len(acl.only("session", "read").ListFilter("session", "read", scopes).ScopeIDs) > 0
	c.SessionHistory = len(acl.only("session", string(ActionReadHistory)).ListFilter("session", string(ActionReadHistory), scopes).ScopeIDs) > 0
	c.ExplainOthers = len(acl.only("user", "read").ListFilter("user", "read", scopes).ScopeIDs) > 0
	return c
}

// only returns an ACL with just the grants that name typ (or *) with action
// act (or *): the same answers for typ and act, computed faster.
func (a *ACL) only(typ, act string) *ACL {
	out := &ACL{principal: a.principal, tree: a.tree}
	for _, r := range a.roles {
		keep := r
		keep.grants = nil
		for _, g := range r.grants {
			typed := g.Type == typ || g.Type == "*" || (g.Type == "" && g.idType == typ)
			if typed && (slices.Contains(g.Actions, act) || slices.Contains(g.Actions, "*") || slices.Contains(g.Actions, act+":self")) {
				keep.grants = append(keep.grants, g)
			}
		}
		if len(keep.grants) > 0 {
			out.roles = append(out.roles, keep)
		}
	}
	return out
}
