package models

import (
	"context"
	"fmt"
	"sync"
)

// Special principals: every caller holds the roles of u_anon, every logged-in
// caller those of u_auth (Boundary's "anyone" and "any authenticated user").
const (
	PrincipalAnyone        = "u_anon"
	PrincipalAuthenticated = "u_auth"
)

// aclFor returns the actor's ACL, loading its roles on first use and keeping
// them with the Actor value (see Actor).
func (s *Store) aclFor(ctx context.Context, a Actor) (*ACL, error) {
	if a.acl == nil {
		return s.loadACL(ctx, a)
	}
	a.acl.mu.Lock()
	defer a.acl.mu.Unlock()
	if a.acl.acl == nil {
		acl, err := s.loadACL(ctx, a)
		if err != nil {
			return nil, err
		}
		a.acl.acl = acl
	}
	return a.acl.acl, nil
}

// heldRolesSQL selects the ids of the roles held by a user (?1) directly,
// through u_anon/u_auth, through groups (?2) and through the managed groups
// of the user's accounts (?3).
const heldRolesSQL = `SELECT rp.role_id FROM role_principals rp WHERE rp.principal_id IN (?, 'u_anon', 'u_auth')
 OR rp.principal_id IN (SELECT gm.group_id FROM group_members gm WHERE gm.user_id = ?)
 OR rp.principal_id IN (SELECT mgm.managed_group_id FROM managed_group_members mgm
   JOIN accounts ac ON ac.id = mgm.account_id WHERE ac.user_id = ?)`

// anonRolesSQL selects the roles of u_anon.
const anonRolesSQL = `SELECT rp.role_id FROM role_principals rp WHERE rp.principal_id = 'u_anon'`

// loadACL reads the actor's roles with their grant scopes and grants in one
// query and builds its ACL.
func (s *Store) loadACL(ctx context.Context, a Actor) (*ACL, error) {
	held, args := anonRolesSQL, []any{}
	if a.Authenticated() {
		held, args = heldRolesSQL, []any{a.UserID, a.UserID, a.UserID}
	}
	var rows []struct {
		ID, Name, ScopeID, Kind, Value string
		Position                       int
	}
	q := `SELECT r.id, r.name, r.scope_id, 's' AS kind, gs.grant_scope AS value, 0 AS position
 FROM roles r JOIN role_grant_scopes gs ON gs.role_id = r.id WHERE r.id IN (` + held + `)
UNION ALL
SELECT r.id, r.name, r.scope_id, 'g', g.grant_text, g.position
 FROM roles r JOIN role_grants g ON g.role_id = r.id WHERE r.id IN (` + held + `)
ORDER BY 1, 4, 6`
	if err := s.q(ctx).Raw(q, append(args, args...)...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("load roles of %s: %w", a.UserID, err)
	}
	var roles []RoleGrants
	for _, r := range rows {
		if len(roles) == 0 || roles[len(roles)-1].RoleID != r.ID {
			roles = append(roles, RoleGrants{RoleID: r.ID, RoleName: r.Name, RoleScopeID: r.ScopeID})
		}
		cur := &roles[len(roles)-1]
		if r.Kind == "s" {
			cur.GrantScopes = append(cur.GrantScopes, r.Value)
			continue
		}
		g, err := ParseGrant(r.Value)
		if err != nil {
			continue // stored grants were validated; skip one that no longer parses
		}
		cur.Grants = append(cur.Grants, g)
	}
	return NewACL(Principal{UserID: a.UserID, AccountID: a.AccountID}, roles, cacheTree{s.scopes}), nil
}

// scopeCache keeps the scope tree (id → parent id) for a Store and its
// transactions. A scope never moves, so a cached parent stays true; the map
// is reloaded whole when a scope it lacks is asked about, and before every
// list query (scopes made by another instance).
type scopeCache struct {
	mu sync.Mutex
	m  ScopeParents // replaced, never mutated
}

func (c *scopeCache) get() ScopeParents {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m
}

// cacheTree is the ScopeTree the ACLs read: the Store's current cache.
type cacheTree struct{ c *scopeCache }

// Parent implements ScopeTree.
func (t cacheTree) Parent(id string) (string, bool) { return t.c.get().Parent(id) }

// scopeTree returns the scope tree, reloading it when fresh is set.
func (s *Store) scopeTree(ctx context.Context, fresh bool) (ScopeParents, error) {
	if m := s.scopes.get(); m != nil && !fresh {
		return m, nil
	}
	var rows []struct {
		ID       string
		ParentID *string
	}
	if err := s.q(ctx).Table("scopes").Select("id, parent_id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("load scope tree: %w", err)
	}
	m := make(ScopeParents, len(rows))
	for _, r := range rows {
		m[r.ID] = ""
		if r.ParentID != nil {
			m[r.ID] = *r.ParentID
		}
	}
	s.scopes.mu.Lock()
	s.scopes.m = m
	s.scopes.mu.Unlock()
	return m, nil
}

// ensureScopes makes sure the cached tree knows every given scope id that
// exists (reloading it once if one is missing).
func (s *Store) ensureScopes(ctx context.Context, ids ...string) error {
	m := s.scopes.get()
	for _, id := range ids {
		if _, ok := m[id]; id != "" && (m == nil || !ok) {
			_, err := s.scopeTree(ctx, true)
			return err
		}
	}
	if m == nil {
		_, err := s.scopeTree(ctx, true)
		return err
	}
	return nil
}
