package models

import (
	"context"
	"fmt"
	"time"

	"gatehouse/models/acl"

	"gorm.io/gorm"
)

// Scope types.
const (
	ScopeGlobal  = "global"
	ScopeOrg     = "org"
	ScopeProject = "project"
)

// GlobalScopeID is the id of the root scope.
const GlobalScopeID = "global"

// Scope is a node of the tree global → organizations → projects.
type Scope struct {
	ID          string
	Type        string
	ParentID    *string
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int
	// Readable is set by ScopePath: whether the actor may open the scope's
	// page (read), so a breadcrumb links only to pages that answer.
	Readable bool `gorm:"-"`
}

// ScopeInput is what an admin types to create or edit a scope.
type ScopeInput struct {
	Name        string
	Description string
}

// ScopeItem is a scope in a list with what the actor may do to it.
type ScopeItem struct {
	Scope
	Children int64
	Actions  map[Action]bool
	// Sections are the project tabs the actor may open (GetScope of a
	// project only).
	Sections ProjectSections `gorm:"-"`
}

func (in ScopeInput) validate() (ScopeInput, error) {
	v := validator{}
	in.Name = v.text("name", "Name", in.Name, true, 128)
	in.Description = v.text("description", "Description", in.Description, false, 1024)
	return in, v.err()
}

func scopeResource(sc *Scope) acl.Resource {
	parent := GlobalScopeID // global is its own holder
	if sc.ParentID != nil {
		parent = *sc.ParentID
	}
	return acl.Resource{Type: "scope", ID: sc.ID, ScopeID: parent}
}

// DefaultProjectRoleName is the role every new project gets, held by u_auth
// with DefaultProjectGrants (as Boundary's default project role): every
// logged-in user may list the project's sessions and targets collections,
// and read and cancel their own sessions. Listing reveals no target by itself.
const DefaultProjectRoleName = "Default grants"

// DefaultProjectGrants are the grants of the DefaultProjectRoleName role.
var DefaultProjectGrants = []string{"ids=*;type=session;actions=cancel:self,list,read:self", "type=target;actions=list"}

// CreateScope creates an org under global or a project under an org. The new
// scope's type follows from its parent's; a project gets the default role
// (DefaultProjectRoleName). Errors: ErrInvalid (bad input,
// duplicate name among siblings, a project as parent), ErrNotFound,
// ErrForbidden.
func (s *Store) CreateScope(ctx context.Context, a Actor, parentID string, in ScopeInput) (*Scope, error) {
	var out *Scope
	err := s.createTx(ctx, a, "scope", func() string { return out.ID }, func(tx *Store) error {
		parent, err := tx.collectionScope(ctx, a, parentID, "scope", ActionCreate)
		if err != nil {
			return err
		}
		in, err := in.validate()
		if err := tx.checkInput(ctx, err, unique{Table: "scopes", Parent: "coalesce(parent_id, '')", ParentID: parent.ID,
			Value: in.Name, Message: fmt.Sprintf("%q already has a scope named %q.", parent.Name, in.Name)}); err != nil {
			return err
		}
		sc := &Scope{Name: in.Name, Description: in.Description, ParentID: &parent.ID, Version: 1}
		switch parent.Type {
		case ScopeGlobal:
			sc.Type, sc.ID = ScopeOrg, NewID(PrefixOrg)
		case ScopeOrg:
			sc.Type, sc.ID = ScopeProject, NewID(PrefixProject)
		default:
			return Invalid("parent", "Projects cannot contain other scopes.")
		}
		sc.CreatedAt, sc.UpdatedAt = tx.now(), tx.now()
		if err := tx.q(ctx).Create(sc).Error; err != nil {
			if isUniqueViolation(err) {
				return Invalid("name", fmt.Sprintf("%q already has a scope named %q.", parent.Name, in.Name))
			}
			return fmt.Errorf("create scope: %w", err)
		}
		if sc.Type == ScopeProject {
			if _, err := tx.insertRole(ctx, sc, DefaultProjectRoleName, "Default grants for every authenticated user",
				[]string{acl.GrantScopeThis}, DefaultProjectGrants, []string{PrincipalAuthenticated}); err != nil {
				return fmt.Errorf("create default role: %w", err)
			}
		}
		out = sc
		return nil
	})
	return out, err
}

// collectionScope loads the scope where the actor asks a collection action
// (create, list) on resourceType, and checks it: allowed, or ErrForbidden
// when the actor may read the scope, or ErrNotFound (also for a missing
// scope). A grant in a scope thus works without read on the scope itself,
// which Boundary grants in the parent.
func (s *Store) collectionScope(ctx context.Context, a Actor, id, resourceType string, action Action) (*Scope, error) {
	sc, err := first[Scope](s.q(ctx), "scope", id)
	if err != nil {
		return nil, err
	}
	err = s.authorize(ctx, a, action, acl.Resource{Type: resourceType, ScopeID: sc.ID})
	if err != nil && s.authorize(ctx, a, ActionRead, scopeResource(sc)) != nil {
		if !a.Authenticated() {
			return nil, ErrUnauthenticated
		}
		return nil, fmt.Errorf("scope %s: %w", id, ErrNotFound)
	}
	return sc, err
}

// readScope loads a scope the actor may read (ErrNotFound otherwise).
func (s *Store) readScope(ctx context.Context, a Actor, id string) (*Scope, error) {
	return readItem(ctx, s, a, "scope", id, scopeResource)
}

// visibleScope loads a scope the actor may see: any action on it (the
// bootstrap self-service role gives every logged-in user no-op on every
// scope, for navigation). ErrNotFound otherwise. It reveals the scope's name
// and nothing more; use cases check their own action.
func (s *Store) visibleScope(ctx context.Context, a Actor, id string) (*Scope, error) {
	sc, err := first[Scope](s.q(ctx), "scope", id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, a, ActionNoOp, scopeResource(sc)); err != nil {
		return nil, notFoundIfHidden(err)
	}
	return sc, nil
}

// GetScope returns one scope with its actions. ErrNotFound for unknown or
// invisible ids.
func (s *Store) GetScope(ctx context.Context, a Actor, id string) (*ScopeItem, error) {
	sc, err := s.readScope(ctx, a, id)
	if err != nil {
		return nil, err
	}
	item := &ScopeItem{Scope: *sc, Actions: s.Allowed(ctx, a, scopeResource(sc), ActionUpdate, ActionDelete)}
	// Creating a child is a collection action on the scope's children.
	item.Actions[ActionCreate] = s.authorize(ctx, a, ActionCreate, acl.Resource{Type: "scope", ScopeID: sc.ID}) == nil
	if sc.ID == GlobalScopeID {
		item.Actions[ActionDelete] = false
	}
	if sc.Type == ScopeProject {
		item.Actions[ActionCreate] = false
		item.Sections = s.ProjectSections(ctx, a, sc.ID)
	}
	cond, args, err := s.listCondition(ctx, a, "scope", ActionList, scopeColumns)
	if err != nil {
		return nil, err
	}
	if err := s.q(ctx).Model(&Scope{}).Where("parent_id = ?", sc.ID).Where(cond, args...).Count(&item.Children).Error; err != nil {
		return nil, fmt.Errorf("count children: %w", err)
	}
	return item, nil
}

// ScopePath returns the chain from global down to id (inclusive), for
// breadcrumbs. It needs only visibility (any action, see visibleScope) of
// each scope, not read, so it is no authorization gate: callers check the
// action of their page (a Get…, a List… or AuthorizeCreate) first.
// ErrNotFound when a scope of the chain is unknown or invisible.
func (s *Store) ScopePath(ctx context.Context, a Actor, id string) ([]Scope, error) {
	var path []Scope
	for cur := id; cur != ""; {
		sc, err := s.visibleScope(ctx, a, cur)
		if err != nil {
			return nil, err
		}
		sc.Readable = s.authorize(ctx, a, ActionRead, scopeResource(sc)) == nil
		path = append([]Scope{*sc}, path...)
		if sc.ParentID == nil || len(path) > 3 {
			break
		}
		cur = *sc.ParentID
	}
	return path, nil
}

// ListScopes lists the children of parentID the actor may see, filtered by
// name, one page at a time, with each item's allowed actions.
func (s *Store) ListScopes(ctx context.Context, a Actor, parentID string, opt ListOptions) (Page[ScopeItem], error) {
	opt = opt.norm()
	page := Page[ScopeItem]{Page: opt.Page, PerPage: opt.PerPage}
	if _, err := s.collectionScope(ctx, a, parentID, "scope", ActionList); err != nil {
		return page, err
	}
	cond, args, err := s.listCondition(ctx, a, "scope", ActionList, scopeColumns)
	if err != nil {
		return page, err
	}
	q := s.q(ctx).Model(&Scope{}).Where("parent_id = ?", parentID).Where(cond, args...)
	if opt.Search != "" {
		q = q.Where(s.ilike("name")+" OR "+s.ilike("description"), likePattern(opt.Search), likePattern(opt.Search))
	}
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count scopes: %w", err)
	}
	var rows []Scope
	if err := q.Order("lower(name), id").Limit(opt.PerPage).Offset(opt.offset()).Find(&rows).Error; err != nil {
		return page, fmt.Errorf("list scopes: %w", err)
	}
	counts := map[string]int64{}
	if len(rows) > 0 {
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		var cs []struct {
			ParentID string
			N        int64
		}
		if err := s.q(ctx).Model(&Scope{}).Select("parent_id, count(*) AS n").Where("parent_id IN ?", ids).Where(cond, args...).Group("parent_id").Scan(&cs).Error; err != nil {
			return page, fmt.Errorf("count children: %w", err)
		}
		for _, c := range cs {
			counts[c.ParentID] = c.N
		}
	}
	for _, r := range rows {
		page.Items = append(page.Items, ScopeItem{Scope: r, Children: counts[r.ID],
			Actions: s.Allowed(ctx, a, scopeResource(&r), ActionRead, ActionUpdate, ActionDelete)})
	}
	return page, nil
}

// UpdateScope changes a scope's name and description. version must be the
// version the editor saw; a newer one in the database gives ErrConflict.
func (s *Store) UpdateScope(ctx context.Context, a Actor, id string, version int, in ScopeInput) (*Scope, error) {
	var out *Scope
	err := s.changeTx(ctx, a, ActionUpdate, "scope", id, func(tx *Store) error {
		sc, err := tx.readScope(ctx, a, id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionUpdate, scopeResource(sc)); err != nil {
			return err
		}
		in, err = in.validate()
		dup := fmt.Sprintf("Another scope here is already named %q.", in.Name)
		if err := tx.checkInput(ctx, err, unique{Table: "scopes", Parent: "coalesce(parent_id, '')", ParentID: orEmpty(sc.ParentID),
			ExceptID: id, Value: in.Name, Message: dup}); err != nil {
			return err
		}
		res := tx.q(ctx).Model(&Scope{}).Where("id = ? AND version = ?", id, version).Updates(map[string]any{
			"name": in.Name, "description": in.Description, "updated_at": tx.now(), "version": gorm.Expr("version + 1"),
		})
		if res.Error != nil {
			if isUniqueViolation(res.Error) {
				return Invalid("name", dup)
			}
			return fmt.Errorf("update scope %s: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return stale("update scope " + id)
		}
		out, err = first[Scope](tx.q(ctx), "scope", id)
		return err
	})
	return out, err
}

// DeleteScope deletes an org or project and everything in it. The global
// scope cannot be deleted, nor a scope whose users, groups or auth methods
// hold the last full administration (see keepAnAdministrator).
func (s *Store) DeleteScope(ctx context.Context, a Actor, id string) error {
	return s.changeTx(ctx, a, ActionDelete, "scope", id, func(tx *Store) error {
		sc, err := tx.readScope(ctx, a, id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionDelete, scopeResource(sc)); err != nil {
			return err
		}
		if sc.Type == ScopeGlobal {
			return Conflict("delete scope global", "The global scope cannot be deleted.")
		}
		if _, err := tx.CancelSessionsOf(ctx, scopeResource(sc)); err != nil {
			return err
		}
		if err := tx.rememberDeletedScopes(ctx, sc.ID); err != nil {
			return err
		}
		return tx.keepAnAdministrator(ctx, func() error {
			res := tx.q(ctx).Where("id = ?", id).Delete(&Scope{})
			if res.Error != nil {
				return fmt.Errorf("delete scope %s: %w", id, res.Error)
			}
			if res.RowsAffected == 0 {
				return fmt.Errorf("delete scope %s: %w", id, ErrNotFound)
			}
			return nil
		})
	})
}

// scopeColumns are the columns listCondition filters scopes on: a scope is
// held by its parent (global by itself).
var scopeColumns = ListColumns{Scope: "coalesce(parent_id, 'global')", ID: "id"}

// AllScopes returns every scope the actor may see (any action on it),
// ordered for a tree view.
func (s *Store) AllScopes(ctx context.Context, a Actor) ([]Scope, error) {
	cond, args, err := s.listCondition(ctx, a, "scope", ActionNoOp, scopeColumns)
	if err != nil {
		return nil, err
	}
	var rows []Scope
	err = s.q(ctx).Where(cond, args...).Order("CASE type WHEN 'global' THEN 0 WHEN 'org' THEN 1 ELSE 2 END, lower(name)").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list scopes: %w", err)
	}
	return rows, nil
}
