package models

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"

	"gatehouse/models/acl"
)

// Special principals: every caller holds the roles of u_anon, every logged-in
// caller those of u_auth (Boundary's "anyone" and "any authenticated user").
const (
	PrincipalAnyone        = "u_anon"
	PrincipalAuthenticated = "u_auth"
)

// aclFor returns the actor's ACL, loading its roles on first use and keeping
// them with the Actor value (see Actor).
func (s *Store) aclFor(ctx context.Context, a Actor) (*acl.ACL, error) {
	if a.acl == nil {
		return s.loadACL(ctx, a)
	}
	a.acl.mu.Lock()
	defer a.acl.mu.Unlock()
	if a.acl.acl == nil {
		access, err := s.loadACL(ctx, a)
		if err != nil {
			return nil, err
		}
		a.acl.acl = access
	}
	return a.acl.acl, nil
}

// heldRolesSQL selects the ids of the roles held by a user (the three ?
// are its id): directly, through u_anon/u_auth, through groups and through
// the managed groups of the user's accounts. Each branch uses an index.
const heldRolesSQL = `SELECT rp.role_id FROM role_principals rp WHERE rp.principal_id IN (?, 'u_anon', 'u_auth')
 UNION SELECT rp.role_id FROM group_members gm JOIN role_principals rp ON rp.principal_id = gm.group_id WHERE gm.user_id = ?
 UNION SELECT rp.role_id FROM accounts ac JOIN managed_group_members mgm ON mgm.account_id = ac.id
   JOIN role_principals rp ON rp.principal_id = mgm.managed_group_id WHERE ac.user_id = ?`

// anonRolesSQL selects the roles of u_anon.
const anonRolesSQL = `SELECT rp.role_id FROM role_principals rp WHERE rp.principal_id = 'u_anon'`

// loadACL reads the actor's roles with their grant scopes and grants in one
// query (a second one only when access grants are in force: most requests
// made one more round trip to find none) and builds its ACL.
func (s *Store) loadACL(ctx context.Context, a Actor) (*acl.ACL, error) {
	held, args, grantsInForce, now := anonRolesSQL, []any{}, "", s.now()
	if a.Authenticated() {
		held, args = heldRolesSQL, []any{a.UserID, a.UserID, a.UserID, a.UserID, GrantActive, now, now}
		// One row of kind 'x' when time-boxed access grants are in force
		// (access_grant.go): only then are they read, by a second query.
		grantsInForce = `
UNION ALL
SELECT '', '', '', 'x', '', 0 WHERE EXISTS (SELECT 1 FROM access_grants
 WHERE user_id = ? AND state = ? AND starts_at <= ? AND ends_at > ?)`
	}
	q := `WITH held AS (` + held + `)
SELECT r.id, r.name, r.scope_id, 's' AS kind, gs.grant_scope AS value, 0 AS position
 FROM held JOIN roles r ON r.id = held.role_id JOIN role_grant_scopes gs ON gs.role_id = r.id
UNION ALL
SELECT r.id, r.name, r.scope_id, 'g', g.grant_text, g.position
 FROM held JOIN roles r ON r.id = held.role_id JOIN role_grants g ON g.role_id = r.id` + grantsInForce + `
ORDER BY 1, 4, 6`
	rows, err := s.rq(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("load roles of %s: %w", a.UserID, err)
	}
	roles, err := s.scanRoleGrants(rows)
	if err != nil {
		return nil, fmt.Errorf("load roles of %s: %w", a.UserID, err)
	}
	if len(roles) > 0 && roles[0].RoleID == "" { // the 'x' row sorts first
		roles = roles[1:]
		grants, err := s.accessGrantRoles(ctx, a.UserID, now)
		if err != nil {
			return nil, err
		}
		roles = append(roles, grants...)
	}
	return acl.NewACL(acl.Principal{UserID: a.UserID, AccountID: a.AccountID}, roles, cacheTree{s.scopes}), nil
}

// scanRoleGrants reads rows of (role id, name, scope id, kind, value,
// position), ordered by role, kind 's' rows carrying a grant scope and 'g'
// rows a grant text, into one RoleGrants per role; it closes rows.
func (s *Store) scanRoleGrants(rows *sql.Rows) ([]acl.RoleGrants, error) {
	defer rows.Close()
	var roles []acl.RoleGrants
	for rows.Next() {
		var id, name, scopeID, kind, value string
		var position int
		if err := rows.Scan(&id, &name, &scopeID, &kind, &value, &position); err != nil {
			return nil, err
		}
		if len(roles) == 0 || roles[len(roles)-1].RoleID != id {
			roles = append(roles, acl.RoleGrants{RoleID: id, RoleName: name, RoleScopeID: scopeID})
		}
		cur := &roles[len(roles)-1]
		if kind == "s" {
			cur.GrantScopes = append(cur.GrantScopes, value)
		} else if g, ok := s.grants.parse(value); ok {
			cur.Grants = append(cur.Grants, g)
		}
	}
	return roles, rows.Err()
}

// grantCache keeps a Store's parsed stored grants by their text (grants
// are immutable values, so a parse stays true); shared with the Store's
// transactions. It is bounded: past grantCacheMax entries new texts are
// parsed every time.
type grantCache struct {
	m   sync.Map // grant text → acl.Grant
	len atomic.Int64
}

const grantCacheMax = 10000

// parse parses a grant read from the database; ok is false for one that no
// longer parses (it is then ignored: it grants nothing).
func (c *grantCache) parse(text string) (acl.Grant, bool) {
	if g, ok := c.m.Load(text); ok {
		return g.(acl.Grant), true
	}
	g, err := acl.ParseGrant(text)
	if err != nil {
		return acl.Grant{}, false
	}
	if c.len.Load() < grantCacheMax {
		if _, loaded := c.m.LoadOrStore(text, g); !loaded {
			c.len.Add(1)
		}
	}
	return g, true
}

// scopeCache keeps the scope tree (id → parent id) for a Store and its
// transactions. A scope never moves, so a cached parent stays true; the map
// is reloaded whole when a scope it lacks is asked about, and before every
// list query (scopes made by another instance).
type scopeCache struct {
	mu sync.Mutex
	m  acl.ScopeParents // replaced, never mutated
}

func (c *scopeCache) get() acl.ScopeParents {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m
}

// cacheTree is the ScopeTree the ACLs read: the Store's current cache.
type cacheTree struct{ c *scopeCache }

// Parent implements ScopeTree.
func (t cacheTree) Parent(id string) (string, bool) { return t.c.get().Parent(id) }

// scopeTree returns the scope tree, reloading it when fresh is set.
func (s *Store) scopeTree(ctx context.Context, fresh bool) (acl.ScopeParents, error) {
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
	m := make(acl.ScopeParents, len(rows))
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
