package models

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gatehouse/models/acl"
)

// principalTarget is a principal being added, resolved from its id.
type principalTarget struct {
	typ, scopeID string
	row          rolePrincipal
}

// resolvePrincipal finds a principal by id and checks the actor may see it
// (no-op on it) and that it may hold a role in roleScope: a principal of
// global, of the role's scope or of an ancestor of it (a global role takes
// principals of any scope).
func (s *Store) resolvePrincipal(ctx context.Context, a Actor, roleScope, id string) (*principalTarget, error) {
	if id == PrincipalAnyone || id == PrincipalAuthenticated {
		return &principalTarget{typ: "user", row: rolePrincipal{PrincipalType: "user", PrincipalID: id}}, nil
	}
	var res acl.Resource
	var row struct{ ScopeID, ParentID string }
	t, _ := acl.ResourceTypeOfID(id)
	switch t {
	case "user":
		res.Type = "user"
		err := s.q(ctx).Table("users").Select("scope_id").Where("id = ?", id).Scan(&row).Error
		if err != nil {
			return nil, err
		}
		res.OwnerUserID = id
	case "group":
		res.Type = "group"
		if err := s.q(ctx).Table("groups").Select("scope_id").Where("id = ?", id).Scan(&row).Error; err != nil {
			return nil, err
		}
	case "managed-group":
		res.Type = "managed-group"
		err := s.q(ctx).Table("managed_groups mg").Select("am.scope_id, mg.auth_method_id AS parent_id").
			Joins("JOIN auth_methods am ON am.id = mg.auth_method_id").Where("mg.id = ?", id).Scan(&row).Error
		if err != nil {
			return nil, err
		}
	default:
		return nil, Invalid("principals", fmt.Sprintf("%q is not a user, group or managed group.", id))
	}
	res.ID, res.ScopeID, res.ParentID = id, row.ScopeID, row.ParentID
	if row.ScopeID == "" || s.authorize(ctx, a, ActionNoOp, res) != nil {
		return nil, Invalid("principals", fmt.Sprintf("There is no %s %q.", res.Type, id))
	}
	tree, err := s.scopeTree(ctx, false)
	if err != nil {
		return nil, err
	}
	access := acl.NewACL(acl.Principal{}, nil, tree)
	if roleScope != GlobalScopeID && row.ScopeID != GlobalScopeID && row.ScopeID != roleScope && !access.Below(row.ScopeID, roleScope) {
		return nil, Invalid("principals", fmt.Sprintf("The %s %q lives in another organization than the role.", res.Type, id))
	}
	pt := &principalTarget{typ: res.Type, scopeID: row.ScopeID, row: rolePrincipal{PrincipalType: res.Type, PrincipalID: id}}
	switch res.Type {
	case "user":
		pt.row.UserID = &id
	case "group":
		pt.row.GroupID = &id
	default:
		pt.row.ManagedGroupID = &id
	}
	return pt, nil
}

// AddRolePrincipals adds users, groups, managed groups or the special users
// u_anon and u_auth to a role; ids already there are ignored. Errors:
// ErrInvalid (field "principals": an unknown/invisible id, or one from
// another organization), ErrNotFound, ErrForbidden.
func (s *Store) AddRolePrincipals(ctx context.Context, a Actor, roleID string, ids []string) error {
	return s.changeTx(ctx, a, ActionAddPrincipals, "role", roleID, func(tx *Store) error {
		r, err := tx.readRole(ctx, a, roleID)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionAddPrincipals, roleResource(r)); err != nil {
			return err
		}
		if len(ids) == 0 {
			return Invalid("principals", "Choose at least one principal.")
		}
		for _, id := range ids {
			pt, err := tx.resolvePrincipal(ctx, a, r.ScopeID, strings.TrimSpace(id))
			if err != nil {
				return err
			}
			var n int64
			if err := tx.q(ctx).Model(&rolePrincipal{}).Where("role_id = ? AND principal_id = ?", r.ID, pt.row.PrincipalID).Count(&n).Error; err != nil {
				return fmt.Errorf("check principal: %w", err)
			}
			if n > 0 {
				continue
			}
			pt.row.RoleID, pt.row.CreatedAt = r.ID, tx.now()
			if err := tx.q(ctx).Create(&pt.row).Error; err != nil {
				return fmt.Errorf("add principal %s: %w", id, err)
			}
		}
		return tx.bumpRole(ctx, r.ID, r.Version, nil)
	})
}

// RemoveRolePrincipals removes principals from a role; ids not there are
// ignored. Removing the last full administrator is refused (ErrConflict).
func (s *Store) RemoveRolePrincipals(ctx context.Context, a Actor, roleID string, ids []string) error {
	return s.changeTx(ctx, a, ActionRemovePrincipals, "role", roleID, func(tx *Store) error {
		r, err := tx.readRole(ctx, a, roleID)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionRemovePrincipals, roleResource(r)); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		err = tx.keepAnAdministrator(ctx, func() error {
			return tx.q(ctx).Where("role_id = ? AND principal_id IN ?", r.ID, ids).Delete(&rolePrincipal{}).Error
		})
		if err != nil {
			return err
		}
		return tx.bumpRole(ctx, r.ID, r.Version, nil)
	})
}

// PrincipalCandidates lists principals the actor may add to a role: the
// special users, then users, groups and managed groups the actor may see
// whose name matches search (at most 50 of each kind), leaving out those
// the role already has. ErrNotFound for an invisible role.
func (s *Store) PrincipalCandidates(ctx context.Context, a Actor, roleID, search string) ([]PrincipalRef, error) {
	r, err := s.readRole(ctx, a, roleID)
	if err != nil {
		return nil, err
	}
	p := likePattern(search)
	notIn := "NOT EXISTS (SELECT 1 FROM role_principals rp WHERE rp.role_id = ? AND rp.principal_id = %s)"
	var out []PrincipalRef
	for _, id := range []string{PrincipalAnyone, PrincipalAuthenticated} {
		out = append(out, PrincipalRef{ID: id, Type: "user", Name: principalLabel(id, ""), ScopeName: "Global"})
	}
	kinds := []struct {
		typ, table, name string
		cols             ListColumns
		join             string
	}{
		{"user", "users x", "CASE WHEN x.full_name <> '' THEN x.full_name ELSE x.name END",
			ListColumns{Scope: "x.scope_id", ID: "x.id", Owner: "x.id"}, "JOIN scopes sc ON sc.id = x.scope_id"},
		{"group", "groups x", "x.name", ListColumns{Scope: "x.scope_id", ID: "x.id"}, "JOIN scopes sc ON sc.id = x.scope_id"},
		{"managed-group", "managed_groups x", "x.name", ListColumns{Scope: "am.scope_id", ID: "x.id", Parent: "x.auth_method_id"},
			"JOIN auth_methods am ON am.id = x.auth_method_id JOIN scopes sc ON sc.id = am.scope_id"},
	}
	for _, k := range kinds {
		cond, args, err := s.listCondition(ctx, a, k.typ, ActionNoOp, k.cols)
		if err != nil {
			return nil, err
		}
		var rows []PrincipalRef
		err = s.q(ctx).Table(k.table).Joins(k.join).Where(cond, args...).
			Where(fmt.Sprintf(notIn, "x.id"), r.ID).Where(s.ilike(k.name), p).
			Select("x.id, '" + k.typ + "' AS type, " + k.name + " AS name, sc.name AS scope_name").
			Order("lower(" + k.name + "), x.id").Limit(50).Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("list candidate %ss: %w", k.typ, err)
		}
		out = append(out, rows...)
	}
	var have []string
	if err := s.q(ctx).Model(&rolePrincipal{}).Where("role_id = ?", r.ID).Pluck("principal_id", &have).Error; err != nil {
		return nil, fmt.Errorf("load principals: %w", err)
	}
	kept := out[:0]
	for _, c := range out {
		if !slices.Contains(have, c.ID) {
			kept = append(kept, c)
		}
	}
	return kept, nil
}
