package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Auth method types and states.
const (
	AuthMethodPassword = "password"
	AuthMethodOIDC     = "oidc"

	StateInactive      = "inactive"
	StateActivePrivate = "active-private"
	StateActivePublic  = "active-public"
)

// AuthMethod is a way to log in (password or OIDC) in global or an org.
type AuthMethod struct {
	ID          string
	ScopeID     string
	Type        string
	Name        string
	Description string
	State       string
	IsPrimary   bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int
}

// LoginOption is an auth method offered on the login page.
type LoginOption struct {
	ID        string
	Type      string
	Name      string
	ScopeName string
	// IsPrimary: the scope's primary auth method (its OIDC button is then
	// the login page's primary action).
	IsPrimary bool
}

// PublicAuthMethods lists the auth methods shown on the login page (state
// active-public), global's first. Anyone may call it.
func (s *Store) PublicAuthMethods(ctx context.Context) ([]LoginOption, error) {
	var out []LoginOption
	err := s.q(ctx).Table("auth_methods AS m").
		Select("m.id, m.type, m.name, sc.name AS scope_name, m.is_primary").
		Joins("JOIN scopes sc ON sc.id = m.scope_id").
		Where("m.state = ?", StateActivePublic).
		Order("CASE WHEN m.scope_id = 'global' THEN 0 ELSE 1 END, lower(sc.name), m.is_primary DESC, lower(m.name)").
		Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list public auth methods: %w", err)
	}
	return out, nil
}

// passwordMethod returns the password auth method of a scope, creating one
// named "Password" if the scope has none. Runs inside the caller's
// transaction.
func (s *Store) passwordMethod(ctx context.Context, scopeID string) (*AuthMethod, error) {
	var m AuthMethod
	err := s.q(ctx).Where("scope_id = ? AND type = ?", scopeID, AuthMethodPassword).Order("created_at").Take(&m).Error
	if err == nil {
		return &m, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("find password method: %w", err)
	}
	m = AuthMethod{ID: NewID(PrefixPasswordMethod), ScopeID: scopeID, Type: AuthMethodPassword, Name: "Password",
		State: StateActivePublic, CreatedAt: s.now(), UpdatedAt: s.now(), Version: 1}
	if err := s.q(ctx).Create(&m).Error; err != nil {
		return nil, fmt.Errorf("create password method: %w", err)
	}
	return &m, nil
}
