package models

import "context"

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
	// ExplainOthers: may read users in at least one scope, so the explain
	// page may ask about someone other than the actor.
	ExplainOthers bool
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
	may := func(typ, act, scope string) bool {
		return acl.Allowed(Resource{Type: typ, ScopeID: scope}, act).Allowed
	}
	c.Scopes = may("scope", "list", GlobalScopeID)
	scopes := make([]string, 0, len(tree))
	for id := range tree {
		scopes = append(scopes, id)
		c.Users = c.Users || may("user", "list", id)
		c.Groups = c.Groups || may("group", "list", id)
		c.Roles = c.Roles || may("role", "list", id)
	}
	c.AllSessions = len(acl.ListFilter("session", "read", scopes).ScopeIDs) > 0
	c.ExplainOthers = len(acl.ListFilter("user", "read", scopes).ScopeIDs) > 0
	return c
}
