package models

import (
	"context"
	"fmt"

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

// Bootstrap initialises an empty database: the global scope, a password auth
// method and an administrator. On a database that already has the global
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
			Description: "Initial administrator", IsAdmin: true, CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := tx.q(ctx).Create(u).Error; err != nil {
			return fmt.Errorf("create admin user: %w", err)
		}
		if err := tx.setPasswordAccount(ctx, u, opt.AdminLoginName, opt.AdminPassword); err != nil {
			return fmt.Errorf("create admin account: %w", err)
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
