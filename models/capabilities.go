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
	// ChangeLog: may list change-log entries (type=event with list) in at
	// least one scope; Webhooks: may list webhooks (in global).
	ChangeLog, Webhooks bool
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
	}
	c.AllSessions = len(acl.only("session", "read").ListFilter("session", "read", scopes).ScopeIDs) > 0
	c.SessionHistory = len(acl.only("session", string(ActionReadHistory)).ListFilter("session", string(ActionReadHistory), scopes).ScopeIDs) > 0
	c.ExplainOthers = len(acl.only("user", "read").ListFilter("user", "read", scopes).ScopeIDs) > 0
	events := acl.only(EventType, "list")
	for _, id := range scopes {
		c.ChangeLog = c.ChangeLog || may(events, EventType, "list", id)
	}
	c.Webhooks = may(acl, WebhookType, "list", GlobalScopeID)
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
