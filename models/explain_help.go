package models

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gatehouse/models/acl"
)

// Helper is someone who can give access in a scope: a user holding a role
// that may add principals to roles there (so they can put the asker, or a
// group, in a role with the missing action). Via names that role.
type Helper struct {
	UserID string
	Name   string
	Via    string
}

// maxHelpers bounds the helpers the explain page names.
const maxHelpers = 8

// AccessHelpers names the people who can give access in scopeID ("" is the
// actor's own scope): the holders (directly, through a group or a managed
// group) of a role that may add principals to roles in that scope or one
// above it, at most maxHelpers, sorted by name. Only users the actor may
// read are named, so the answer never tells who exists beyond what the
// actor can already see; it may be empty.
// Errors: ErrUnauthenticated.
func (s *Store) AccessHelpers(ctx context.Context, a Actor, scopeID string) ([]Helper, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	if scopeID == "" {
		if err := s.q(ctx).Raw("SELECT scope_id FROM users WHERE id = ?", a.UserID).Scan(&scopeID).Error; err != nil {
			return nil, fmt.Errorf("scope of %s: %w", a.UserID, err)
		}
	}
	if err := s.ensureScopes(ctx, scopeID); err != nil {
		return nil, err
	}
	tree := s.scopes.get()
	scopes := []string{scopeID}
	for id := scopeID; ; {
		p, ok := tree.Parent(id)
		if !ok || p == "" {
			break
		}
		scopes, id = append(scopes, p), p
	}
	roles, err := s.allRoleGrants(ctx)
	if err != nil {
		return nil, err
	}
	var helpful []string
	via := map[string]string{}
	for _, r := range roles {
		one := acl.NewACL(acl.Principal{}, []acl.RoleGrants{r}, cacheTree{s.scopes})
		for _, sc := range scopes {
			if one.Allowed(acl.Resource{Type: "role", ID: PrefixRole + "_any", ScopeID: sc}, string(ActionAddPrincipals)).Allowed {
				helpful, via[r.RoleID] = append(helpful, r.RoleID), r.RoleName
				break
			}
		}
	}
	if len(helpful) == 0 {
		return nil, nil
	}
	var holders []struct{ UserID, RoleID string }
	err = s.q(ctx).Raw(`SELECT rp.principal_id AS user_id, rp.role_id FROM role_principals rp WHERE rp.role_id IN ?
 UNION SELECT gm.user_id, rp.role_id FROM role_principals rp JOIN group_members gm ON gm.group_id = rp.principal_id WHERE rp.role_id IN ?
 UNION SELECT ac.user_id, rp.role_id FROM role_principals rp JOIN managed_group_members mgm ON mgm.managed_group_id = rp.principal_id
   JOIN accounts ac ON ac.id = mgm.account_id WHERE rp.role_id IN ?`, helpful, helpful, helpful).Scan(&holders).Error
	if err != nil {
		return nil, fmt.Errorf("holders of helpful roles: %w", err)
	}
	seen := map[string]bool{}
	var out []Helper
	for _, h := range holders {
		// Direct principals may be groups or the special u_anon/u_auth.
		if seen[h.UserID] || !strings.HasPrefix(h.UserID, PrefixUser+"_") || h.UserID == PrincipalAnyone || h.UserID == PrincipalAuthenticated {
			continue
		}
		seen[h.UserID] = true
		u, err := first[User](s.q(ctx), "user", h.UserID)
		if err != nil {
			continue // gone since
		}
		if s.authorize(ctx, a, ActionRead, userResource(u)) != nil {
			continue
		}
		out = append(out, Helper{UserID: u.ID, Name: u.DisplayName(), Via: via[h.RoleID]})
		if len(out) == maxHelpers {
			break // enough names; a large group need not be read whole
		}
	}
	slices.SortFunc(out, func(x, y Helper) int { return strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)) })
	return out, nil
}

// allRoleGrants reads every role with its grant scopes and grants.
func (s *Store) allRoleGrants(ctx context.Context) ([]acl.RoleGrants, error) {
	rows, err := s.q(ctx).Raw(`SELECT r.id, r.name, r.scope_id, 's' AS kind, gs.grant_scope AS value, 0 AS position
 FROM roles r JOIN role_grant_scopes gs ON gs.role_id = r.id
UNION ALL
SELECT r.id, r.name, r.scope_id, 'g', g.grant_text, g.position FROM roles r JOIN role_grants g ON g.role_id = r.id
ORDER BY 1, 4, 6`).Rows()
	if err != nil {
		return nil, fmt.Errorf("load roles: %w", err)
	}
	roles, err := s.scanRoleGrants(rows)
	if err != nil {
		return nil, fmt.Errorf("load roles: %w", err)
	}
	return roles, nil
}

// NamedResource is something the actor may see, found by its name.
type NamedResource struct {
	Type, ID, Name string
	// Where is the scope it lives in, by name.
	Where string
}

// namedTables are the tables FindByName looks in, by resource type.
var namedTables = []struct{ typ, table string }{
	{"target", "targets"}, {"user", "users"}, {"group", "groups"}, {"role", "roles"}, {"scope", "scopes"},
	{"host-catalog", "host_catalogs"}, {"host-set", "host_sets"}, {"host", "hosts"}, {"credential-store", "credential_stores"},
	{"credential-library", "credential_libraries"}, {"credential", "credentials"}, {"auth-method", "auth_methods"},
	{"managed-group", "managed_groups"},
}

// FindByName lists what the actor may see (any action on it) whose name is
// name (any case), targets first, at most 20. Things the actor cannot see
// are never listed. Errors: ErrUnauthenticated.
func (s *Store) FindByName(ctx context.Context, a Actor, name string) ([]NamedResource, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	name = strings.TrimSpace(name)
	var out []NamedResource
	for _, t := range namedTables {
		var ids []string
		if err := s.q(ctx).Table(t.table).Where("lower(name) = lower(?)", name).Order("id").Limit(20).Pluck("id", &ids).Error; err != nil {
			return nil, fmt.Errorf("find %s named %q: %w", t.typ, name, err)
		}
		for _, id := range ids {
			res, n, err := s.resolveResource(ctx, id)
			if err != nil || s.authorize(ctx, a, ActionNoOp, res) != nil {
				continue
			}
			var where string
			if err := s.q(ctx).Raw("SELECT name FROM scopes WHERE id = ?", res.ScopeID).Scan(&where).Error; err != nil {
				return nil, fmt.Errorf("scope of %s: %w", id, err)
			}
			out = append(out, NamedResource{Type: t.typ, ID: id, Name: n, Where: where})
			if len(out) == 20 {
				return out, nil
			}
		}
	}
	return out, nil
}
