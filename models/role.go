package models

import (
	"context"
	"fmt"
	"time"

	"gatehouse/models/acl"
)

// Role actions beyond CRUD (see ValidActions("role")).
const (
	ActionAddPrincipals    Action = "add-principals"
	ActionRemovePrincipals Action = "remove-principals"
	ActionSetGrants        Action = "set-grants"
)

// Role is a named set of grants, applied in its grant scopes, held by its
// principals. It lives in global, an org or a project.
type Role struct {
	ID          string
	ScopeID     string
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int
}

// RoleInput is the role form (name and description).
type RoleInput struct {
	Name        string
	Description string
}

// RoleItem is a role in a list with its counts and allowed actions.
type RoleItem struct {
	Role
	ScopeName  string
	Principals int64
	Grants     int64
	Actions    map[Action]bool `gorm:"-"`
}

// PrincipalRef names a principal for display: a user, group, managed group
// or one of the special users u_anon and u_auth. Type is "user", "group" or
// "managed-group".
type PrincipalRef struct {
	ID        string
	Type      string
	Name      string
	ScopeName string
}

// RoleDetail is one role with its principals, grant scopes and grants (in
// canonical form, in the order written).
type RoleDetail struct {
	Role
	ScopeName   string
	Principals  []PrincipalRef
	GrantScopes []string
	Grants      []string
	Actions     map[Action]bool
}

func (in RoleInput) validate() (RoleInput, error) {
	v := validator{}
	in.Name = v.text("name", "Name", in.Name, true, 128)
	in.Description = v.text("description", "Description", in.Description, false, 1024)
	return in, v.err()
}

func roleResource(r *Role) acl.Resource {
	return acl.Resource{Type: "role", ID: r.ID, ScopeID: r.ScopeID}
}

var roleItemActions = []Action{ActionRead, ActionUpdate, ActionDelete, ActionAddPrincipals, ActionRemovePrincipals, ActionSetGrants}

// CreateRole creates a role in any scope, with grant scope "this" and no
// grants or principals. Errors: ErrInvalid (bad input, duplicate name in the
// scope), ErrNotFound (scope invisible), ErrForbidden.
func (s *Store) CreateRole(ctx context.Context, a Actor, scopeID string, in RoleInput) (*Role, error) {
	var out *Role
	err := s.createTx(ctx, a, "role", func() string { return out.ID }, func(tx *Store) error {
		sc, err := tx.collectionScope(ctx, a, scopeID, "role", ActionCreate)
		if err != nil {
			return err
		}
		in, err = in.validate()
		if err := tx.checkInput(ctx, err, unique{Table: "roles", Parent: "scope_id", ParentID: sc.ID, Value: in.Name,
			Message: fmt.Sprintf("%s already has a role named %q.", sc.Name, in.Name)}); err != nil {
			return err
		}
		out, err = tx.insertRole(ctx, sc, in.Name, in.Description, []string{acl.GrantScopeThis}, nil, nil)
		return err
	})
	return out, err
}

// insertRole writes a role with its grant scopes, grants (already valid)
// and user/special principals, without authorization (callers check).
func (s *Store) insertRole(ctx context.Context, sc *Scope, name, desc string, grantScopes, grants, principals []string) (*Role, error) {
	now := s.now()
	r := &Role{ID: NewID(PrefixRole), ScopeID: sc.ID, Name: name, Description: desc, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.q(ctx).Create(r).Error; err != nil {
		if isUniqueViolation(err) {
			return nil, Invalid("name", fmt.Sprintf("%s already has a role named %q.", sc.Name, name))
		}
		return nil, fmt.Errorf("create role: %w", err)
	}
	if err := s.writeGrantScopes(ctx, r.ID, grantScopes); err != nil {
		return nil, err
	}
	if err := s.writeGrants(ctx, r.ID, grants); err != nil {
		return nil, err
	}
	for _, p := range principals {
		if err := s.q(ctx).Create(&rolePrincipal{RoleID: r.ID, PrincipalType: "user", PrincipalID: p,
			UserID: userColumn(p), CreatedAt: now}).Error; err != nil {
			return nil, fmt.Errorf("add principal %s: %w", p, err)
		}
	}
	return r, nil
}

func userColumn(id string) *string {
	if id == PrincipalAnyone || id == PrincipalAuthenticated {
		return nil
	}
	return &id
}

func (s *Store) readRole(ctx context.Context, a Actor, id string) (*Role, error) {
	return readItem(ctx, s, a, "role", id, roleResource)
}

// GetRole returns a role with its principals, grant scopes and grants.
// ErrNotFound for unknown or invisible ids.
func (s *Store) GetRole(ctx context.Context, a Actor, id string) (*RoleDetail, error) {
	r, err := s.readRole(ctx, a, id)
	if err != nil {
		return nil, err
	}
	d := &RoleDetail{Role: *r, Actions: s.Allowed(ctx, a, roleResource(r), roleItemActions...)}
	if err := s.q(ctx).Model(&Scope{}).Select("name").Where("id = ?", r.ScopeID).Scan(&d.ScopeName).Error; err != nil {
		return nil, fmt.Errorf("load scope name: %w", err)
	}
	if d.Principals, err = s.rolePrincipals(ctx, r.ID); err != nil {
		return nil, err
	}
	if err := s.q(ctx).Model(&roleGrantScope{}).Where("role_id = ?", r.ID).Order("grant_scope").Pluck("grant_scope", &d.GrantScopes).Error; err != nil {
		return nil, fmt.Errorf("load grant scopes: %w", err)
	}
	if err := s.q(ctx).Model(&roleGrant{}).Where("role_id = ?", r.ID).Order("position").Pluck("grant_text", &d.Grants).Error; err != nil {
		return nil, fmt.Errorf("load grants: %w", err)
	}
	return d, nil
}

// ListRoles lists the roles the actor may see, of one scope or (scopeID "")
// of every scope, matching search in name or description.
func (s *Store) ListRoles(ctx context.Context, a Actor, scopeID string, opt ListOptions) (Page[RoleItem], error) {
	opt = opt.norm()
	page := Page[RoleItem]{Page: opt.Page, PerPage: opt.PerPage}
	q, err := s.scopedList(ctx, a, "role", "roles", "r", scopeID)
	if err != nil {
		return page, err
	}
	q = s.searchNameDesc(q, "r", opt.Search)
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count roles: %w", err)
	}
	err = q.Select(`r.*, sc.name AS scope_name,
 (SELECT count(*) FROM role_principals p WHERE p.role_id = r.id) AS principals,
 (SELECT count(*) FROM role_grants g WHERE g.role_id = r.id) AS grants`).
		Order("lower(r.name), r.id").Limit(opt.PerPage).Offset(opt.offset()).Scan(&page.Items).Error
	if err != nil {
		return page, fmt.Errorf("list roles: %w", err)
	}
	for i := range page.Items {
		page.Items[i].Actions = s.Allowed(ctx, a, roleResource(&page.Items[i].Role), roleItemActions...)
	}
	return page, nil
}

// UpdateRole changes a role's name and description; version must match.
func (s *Store) UpdateRole(ctx context.Context, a Actor, id string, version int, in RoleInput) (*Role, error) {
	var out *Role
	err := s.changeTx(ctx, a, ActionUpdate, "role", id, func(tx *Store) error {
		r, err := tx.readRole(ctx, a, id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionUpdate, roleResource(r)); err != nil {
			return err
		}
		in, err = in.validate()
		if err := tx.checkInput(ctx, err, unique{Table: "roles", Parent: "scope_id", ParentID: r.ScopeID, ExceptID: id, Value: in.Name,
			Message: fmt.Sprintf("Another role in this scope is already named %q.", in.Name)}); err != nil {
			return err
		}
		if err := tx.bumpRole(ctx, id, version, map[string]any{"name": in.Name, "description": in.Description}); err != nil {
			return err
		}
		out, err = first[Role](tx.q(ctx), "role", id)
		return err
	})
	return out, err
}

// bumpRole applies updates (may be none) and increments the version when it
// matches; ErrConflict otherwise.
func (s *Store) bumpRole(ctx context.Context, id string, version int, updates map[string]any) error {
	return s.bumpVersion(ctx, &Role{}, "role", id, version, updates)
}

// DeleteRole deletes a role. Deleting the last role that gives someone
// everything in global is refused (ErrConflict).
func (s *Store) DeleteRole(ctx context.Context, a Actor, id string) error {
	return s.changeTx(ctx, a, ActionDelete, "role", id, func(tx *Store) error {
		r, err := tx.readRole(ctx, a, id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionDelete, roleResource(r)); err != nil {
			return err
		}
		return tx.keepAnAdministrator(ctx, func() error {
			if err := tx.q(ctx).Where("id = ?", id).Delete(&Role{}).Error; err != nil {
				return fmt.Errorf("delete role %s: %w", id, err)
			}
			return nil
		})
	})
}

// FullGrant is the grant of everything.
const FullGrant = "ids=*;type=*;actions=*"

// adminGuardLock is the Postgres advisory lock keepAnAdministrator takes.
const adminGuardLock = 7_110_420_001

// keepAnAdministrator runs change (inside the caller's transaction) and
// fails with ErrConflict when it leaves no principal holding a global role
// that grants FullGrant with grant scope "this" while one held it before:
// Gatehouse never locks every administrator out. Only principals someone
// can log in as count: a user with an account, a group with such a member,
// a managed group with a member (an account), anyone/any authenticated user.
func (s *Store) keepAnAdministrator(ctx context.Context, change func() error) error {
	// Guarded changes take turns (Postgres; SQLite has a single writer):
	// two at once, each removing a different administrator, would each
	// still see the other one.
	if err := s.advisoryLock(ctx, adminGuardLock); err != nil {
		return fmt.Errorf("administrator guard: %w", err)
	}
	before, err := s.countAdministrators(ctx)
	if err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	after, err := s.countAdministrators(ctx)
	if err != nil {
		return err
	}
	if before > 0 && after == 0 {
		return Conflict("administrator guard", fmt.Sprintf("This would leave nobody with full access to global (a role in global granting %q with grant scope this, and a principal).", FullGrant))
	}
	return nil
}

func (s *Store) countAdministrators(ctx context.Context) (int64, error) {
	var n int64
	err := s.q(ctx).Table("role_principals AS p").Joins("JOIN roles r ON r.id = p.role_id").
		Where("r.scope_id = ? AND EXISTS (SELECT 1 FROM role_grants g WHERE g.role_id = r.id AND g.grant_text = ?)"+
			" AND EXISTS (SELECT 1 FROM role_grant_scopes gs WHERE gs.role_id = r.id AND gs.grant_scope = ?)"+
			" AND (p.principal_id IN ('u_anon', 'u_auth')"+
			" OR EXISTS (SELECT 1 FROM accounts ac WHERE ac.user_id = p.user_id)"+
			" OR EXISTS (SELECT 1 FROM group_members gm JOIN accounts ac ON ac.user_id = gm.user_id WHERE gm.group_id = p.group_id)"+
			" OR EXISTS (SELECT 1 FROM managed_group_members mm WHERE mm.managed_group_id = p.managed_group_id))",
			GlobalScopeID, FullGrant, acl.GrantScopeThis).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count administrators: %w", err)
	}
	return n, nil
}
