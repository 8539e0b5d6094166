package models

import (
	"context"

	"gatehouse/models/acl"
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

	// ApproveAccess, RequestAccess: holds approve-access or request-access
	// on some target (the Access requests page and its badge).
	ApproveAccess, RequestAccess bool

	// ChangeLog: may list change-log entries (type=event with list) in at
	// least one scope; Webhooks: may list webhooks (in global).
	ChangeLog, Webhooks bool
}

// capabilities computes a's Capabilities. Errors leave everything false.
func (s *Store) capabilities(ctx context.Context, a Actor) Capabilities {
	var c Capabilities
	access, err := s.aclFor(ctx, a)
	if err != nil {
		return c
	}
	tree, err := s.scopeTree(ctx, false)
	if err != nil {
		return c
	}
	may := func(access *acl.ACL, typ, act, scope string) bool {
		return access.Allowed(acl.Resource{Type: typ, ScopeID: scope}, act).Allowed
	}
	users, groups, roles := access.Only("user", "list"), access.Only("group", "list"), access.Only("role", "list")
	c.Scopes = may(access, "scope", "list", GlobalScopeID)
	scopes := make([]string, 0, len(tree))
	for id, parent := range tree {
		scopes = append(scopes, id)
		if parent == "" || parent == GlobalScopeID { // users and groups live in global and orgs
			c.Users = c.Users || may(users, "user", "list", id)
			c.Groups = c.Groups || may(groups, "group", "list", id)
		}
		c.Roles = c.Roles || may(roles, "role", "list", id)
		if parent == "" || parent == GlobalScopeID {
			c.CreateUsers = c.CreateUsers || may(access, "user", "create", id)
			c.CreateGroups = c.CreateGroups || may(access, "group", "create", id)
			c.CreateAuthMethods = c.CreateAuthMethods || may(access, "auth-method", "create", id)
		} else {
			c.Infrastructure = c.Infrastructure || may(access, "target", "create", id) ||
				may(access, "host-catalog", "create", id) || may(access, "credential-store", "create", id)
		}
		c.CreateRoles = c.CreateRoles || may(access, "role", "create", id)
	}
	c.AllSessions = len(access.Only("session", "read").ListFilter("session", "read", scopes).ScopeIDs) > 0
	c.SessionHistory = len(access.Only("session", string(ActionReadHistory)).ListFilter("session", string(ActionReadHistory), scopes).ScopeIDs) > 0
	c.ExplainOthers = len(access.Only("user", "read").ListFilter("user", "read", scopes).ScopeIDs) > 0
	c.ApproveAccess, c.RequestAccess = accessCapabilities(access, scopes)

	events := access.Only(EventType, "list")
	for _, id := range scopes {
		c.ChangeLog = c.ChangeLog || may(events, EventType, "list", id)
	}
	c.Webhooks = may(access, WebhookType, "list", GlobalScopeID)
	return c
}
