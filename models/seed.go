package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// SeedDevExtras prepares `gatehouse dev`'s provider (trusted start-up
// seeding, no actor): it links subject at issuer to the global user named
// userName (the bootstrap administrator) through method methodID unless the
// subject is linked already, and adds an "SRE" managed group (filter
// `"sre" in groups`) to the method if it has none by that name.
func (s *Store) SeedDevExtras(ctx context.Context, methodID, userName, subject, issuer string) error {
	return s.Transact(ctx, func(tx *Store) error {
		var n int64
		if err := tx.q(ctx).Model(&Account{}).Where("issuer = ? AND subject = ?", issuer, subject).Count(&n).Error; err != nil {
			return fmt.Errorf("find seeded account: %w", err)
		}
		if n == 0 {
			var u User
			err := tx.q(ctx).Where("scope_id = ? AND lower(name) = lower(?)", GlobalScopeID, userName).Limit(1).Find(&u).Error
			if err != nil {
				return fmt.Errorf("find user %s: %w", userName, err)
			}
			if u.ID != "" {
				now := tx.now()
				iss, sub := issuer, subject
				acct := Account{ID: NewID(PrefixOIDCAcct), AuthMethodID: methodID, UserID: u.ID, Issuer: &iss, Subject: &sub,
					FullName: u.FullName, Email: u.Email, CreatedAt: now, UpdatedAt: now, Version: 1}
				if err := tx.q(ctx).Create(&acct).Error; err != nil {
					return fmt.Errorf("link %s: %w", userName, err)
				}
			}
		}
		if err := tx.q(ctx).Model(&ManagedGroup{}).Where("auth_method_id = ? AND lower(name) = 'sre'", methodID).Count(&n).Error; err != nil {
			return fmt.Errorf("find seeded managed group: %w", err)
		}
		if n == 0 {
			now := tx.now()
			g := &ManagedGroup{ID: NewID(PrefixManagedGroup), AuthMethodID: methodID, Name: "SRE",
				Description: "People in the provider's sre group", Filter: `"sre" in groups`, CreatedAt: now, UpdatedAt: now, Version: 1}
			if err := tx.q(ctx).Create(g).Error; err != nil {
				return fmt.Errorf("seed managed group: %w", err)
			}
		}
		return nil
	})
}

// SeedActor is the actor of the password account loginName, for trusted
// start-up seeding (no login): `gatehouse dev` seeds as the bootstrap
// administrator.
func (s *Store) SeedActor(ctx context.Context, loginName string) (Actor, error) {
	var userID string
	err := s.q(ctx).Model(&Account{}).Select("user_id").
		Where("login_name = ?", loginName).Order("created_at").Limit(1).Scan(&userID).Error
	if err != nil {
		return Actor{}, fmt.Errorf("find the account %s: %w", loginName, err)
	}
	if userID == "" {
		return Actor{}, fmt.Errorf("account %s: %w", loginName, ErrNotFound)
	}
	return Actor{UserID: userID, Name: loginName}, nil
}

// SeedOIDCMethod creates or updates, by name in scopeID, an OIDC auth method
// that is active-public and primary, without checking the provider (its
// caller may not be serving yet). It is for trusted start-up seeding only
// (`gatehouse dev`); no actor is involved.
func (s *Store) SeedOIDCMethod(ctx context.Context, scopeID string, in OIDCMethodInput) (*AuthMethod, error) {
	var out *AuthMethod
	err := s.Transact(ctx, func(tx *Store) error {
		in, set, err := in.validate(true)
		if err != nil {
			return err
		}
		var m AuthMethod
		err = tx.q(ctx).Where("scope_id = ? AND type = ? AND lower(name) = lower(?)", scopeID, AuthMethodOIDC, in.Name).Take(&m).Error
		creating := errors.Is(err, gorm.ErrRecordNotFound)
		if err != nil && !creating {
			return fmt.Errorf("find seeded auth method: %w", err)
		}
		now := tx.now()
		if creating {
			m = AuthMethod{ID: NewID(PrefixOIDCMethod), ScopeID: scopeID, Type: AuthMethodOIDC, CreatedAt: now, Version: 1}
		}
		m.Name, m.Description, m.State, m.UpdatedAt = in.Name, in.Description, StateActivePublic, now
		if !creating {
			// The seeded provider's address may change between runs; its
			// people stay the same, so their accounts follow the issuer.
			if err := tx.q(ctx).Model(&Account{}).Where("auth_method_id = ? AND issuer IS NOT NULL", m.ID).
				Update("issuer", set.Issuer).Error; err != nil {
				return fmt.Errorf("move accounts to the new issuer: %w", err)
			}
		}
		if err := tx.saveOIDCMethod(ctx, &m, set, in.ClientSecret, true, creating); err != nil {
			return err
		}
		if err := tx.q(ctx).Model(&AuthMethod{}).Where("id = ?", m.ID).Update("state", StateActivePublic).Error; err != nil {
			return fmt.Errorf("activate seeded auth method: %w", err)
		}
		out = &m
		return nil
	})
	return out, err
}
