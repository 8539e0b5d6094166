package models

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"
)

// AuthMethodStates are the states of an OIDC auth method.
var AuthMethodStates = []string{StateInactive, StateActivePrivate, StateActivePublic}

// ChangeAuthMethodState moves an OIDC auth method to state. Leaving
// inactive (or moving between active states) first checks the provider's
// discovery document; its exact complaint comes back as an ErrInvalid on
// field "state". version must match.
func (s *Store) ChangeAuthMethodState(ctx context.Context, a Actor, id string, version int, state string) error {
	m, set, err := s.readOIDCMethod(ctx, a, id)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, a, ActionChangeState, authMethodResource(m)); err != nil {
		return err
	}
	if !slices.Contains(AuthMethodStates, state) {
		return Invalid("state", "State must be inactive, active-private or active-public.")
	}
	if state != StateInactive {
		if err := s.checkProvider(ctx, set.Issuer, splitList(set.SigningAlgorithms), "state"); err != nil {
			return err
		}
	}
	return s.changeTx(ctx, a, ActionChangeState, "auth-method", id, func(tx *Store) error {
		res := tx.q(ctx).Model(&AuthMethod{}).Where("id = ? AND version = ?", id, version).
			Updates(map[string]any{"state": state, "updated_at": tx.now(), "version": gorm.Expr("version + 1")})
		if res.Error != nil {
			return fmt.Errorf("change state of auth method %s: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return stale("change state of auth method " + id)
		}
		return nil
	})
}

// AuthMethodItem is an auth method in a list.
type AuthMethodItem struct {
	AuthMethod
	ScopeName string
	Issuer    string
	Actions   map[Action]bool `gorm:"-"`
}

// ListAuthMethods lists auth methods of every type, optionally of one
// scope, matching search in name, description or issuer.
func (s *Store) ListAuthMethods(ctx context.Context, a Actor, scopeID string, opt ListOptions) (Page[AuthMethodItem], error) {
	opt = opt.norm()
	page := Page[AuthMethodItem]{Page: opt.Page, PerPage: opt.PerPage}
	q, err := s.scopedList(ctx, a, "auth-method", "auth_methods", "m", scopeID)
	if err != nil {
		return page, err
	}
	q = s.searchNameDesc(q.Joins("LEFT JOIN oidc_auth_methods o ON o.auth_method_id = m.id"), "m", opt.Search, "coalesce(o.issuer, '')")
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count auth methods: %w", err)
	}
	var rows []AuthMethodItem
	err = q.Select("m.*, sc.name AS scope_name, coalesce(o.issuer, '') AS issuer").
		Order("CASE WHEN m.scope_id = 'global' THEN 0 ELSE 1 END, lower(sc.name), lower(m.name), m.id").
		Limit(opt.PerPage).Offset(opt.offset()).Scan(&rows).Error
	if err != nil {
		return page, fmt.Errorf("list auth methods: %w", err)
	}
	for i := range rows {
		rows[i].Actions = s.Allowed(ctx, a, authMethodResource(&rows[i].AuthMethod), ActionRead, ActionUpdate, ActionDelete)
	}
	page.Items = rows
	return page, nil
}

// DeleteAuthMethod deletes an OIDC auth method with its accounts, managed
// groups and the logins made through it; removing the last full
// administrator this way is refused. Password methods are not deleted here.
func (s *Store) DeleteAuthMethod(ctx context.Context, a Actor, id string) error {
	return s.changeTx(ctx, a, ActionDelete, "auth-method", id, func(tx *Store) error {
		m, _, err := tx.readOIDCMethod(ctx, a, id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionDelete, authMethodResource(m)); err != nil {
			return err
		}
		if a.AccountID != "" {
			var n int64
			if err := tx.q(ctx).Model(&Account{}).Where("id = ? AND auth_method_id = ?", a.AccountID, id).Count(&n).Error; err != nil {
				return fmt.Errorf("check own account: %w", err)
			}
			if n > 0 {
				return Conflict("delete auth method "+id, "You cannot delete the auth method you are logged in with.")
			}
		}
		if _, err := tx.CancelSessionsOf(ctx, authMethodResource(m)); err != nil {
			return err
		}
		return tx.keepAnAdministrator(ctx, func() error {
			if err := tx.q(ctx).Where("id = ?", id).Delete(&AuthMethod{}).Error; err != nil {
				return fmt.Errorf("delete auth method %s: %w", id, err)
			}
			return nil
		})
	})
}
