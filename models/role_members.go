package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gatehouse/models/acl"
)

type rolePrincipal struct {
	RoleID         string
	PrincipalType  string
	PrincipalID    string
	UserID         *string
	GroupID        *string
	ManagedGroupID *string
	CreatedAt      time.Time
}

type roleGrantScope struct {
	RoleID     string
	GrantScope string
	CreatedAt  time.Time
}

type roleGrant struct {
	RoleID    string
	Position  int
	GrantText string
	CreatedAt time.Time
}

// rolePrincipals lists a role's principals with display names.
func (s *Store) rolePrincipals(ctx context.Context, roleID string) ([]PrincipalRef, error) {
	var out []PrincipalRef
	err := s.q(ctx).Raw(`SELECT p.principal_id AS id, p.principal_type AS type,
 COALESCE(CASE WHEN u.full_name <> '' THEN u.full_name ELSE u.name END, g.name, mg.name, '') AS name,
 COALESCE(us.name, gs.name, ms.name, '') AS scope_name
 FROM role_principals p
 LEFT JOIN users u ON u.id = p.user_id LEFT JOIN scopes us ON us.id = u.scope_id
 LEFT JOIN groups g ON g.id = p.group_id LEFT JOIN scopes gs ON gs.id = g.scope_id
 LEFT JOIN managed_groups mg ON mg.id = p.managed_group_id
 LEFT JOIN auth_methods am ON am.id = mg.auth_method_id LEFT JOIN scopes ms ON ms.id = am.scope_id
 WHERE p.role_id = ? ORDER BY p.principal_type DESC, 3, p.principal_id`, roleID).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("load principals: %w", err)
	}
	for i := range out {
		out[i].Name = principalLabel(out[i].ID, out[i].Name)
	}
	return out, nil
}

// principalLabel names the special principals.
func principalLabel(id, name string) string {
	switch id {
	case PrincipalAnyone:
		return "Anyone (u_anon)"
	case PrincipalAuthenticated:
		return "Any authenticated user (u_auth)"
	}
	return name
}

// SetRoleGrants replaces a role's grants. Each entry (a line of the form;
// blank lines are ignored) must parse with ParseGrant; grants are stored in
// canonical form. Errors: ErrInvalid with field "grants" summarising every
// bad line and "grants.N" (N = 1-based line) for each, ErrConflict (version,
// or it would remove the last full administrator), ErrNotFound, ErrForbidden.
func (s *Store) SetRoleGrants(ctx context.Context, a Actor, id string, version int, lines []string) error {
	return s.changeTx(ctx, a, ActionSetGrants, "role", id, func(tx *Store) error {
		r, err := tx.readRole(ctx, a, id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionSetGrants, roleResource(r)); err != nil {
			return err
		}
		grants, err := canonicalGrants(lines)
		if err != nil {
			return err
		}
		if err := tx.bumpRole(ctx, id, version, nil); err != nil {
			return err
		}
		return tx.keepAnAdministrator(ctx, func() error {
			if err := tx.q(ctx).Where("role_id = ?", id).Delete(&roleGrant{}).Error; err != nil {
				return fmt.Errorf("clear grants: %w", err)
			}
			return tx.writeGrants(ctx, id, grants)
		})
	})
}

// canonicalGrants parses grant lines, reporting every bad or repeated line.
func canonicalGrants(lines []string) ([]string, error) {
	v := validator{}
	var out, msgs []string
	seen := map[string]int{}
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		n := i + 1
		g, err := acl.ParseGrant(line)
		var msg string
		switch {
		case err != nil:
			msg = err.(*acl.GrantError).Reason
		case seen[g.String()] > 0:
			msg = fmt.Sprintf("repeats line %d", seen[g.String()])
		default:
			seen[g.String()] = n
			out = append(out, g.String())
			continue
		}
		v.add(fmt.Sprintf("grants.%d", n), msg)
		msgs = append(msgs, fmt.Sprintf("Line %d: %s.", n, msg))
	}
	if len(out) > 100 {
		v.add("grants", "A role has at most 100 grants.")
	}
	if len(msgs) > 0 {
		v.add("grants", strings.Join(msgs, " "))
	}
	return out, v.err()
}

func (s *Store) writeGrants(ctx context.Context, roleID string, grants []string) error {
	for i, g := range grants {
		if err := s.q(ctx).Create(&roleGrant{RoleID: roleID, Position: i, GrantText: g, CreatedAt: s.now()}).Error; err != nil {
			return fmt.Errorf("save grant %q: %w", g, err)
		}
	}
	return nil
}

func (s *Store) writeGrantScopes(ctx context.Context, roleID string, scopes []string) error {
	for _, gs := range scopes {
		if err := s.q(ctx).Create(&roleGrantScope{RoleID: roleID, GrantScope: gs, CreatedAt: s.now()}).Error; err != nil {
			return fmt.Errorf("save grant scope %q: %w", gs, err)
		}
	}
	return nil
}

// SetRoleGrantScopes replaces where a role's grants apply: "this",
// "children", "descendants" (not both of the last two; neither on a project
// role) and ids of scopes below the role's scope. Authorized as update on
// the role. Errors: ErrInvalid (field "grant_scopes"), ErrConflict,
// ErrNotFound, ErrForbidden.
func (s *Store) SetRoleGrantScopes(ctx context.Context, a Actor, id string, version int, grantScopes []string) error {
	return s.changeTx(ctx, a, "set-grant-scopes", "role", id, func(tx *Store) error {
		r, err := tx.readRole(ctx, a, id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionUpdate, roleResource(r)); err != nil {
			return err
		}
		tree, err := tx.scopeTree(ctx, true)
		if err != nil {
			return err
		}
		clean, err := validGrantScopes(r.ScopeID, grantScopes, tree)
		if err != nil {
			return err
		}
		if err := tx.bumpRole(ctx, id, version, nil); err != nil {
			return err
		}
		return tx.keepAnAdministrator(ctx, func() error {
			if err := tx.q(ctx).Where("role_id = ?", id).Delete(&roleGrantScope{}).Error; err != nil {
				return fmt.Errorf("clear grant scopes: %w", err)
			}
			return tx.writeGrantScopes(ctx, id, clean)
		})
	})
}

// validGrantScopes checks grant scopes against the role's scope and the tree.
func validGrantScopes(roleScope string, in []string, tree acl.ScopeParents) ([]string, error) {
	access := acl.NewACL(acl.Principal{}, nil, tree)
	var out []string
	fail := func(msg string) ([]string, error) { return nil, Invalid("grant_scopes", msg) }
	isProject := tree[roleScope] != "" && tree[tree[roleScope]] != ""
	for _, gs := range in {
		gs = strings.TrimSpace(gs)
		switch {
		case gs == "" || slices.Contains(out, gs):
			continue
		case gs == acl.GrantScopeThis:
		case gs == acl.GrantScopeChildren || gs == acl.GrantScopeDescendants:
			if isProject {
				return fail(fmt.Sprintf("A project has no scopes below it, so %q does not apply.", gs))
			}
		case gs == roleScope:
			return fail(fmt.Sprintf("%q is the role's own scope: use \"this\".", gs))
		default:
			if _, ok := tree[gs]; !ok || !access.Below(roleScope, gs) {
				return fail(fmt.Sprintf("%q is not a scope below the role's scope.", gs))
			}
		}
		out = append(out, gs)
	}
	if slices.Contains(out, acl.GrantScopeChildren) && slices.Contains(out, acl.GrantScopeDescendants) {
		return fail(`Choose "children" or "descendants", not both (descendants include the children).`)
	}
	slices.Sort(out)
	return out, nil
}
