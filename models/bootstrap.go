package models

import (
	"context"
	"fmt"

	"gatehouse/models/acl"

	"gorm.io/gorm/clause"
)

// BootstrapOptions choose the initial administrator's login.
type BootstrapOptions struct {
	AdminLoginName string // default "admin"
	// AdminPassword is the initial password; empty generates a random one.
	AdminPassword string
}

// BootstrapResult tells what Bootstrap did. AdminPassword is set only when
// it created the administrator; show it once and never log it.
type BootstrapResult struct {
	Created        bool
	AuthMethodID   string
	AdminUserID    string
	AdminLoginName string
	AdminPassword  string
}

// Names and grants of the roles Bootstrap creates in global.
const (
	// AdminRoleName grants FullGrant in global and below to the first admin.
	AdminRoleName = "Administration"
	// SelfServiceRoleName is held by u_auth (every logged-in user).
	SelfServiceRoleName = "Login and self-service"
)

// SelfServiceGrants let every logged-in user read themselves and their own
// logins (Boundary's {{.User.Id}} grants) and navigate: no-op on every scope
// reveals the scope names on the way to what other roles grant, and nothing
// else; and their own sessions may be read and canceled (issue 5). Listing
// or reading anything further takes another role.
var SelfServiceGrants = []string{
	"ids={{.User.Id}};actions=read",
	"ids=*;type=auth-token;actions=delete:self,read:self",
	"ids=*;type=scope;actions=no-op",
	"ids=*;type=session;actions=cancel:self,read:self",
}

// Bootstrap initialises an empty database: the global scope, a password auth
// method, an administrator holding the AdminRoleName role and the
// SelfServiceRoleName role for every logged-in user. On a database that already has the global
// scope it does nothing. Safe when several instances start at once.
func (s *Store) Bootstrap(ctx context.Context, opt BootstrapOptions) (*BootstrapResult, error) {
	if opt.AdminLoginName == "" {
		opt.AdminLoginName = "admin"
	}
	if opt.AdminPassword == "" {
		opt.AdminPassword = newSecret(15)
	}
	res := &BootstrapResult{}
	err := s.Transact(ctx, func(tx *Store) error {
		now := tx.now()
		ins := tx.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&Scope{
			ID: GlobalScopeID, Type: ScopeGlobal, Name: "Global", Description: "The root scope",
			CreatedAt: now, UpdatedAt: now, Version: 1,
		})
		if ins.Error != nil {
			return fmt.Errorf("create global scope: %w", ins.Error)
		}
		if ins.RowsAffected == 0 {
			var m AuthMethod
			if err := tx.q(ctx).Where("scope_id = ? AND type = ?", GlobalScopeID, AuthMethodPassword).Order("created_at").Limit(1).Find(&m).Error; err != nil {
				return fmt.Errorf("find password method: %w", err)
			}
			res.AuthMethodID = m.ID
			return nil
		}
		m := &AuthMethod{ID: NewID(PrefixPasswordMethod), ScopeID: GlobalScopeID, Type: AuthMethodPassword,
			Name: "Password", Description: "Login name and password", State: StateActivePublic, IsPrimary: true,
			CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := tx.q(ctx).Create(m).Error; err != nil {
			return fmt.Errorf("create password method: %w", err)
		}
		u := &User{ID: NewID(PrefixUser), ScopeID: GlobalScopeID, Name: opt.AdminLoginName, FullName: "Administrator",
			Description: "Initial administrator", CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := tx.q(ctx).Create(u).Error; err != nil {
			return fmt.Errorf("create admin user: %w", err)
		}
		if err := tx.setPasswordAccount(ctx, u, opt.AdminLoginName, opt.AdminPassword); err != nil {
			return fmt.Errorf("create admin account: %w", err)
		}
		global := &Scope{ID: GlobalScopeID, Name: "Global"}
		if _, err := tx.insertRole(ctx, global, AdminRoleName, "Everything, everywhere",
			[]string{acl.GrantScopeDescendants, acl.GrantScopeThis}, []string{FullGrant}, []string{u.ID}); err != nil {
			return fmt.Errorf("create administration role: %w", err)
		}
		if _, err := tx.insertRole(ctx, global, SelfServiceRoleName, "What every logged-in user needs",
			[]string{acl.GrantScopeDescendants, acl.GrantScopeThis}, SelfServiceGrants, []string{PrincipalAuthenticated}); err != nil {
			return fmt.Errorf("create self-service role: %w", err)
		}
		*res = BootstrapResult{Created: true, AuthMethodID: m.ID, AdminUserID: u.ID,
			AdminLoginName: opt.AdminLoginName, AdminPassword: opt.AdminPassword}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
