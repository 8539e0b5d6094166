package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gatehouse/models/acl"

	"github.com/hashicorp/go-bexpr"
	"gorm.io/gorm"
)

// ManagedGroup belongs to an OIDC auth method and holds the accounts whose
// claims (ID token overlaid with userinfo) match Filter, a go-bexpr boolean
// expression such as `"sre" in groups`. Membership is recomputed at every
// login of the account.
type ManagedGroup struct {
	ID           string
	AuthMethodID string
	Name         string
	Description  string
	Filter       string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Version      int
}

// ManagedGroupInput is the managed group form.
type ManagedGroupInput struct {
	Name, Description, Filter string
}

// ManagedGroupItem is a managed group with its method, member count and what
// the actor may do to it.
type ManagedGroupItem struct {
	ManagedGroup
	MethodName string
	ScopeID    string
	Members    int64
	Actions    map[Action]bool `gorm:"-"`
}

// ManagedGroupMember is a member account with its user, for display.
type ManagedGroupMember struct {
	AccountID string
	UserID    string
	UserName  string
	FullName  string
	Email     string
	Since     time.Time
}

// ManagedGroupDetail is one managed group with its members.
type ManagedGroupDetail struct {
	ManagedGroupItem
	MemberList []ManagedGroupMember
}

type managedGroupMember struct {
	ManagedGroupID string
	AccountID      string
	CreatedAt      time.Time
}

func (managedGroupMember) TableName() string { return "managed_group_members" }

func (in ManagedGroupInput) validate() (ManagedGroupInput, error) {
	v := validator{}
	in.Name = v.text("name", "Name", in.Name, true, 128)
	in.Description = v.text("description", "Description", in.Description, false, 1024)
	in.Filter = v.text("filter", "Filter", in.Filter, true, 2048)
	if in.Filter != "" {
		if _, err := bexpr.CreateEvaluator(in.Filter); err != nil {
			v.add("filter", "The filter does not parse: "+strings.TrimSpace(err.Error()))
		}
	}
	return in, v.err()
}

func managedGroupResource(g *ManagedGroup, scopeID string) acl.Resource {
	return acl.Resource{Type: "managed-group", ID: g.ID, ScopeID: scopeID, ParentID: g.AuthMethodID}
}

// CreateManagedGroup adds a managed group to an OIDC auth method. A filter
// that does not parse is ErrInvalid on field "filter".
func (s *Store) CreateManagedGroup(ctx context.Context, a Actor, methodID string, in ManagedGroupInput) (*ManagedGroup, error) {
	m, _, err := s.readOIDCMethod(ctx, a, methodID)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, a, ActionCreate, acl.Resource{Type: "managed-group", ScopeID: m.ScopeID, ParentID: m.ID}); err != nil {
		return nil, err
	}
	in, err = in.validate()
	if err := s.checkInput(ctx, err, unique{Table: "managed_groups", Parent: "auth_method_id", ParentID: m.ID, Value: in.Name,
		Message: fmt.Sprintf("%s already has a managed group named %q.", m.Name, in.Name)}); err != nil {
		return nil, err
	}
	now := s.now()
	g := &ManagedGroup{ID: NewID(PrefixManagedGroup), AuthMethodID: m.ID, Name: in.Name, Description: in.Description,
		Filter: in.Filter, CreatedAt: now, UpdatedAt: now, Version: 1}
	err = s.createTx(ctx, a, "managed-group", func() string { return g.ID }, func(tx *Store) error {
		if err := tx.q(ctx).Create(g).Error; err != nil {
			if isUniqueViolation(err) {
				return Invalid("name", fmt.Sprintf("%s already has a managed group named %q.", m.Name, in.Name))
			}
			return fmt.Errorf("create managed group: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// readManagedGroup loads a managed group the actor may read, with its
// method's name and scope.
func (s *Store) readManagedGroup(ctx context.Context, a Actor, id string) (*ManagedGroupItem, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	var it ManagedGroupItem
	err := s.q(ctx).Table("managed_groups AS g").Select("g.*, m.name AS method_name, m.scope_id").
		Joins("JOIN auth_methods m ON m.id = g.auth_method_id").Where("g.id = ?", id).Take(&it).Error
	if err == gorm.ErrRecordNotFound {
		return nil, fmt.Errorf("managed group %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load managed group %s: %w", id, err)
	}
	if err := s.authorize(ctx, a, ActionRead, managedGroupResource(&it.ManagedGroup, it.ScopeID)); err != nil {
		return nil, notFoundIfHidden(err)
	}
	return &it, nil
}

// GetManagedGroup returns a managed group with its members (names, not ids).
func (s *Store) GetManagedGroup(ctx context.Context, a Actor, id string) (*ManagedGroupDetail, error) {
	it, err := s.readManagedGroup(ctx, a, id)
	if err != nil {
		return nil, err
	}
	d := &ManagedGroupDetail{ManagedGroupItem: *it}
	d.Actions = s.Allowed(ctx, a, managedGroupResource(&it.ManagedGroup, it.ScopeID), ActionUpdate, ActionDelete)
	err = s.q(ctx).Table("managed_group_members AS mm").
		Select("mm.account_id, u.id AS user_id, u.name AS user_name, u.full_name, u.email, mm.created_at AS since").
		Joins("JOIN accounts ac ON ac.id = mm.account_id").Joins("JOIN users u ON u.id = ac.user_id").
		Where("mm.managed_group_id = ?", id).Order("lower(u.full_name), lower(u.name), u.id").Scan(&d.MemberList).Error
	if err != nil {
		return nil, fmt.Errorf("load members: %w", err)
	}
	d.Members = int64(len(d.MemberList))
	return d, nil
}

// ListManagedGroups lists an OIDC auth method's managed groups matching
// search in name, description or filter.
func (s *Store) ListManagedGroups(ctx context.Context, a Actor, methodID string, opt ListOptions) (Page[ManagedGroupItem], error) {
	opt = opt.norm()
	page := Page[ManagedGroupItem]{Page: opt.Page, PerPage: opt.PerPage}
	m, _, err := s.readOIDCMethod(ctx, a, methodID)
	if err != nil {
		return page, err
	}
	if err := s.authorize(ctx, a, ActionList, acl.Resource{Type: "managed-group", ScopeID: m.ScopeID, ParentID: m.ID}); err != nil {
		return page, err
	}
	cond, args, err := s.listCondition(ctx, a, "managed-group", ActionRead, ListColumns{Scope: "m.scope_id", ID: "g.id", Parent: "g.auth_method_id"})
	if err != nil {
		return page, err
	}
	q := s.q(ctx).Table("managed_groups AS g").Joins("JOIN auth_methods m ON m.id = g.auth_method_id").
		Where("g.auth_method_id = ?", methodID).Where(cond, args...)
	if opt.Search != "" {
		p := likePattern(opt.Search)
		q = q.Where("("+s.ilike("g.name")+" OR "+s.ilike("g.description")+" OR "+s.ilike("g.filter")+")", p, p, p)
	}
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count managed groups: %w", err)
	}
	err = q.Select("g.*, m.name AS method_name, m.scope_id, (SELECT count(*) FROM managed_group_members mm WHERE mm.managed_group_id = g.id) AS members").
		Order("lower(g.name), g.id").Limit(opt.PerPage).Offset(opt.offset()).Scan(&page.Items).Error
	if err != nil {
		return page, fmt.Errorf("list managed groups: %w", err)
	}
	for i := range page.Items {
		it := &page.Items[i]
		it.Actions = s.Allowed(ctx, a, managedGroupResource(&it.ManagedGroup, it.ScopeID), ActionRead, ActionUpdate, ActionDelete)
	}
	return page, nil
}

// UpdateManagedGroup edits a managed group; version must match. Members are
// recomputed at each member's next login.
func (s *Store) UpdateManagedGroup(ctx context.Context, a Actor, id string, version int, in ManagedGroupInput) error {
	it, err := s.readManagedGroup(ctx, a, id)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, a, ActionUpdate, managedGroupResource(&it.ManagedGroup, it.ScopeID)); err != nil {
		return err
	}
	in, err = in.validate()
	if err := s.checkInput(ctx, err, unique{Table: "managed_groups", Parent: "auth_method_id", ParentID: it.AuthMethodID, ExceptID: id,
		Value: in.Name, Message: fmt.Sprintf("%s already has a managed group named %q.", it.MethodName, in.Name)}); err != nil {
		return err
	}
	return s.changeTx(ctx, a, ActionUpdate, "managed-group", id, func(tx *Store) error {
		res := tx.q(ctx).Model(&ManagedGroup{}).Where("id = ? AND version = ?", id, version).Updates(map[string]any{
			"name": in.Name, "description": in.Description, "filter": in.Filter, "updated_at": tx.now(), "version": gorm.Expr("version + 1")})
		if isUniqueViolation(res.Error) {
			return Invalid("name", fmt.Sprintf("%s already has a managed group named %q.", it.MethodName, in.Name))
		}
		if res.Error != nil {
			return fmt.Errorf("update managed group %s: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return stale("update managed group " + id)
		}
		return nil
	})
}

// DeleteManagedGroup deletes a managed group and its membership; removing
// the last full administrator this way is refused (see keepAnAdministrator).
func (s *Store) DeleteManagedGroup(ctx context.Context, a Actor, id string) error {
	return s.changeTx(ctx, a, ActionDelete, "managed-group", id, func(tx *Store) error {
		it, err := tx.readManagedGroup(ctx, a, id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionDelete, managedGroupResource(&it.ManagedGroup, it.ScopeID)); err != nil {
			return err
		}
		return tx.keepAnAdministrator(ctx, func() error {
			if err := tx.q(ctx).Where("id = ?", id).Delete(&ManagedGroup{}).Error; err != nil {
				return fmt.Errorf("delete managed group %s: %w", id, err)
			}
			return nil
		})
	})
}

// recomputeManagedGroups sets the account's membership in every managed
// group of the method to whether its filter matches claims. A filter that
// fails on these claims (e.g. a missing claim) does not match.
func (s *Store) recomputeManagedGroups(ctx context.Context, methodID, accountID string, claims map[string]any) error {
	var groups []ManagedGroup
	if err := s.q(ctx).Where("auth_method_id = ?", methodID).Find(&groups).Error; err != nil {
		return fmt.Errorf("load managed groups: %w", err)
	}
	ids := make([]string, 0, len(groups))
	for _, g := range groups {
		ids = append(ids, g.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	var current []string
	if err := s.q(ctx).Model(&managedGroupMember{}).Where("account_id = ? AND managed_group_id IN ?", accountID, ids).
		Pluck("managed_group_id", &current).Error; err != nil {
		return fmt.Errorf("load membership: %w", err)
	}
	has := map[string]bool{}
	for _, id := range current {
		has[id] = true
	}
	for _, g := range groups {
		match := false
		if ev, err := bexpr.CreateEvaluator(g.Filter); err == nil {
			match, _ = ev.Evaluate(claims)
		}
		switch {
		case match && !has[g.ID]:
			err := s.q(ctx).Create(&managedGroupMember{ManagedGroupID: g.ID, AccountID: accountID, CreatedAt: s.now()}).Error
			if err != nil {
				return fmt.Errorf("add to managed group %s: %w", g.ID, err)
			}
		case !match && has[g.ID]:
			err := s.q(ctx).Where("managed_group_id = ? AND account_id = ?", g.ID, accountID).Delete(&managedGroupMember{}).Error
			if err != nil {
				return fmt.Errorf("remove from managed group %s: %w", g.ID, err)
			}
		}
	}
	return nil
}

// UserManagedGroup is a managed group a user belongs to through one of its
// accounts.
type UserManagedGroup struct {
	ID         string
	Name       string
	MethodName string
}

// userManagedGroups lists the managed groups of a user's accounts.
func (s *Store) userManagedGroups(ctx context.Context, a Actor, userID string) ([]UserManagedGroup, error) {
	var out []UserManagedGroup
	q := s.q(ctx).Table("managed_group_members AS mm").Select("DISTINCT g.id, g.name, m.name AS method_name").
		Joins("JOIN managed_groups g ON g.id = mm.managed_group_id").Joins("JOIN auth_methods m ON m.id = g.auth_method_id").
		Joins("JOIN accounts ac ON ac.id = mm.account_id").Where("ac.user_id = ?", userID)
	if userID != a.UserID { // others' managed groups only where visible
		cond, args, err := s.listCondition(ctx, a, "managed-group", ActionNoOp, ListColumns{Scope: "m.scope_id", ID: "g.id", Parent: "g.auth_method_id"})
		if err != nil {
			return nil, err
		}
		q = q.Where(cond, args...)
	}
	err := q.Order("m.name, g.name").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("load managed groups of user %s: %w", userID, err)
	}
	return out, nil
}
