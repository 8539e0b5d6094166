package models

import (
	"context"
	"fmt"
	"time"

	"gatehouse/models/acl"
)

// Group actions beyond CRUD (see ValidActions("group")).
const (
	ActionAddMembers    Action = "add-members"
	ActionRemoveMembers Action = "remove-members"
)

// Group is a named set of users in global or an org, usable as a role
// principal.
type Group struct {
	ID          string
	ScopeID     string
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int
}

// GroupInput is the group form.
type GroupInput struct {
	Name        string
	Description string
}

// GroupItem is a group in a list.
type GroupItem struct {
	Group
	ScopeName string
	Members   int64
	Actions   map[Action]bool `gorm:"-"`
}

// GroupMember is a user in a group, for display.
type GroupMember struct {
	ID        string
	Name      string
	FullName  string
	ScopeName string
}

// GroupDetail is one group with its members.
type GroupDetail struct {
	Group
	ScopeName string
	Members   []GroupMember
	Actions   map[Action]bool
}

type groupMember struct {
	GroupID   string
	UserID    string
	CreatedAt time.Time
}

func groupResource(g *Group) acl.Resource {
	return acl.Resource{Type: "group", ID: g.ID, ScopeID: g.ScopeID}
}

var groupItemActions = []Action{ActionRead, ActionUpdate, ActionDelete, ActionAddMembers, ActionRemoveMembers}

// CreateGroup creates a group in global or an org. Errors: ErrInvalid (bad
// input, duplicate name, a project), ErrNotFound, ErrForbidden.
func (s *Store) CreateGroup(ctx context.Context, a Actor, scopeID string, in GroupInput) (*Group, error) {
	var out *Group
	err := s.createTx(ctx, a, "group", func() string { return out.ID }, func(tx *Store) error {
		sc, err := tx.collectionScope(ctx, a, scopeID, "group", ActionCreate)
		if err != nil {
			return err
		}
		if sc.Type == ScopeProject {
			return Invalid("scope", "Groups live in global or an organization, not in a project.")
		}
		v := validator{}
		name := v.text("name", "Name", in.Name, true, 128)
		desc := v.text("description", "Description", in.Description, false, 1024)
		if err := tx.checkInput(ctx, v.err(), unique{Table: "groups", Parent: "scope_id", ParentID: sc.ID, Value: name,
			Message: fmt.Sprintf("%s already has a group named %q.", sc.Name, name)}); err != nil {
			return err
		}
		g := &Group{ID: NewID(PrefixGroup), ScopeID: sc.ID, Name: name, Description: desc, CreatedAt: tx.now(), UpdatedAt: tx.now(), Version: 1}
		if err := tx.q(ctx).Create(g).Error; err != nil {
			if isUniqueViolation(err) {
				return Invalid("name", fmt.Sprintf("%s already has a group named %q.", sc.Name, name))
			}
			return fmt.Errorf("create group: %w", err)
		}
		out = g
		return nil
	})
	return out, err
}

func (s *Store) readGroup(ctx context.Context, a Actor, id string) (*Group, error) {
	return readItem(ctx, s, a, "group", id, groupResource)
}

// GetGroup returns a group with its members. ErrNotFound for unknown or
// invisible ids.
func (s *Store) GetGroup(ctx context.Context, a Actor, id string) (*GroupDetail, error) {
	g, err := s.readGroup(ctx, a, id)
	if err != nil {
		return nil, err
	}
	d := &GroupDetail{Group: *g, Actions: s.Allowed(ctx, a, groupResource(g), groupItemActions...)}
	if err := s.q(ctx).Model(&Scope{}).Select("name").Where("id = ?", g.ScopeID).Scan(&d.ScopeName).Error; err != nil {
		return nil, fmt.Errorf("load scope name: %w", err)
	}
	err = s.q(ctx).Table("group_members gm").Select("u.id, u.name, u.full_name, sc.name AS scope_name").
		Joins("JOIN users u ON u.id = gm.user_id JOIN scopes sc ON sc.id = u.scope_id").
		Where("gm.group_id = ?", g.ID).Order("lower(u.name), u.id").Scan(&d.Members).Error
	if err != nil {
		return nil, fmt.Errorf("load members: %w", err)
	}
	return d, nil
}

// ListGroups lists the groups the actor may see, of one scope or (scopeID
// "") of every scope, matching search in name or description.
func (s *Store) ListGroups(ctx context.Context, a Actor, scopeID string, opt ListOptions) (Page[GroupItem], error) {
	opt = opt.norm()
	page := Page[GroupItem]{Page: opt.Page, PerPage: opt.PerPage}
	q, err := s.scopedList(ctx, a, "group", "groups", "g", scopeID)
	if err != nil {
		return page, err
	}
	q = s.searchNameDesc(q, "g", opt.Search)
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count groups: %w", err)
	}
	err = q.Select("g.*, sc.name AS scope_name, (SELECT count(*) FROM group_members m WHERE m.group_id = g.id) AS members").
		Order("lower(g.name), g.id").Limit(opt.PerPage).Offset(opt.offset()).Scan(&page.Items).Error
	if err != nil {
		return page, fmt.Errorf("list groups: %w", err)
	}
	for i := range page.Items {
		page.Items[i].Actions = s.Allowed(ctx, a, groupResource(&page.Items[i].Group), groupItemActions...)
	}
	return page, nil
}

// UpdateGroup changes a group's name and description; version must match.
func (s *Store) UpdateGroup(ctx context.Context, a Actor, id string, version int, in GroupInput) (*Group, error) {
	var out *Group
	err := s.changeTx(ctx, a, ActionUpdate, "group", id, func(tx *Store) error {
		g, err := tx.readGroup(ctx, a, id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionUpdate, groupResource(g)); err != nil {
			return err
		}
		v := validator{}
		name := v.text("name", "Name", in.Name, true, 128)
		desc := v.text("description", "Description", in.Description, false, 1024)
		if err := tx.checkInput(ctx, v.err(), unique{Table: "groups", Parent: "scope_id", ParentID: g.ScopeID, ExceptID: id, Value: name,
			Message: fmt.Sprintf("Another group in this scope is already named %q.", name)}); err != nil {
			return err
		}
		if err := tx.bumpGroup(ctx, id, version, map[string]any{"name": name, "description": desc}); err != nil {
			return err
		}
		out, err = first[Group](tx.q(ctx), "group", id)
		return err
	})
	return out, err
}

func (s *Store) bumpGroup(ctx context.Context, id string, version int, updates map[string]any) error {
	return s.bumpVersion(ctx, &Group{}, "group", id, version, updates)
}

// DeleteGroup deletes a group (its members keep their users; roles lose the
// group as principal). Refused when it would leave no full administrator.
func (s *Store) DeleteGroup(ctx context.Context, a Actor, id string) error {
	return s.changeTx(ctx, a, ActionDelete, "group", id, func(tx *Store) error {
		g, err := tx.readGroup(ctx, a, id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionDelete, groupResource(g)); err != nil {
			return err
		}
		return tx.keepAnAdministrator(ctx, func() error {
			return tx.q(ctx).Where("id = ?", id).Delete(&Group{}).Error
		})
	})
}

// AddGroupMembers adds users to a group (ids already there are ignored). A
// user must be visible to the actor and live in global or the group's org.
// Errors: ErrInvalid (field "members"), ErrNotFound, ErrForbidden.
func (s *Store) AddGroupMembers(ctx context.Context, a Actor, id string, userIDs []string) error {
	return s.changeTx(ctx, a, ActionAddMembers, "group", id, func(tx *Store) error {
		g, err := tx.readGroup(ctx, a, id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionAddMembers, groupResource(g)); err != nil {
			return err
		}
		if len(userIDs) == 0 {
			return Invalid("members", "Choose at least one user.")
		}
		for _, uid := range userIDs {
			u, err := first[User](tx.q(ctx), "user", uid)
			if err != nil || tx.authorize(ctx, a, ActionNoOp, userResource(u)) != nil {
				return Invalid("members", fmt.Sprintf("There is no user %q.", uid))
			}
			if g.ScopeID != GlobalScopeID && u.ScopeID != GlobalScopeID && u.ScopeID != g.ScopeID {
				return Invalid("members", fmt.Sprintf("%s lives in another organization than the group.", u.DisplayName()))
			}
			var n int64
			if err := tx.q(ctx).Model(&groupMember{}).Where("group_id = ? AND user_id = ?", g.ID, uid).Count(&n).Error; err != nil {
				return fmt.Errorf("check member: %w", err)
			}
			if n == 0 {
				if err := tx.q(ctx).Create(&groupMember{GroupID: g.ID, UserID: uid, CreatedAt: tx.now()}).Error; err != nil {
					return fmt.Errorf("add member %s: %w", uid, err)
				}
			}
		}
		return tx.bumpGroup(ctx, g.ID, g.Version, nil)
	})
}

// RemoveGroupMembers removes users from a group; refused when it would
// leave no full administrator (ErrConflict).
func (s *Store) RemoveGroupMembers(ctx context.Context, a Actor, id string, userIDs []string) error {
	return s.changeTx(ctx, a, ActionRemoveMembers, "group", id, func(tx *Store) error {
		g, err := tx.readGroup(ctx, a, id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionRemoveMembers, groupResource(g)); err != nil {
			return err
		}
		if len(userIDs) == 0 {
			return nil
		}
		err = tx.keepAnAdministrator(ctx, func() error {
			return tx.q(ctx).Where("group_id = ? AND user_id IN ?", g.ID, userIDs).Delete(&groupMember{}).Error
		})
		if err != nil {
			return err
		}
		return tx.bumpGroup(ctx, g.ID, g.Version, nil)
	})
}

// UserGroup is a group a user is a member of, for the user's page.
type UserGroup struct {
	ID        string
	Name      string
	ScopeID   string
	ScopeName string
}

// userGroups lists the groups userID is a member of, ordered by scope and
// group name. Whoever may read the user may see them.
func (s *Store) userGroups(ctx context.Context, a Actor, userID string) ([]UserGroup, error) {
	var out []UserGroup
	q := s.q(ctx).Table("group_members AS gm").Select("g.id, g.name, g.scope_id, sc.name AS scope_name").
		Joins("JOIN groups g ON g.id = gm.group_id").Joins("JOIN scopes sc ON sc.id = g.scope_id").
		Where("gm.user_id = ?", userID)
	if userID != a.UserID { // one's own groups are one's own business; others' only where visible
		cond, args, err := s.listCondition(ctx, a, "group", ActionNoOp, ListColumns{Scope: "g.scope_id", ID: "g.id"})
		if err != nil {
			return nil, err
		}
		q = q.Where(cond, args...)
	}
	err := q.Order("sc.name, g.name, g.id").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("load groups of user %s: %w", userID, err)
	}
	return out, nil
}
