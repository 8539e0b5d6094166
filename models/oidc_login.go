package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"gorm.io/gorm"
)

// OIDCRefusal is why an OIDC login was refused, written for the person who
// tried. errors.Is(err, ErrUnauthenticated) is true for it.
type OIDCRefusal struct {
	Reason string
}

func (e *OIDCRefusal) Error() string { return "oidc login refused: " + e.Reason }

// Is makes errors.Is(err, ErrUnauthenticated) true.
func (e *OIDCRefusal) Is(target error) bool { return target == ErrUnauthenticated }

// OIDCIdentity is what a verified OIDC login proved: the ID token's issuer
// and subject and the claims of the ID token and of the userinfo answer
// (whose subject the caller has checked to be the same).
type OIDCIdentity struct {
	AuthMethodID   string
	Issuer         string
	Subject        string
	TokenClaims    map[string]any
	UserinfoClaims map[string]any
	ClientIP       string
	UserAgent      string
}

// MergedClaims is the ID token's claims overlaid with the userinfo claims
// (fresher), which managed group filters are evaluated on.
func (id OIDCIdentity) MergedClaims() map[string]any {
	out := make(map[string]any, len(id.TokenClaims)+len(id.UserinfoClaims))
	for k, v := range id.TokenClaims {
		out[k] = v
	}
	for k, v := range id.UserinfoClaims {
		out[k] = v
	}
	return out
}

// OIDCLogin finishes a verified OIDC login: it finds the account by issuer
// and subject (creating the user and account on the first login through the
// scope's primary method), refreshes name and email, recomputes managed
// group membership and starts a fresh login, all in one transaction.
// Refusals are *OIDCRefusal and change nothing.
func (s *Store) OIDCLogin(ctx context.Context, id OIDCIdentity) (*NewLoginResult, error) {
	if id.Subject == "" || id.Issuer == "" {
		return nil, &OIDCRefusal{Reason: "The provider did not say who you are (no subject)."}
	}
	var out *NewLoginResult
	err := s.Transact(ctx, func(tx *Store) error {
		m, set, err := tx.loadOIDCMethod(ctx, id.AuthMethodID)
		if errors.Is(err, ErrNotFound) {
			return &OIDCRefusal{Reason: "This login method no longer exists."}
		}
		if err != nil {
			return err
		}
		if m.State == StateInactive {
			return &OIDCRefusal{Reason: fmt.Sprintf("The login method %q is not active.", m.Name)}
		}
		if set.Issuer != id.Issuer {
			return &OIDCRefusal{Reason: "The identity comes from another issuer than this login method's."}
		}
		claims := id.MergedClaims()
		fullName, email := claimText(claims, set.NameClaim, 256), claimText(claims, set.EmailClaim, 320)
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
			email = ""
		}
		tokJSON, _ := json.Marshal(id.TokenClaims)
		uiJSON, _ := json.Marshal(id.UserinfoClaims)
		var acct Account
		err = tx.q(ctx).Where("issuer = ? AND subject = ?", id.Issuer, id.Subject).Take(&acct).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			if !m.IsPrimary {
				return &OIDCRefusal{Reason: fmt.Sprintf("No Gatehouse user is linked to this identity, and %q is not its scope's primary login method, so it cannot create one. Ask an administrator.", m.Name)}
			}
			if acct, err = tx.createOIDCUser(ctx, m, id, claims, fullName, email); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("find oidc account: %w", err)
		case acct.AuthMethodID != m.ID:
			return &OIDCRefusal{Reason: "This identity is already linked to a Gatehouse account through another login method; it cannot be linked twice."}
		default:
			if err := tx.refreshOIDCUser(ctx, &acct, fullName, email); err != nil {
				return err
			}
		}
		if err := tx.q(ctx).Model(&Account{}).Where("id = ?", acct.ID).Updates(map[string]any{
			"full_name": fullName, "email": email, "token_claims": string(tokJSON), "userinfo_claims": string(uiJSON),
			"updated_at": tx.now(), "version": gorm.Expr("version + 1"),
		}).Error; err != nil {
			return fmt.Errorf("refresh oidc account: %w", err)
		}
		if err := tx.recomputeManagedGroups(ctx, m.ID, acct.ID, claims); err != nil {
			return err
		}
		out, err = tx.startLogin(ctx, &acct, id.ClientIP, id.UserAgent)
		return err
	})
	if refusal := (*OIDCRefusal)(nil); errors.As(err, &refusal) {
		return nil, s.refusedLogin(ctx, id.AuthMethodID, id.Subject, id.ClientIP, err)
	}
	return out, err
}

// createOIDCUser creates the user (in the method's scope) and its account on
// a first login. The user's handle is the preferred_username or email when
// valid and free, else empty.
func (s *Store) createOIDCUser(ctx context.Context, m *AuthMethod, id OIDCIdentity, claims map[string]any, fullName, email string) (Account, error) {
	now := s.now()
	name := ""
	for _, c := range []string{claimText(claims, "preferred_username", 128), email} {
		if c == "" || len(c) > 128 || !handlePattern.MatchString(c) {
			continue
		}
		var n int64
		if err := s.q(ctx).Model(&User{}).Where("scope_id = ? AND lower(name) = lower(?)", m.ScopeID, c).Count(&n).Error; err != nil {
			return Account{}, fmt.Errorf("check user name: %w", err)
		}
		if n == 0 {
			name = c
			break
		}
	}
	u := &User{ID: NewID(PrefixUser), ScopeID: m.ScopeID, Name: name, FullName: fullName, Email: email,
		Description: "Created at first login through " + m.Name, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.q(ctx).Create(u).Error; err != nil {
		return Account{}, fmt.Errorf("create user: %w", err)
	}
	iss, sub := id.Issuer, id.Subject
	acct := Account{ID: NewID(PrefixOIDCAcct), AuthMethodID: m.ID, UserID: u.ID, Issuer: &iss, Subject: &sub,
		FullName: fullName, Email: email, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.q(ctx).Create(&acct).Error; err != nil {
		if isUniqueViolation(err) {
			return Account{}, &OIDCRefusal{Reason: "This identity was linked by another login at the same moment; please try again."}
		}
		return Account{}, fmt.Errorf("create oidc account: %w", err)
	}
	return acct, nil
}

// refreshOIDCUser copies a new name and email to the user where the user's
// value still follows the account's previous one (an admin's edit wins).
func (s *Store) refreshOIDCUser(ctx context.Context, acct *Account, fullName, email string) error {
	var u User
	if err := s.q(ctx).Where("id = ?", acct.UserID).Take(&u).Error; err != nil {
		return fmt.Errorf("load user of account %s: %w", acct.ID, err)
	}
	up := map[string]any{}
	if u.FullName == acct.FullName && fullName != u.FullName {
		up["full_name"] = fullName
	}
	if u.Email == acct.Email && email != u.Email {
		up["email"] = email
	}
	if len(up) == 0 {
		return nil
	}
	up["updated_at"], up["version"] = s.now(), gorm.Expr("version + 1")
	if err := s.q(ctx).Model(&User{}).Where("id = ?", u.ID).Updates(up).Error; err != nil {
		return fmt.Errorf("refresh user %s: %w", u.ID, err)
	}
	return nil
}

// claimText returns a string claim (trimmed, without control or
// bidirectional control characters, cut to max runes), or "".
func claimText(claims map[string]any, name string, max int) string {
	v, _ := claims[name].(string)
	v = strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || isBidiControl(r) {
			return -1
		}
		return r
	}, v))
	if r := []rune(v); len(r) > max {
		v = string(r[:max])
	}
	return v
}

// OIDCLoginConfig is what the login flow needs to talk to a provider,
// including the decrypted client secret. Never show it to anyone.
type OIDCLoginConfig struct {
	AuthMethodID      string
	Name              string
	State             string
	Issuer            string
	ClientID          string
	ClientSecret      string
	ClaimsScopes      []string
	AllowedAudiences  []string
	SigningAlgorithms []string
	MaxAge            int
	Prompts           []string
	Version           int
}

// OIDCConfigForLogin returns an active OIDC auth method's settings for the
// login flow, which runs before anyone is logged in (Boundary's
// "authenticate" action is open to anyone on active methods). Unknown and
// inactive methods are ErrNotFound.
func (s *Store) OIDCConfigForLogin(ctx context.Context, id string) (*OIDCLoginConfig, error) {
	m, set, err := s.loadOIDCMethod(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.State == StateInactive {
		return nil, fmt.Errorf("auth method %s is inactive: %w", id, ErrNotFound)
	}
	cfg := &OIDCLoginConfig{AuthMethodID: m.ID, Name: m.Name, State: m.State, Issuer: set.Issuer, ClientID: set.ClientID,
		ClaimsScopes: splitList(set.ClaimsScopes), AllowedAudiences: splitList(set.AllowedAudiences),
		SigningAlgorithms: splitList(set.SigningAlgorithms), MaxAge: set.MaxAge, Prompts: splitList(set.Prompts), Version: m.Version}
	if set.ClientSecret != "" {
		if s.opts.Crypter == nil {
			return nil, fmt.Errorf("decrypt client secret of %s: no root key configured", id)
		}
		b, err := s.opts.Crypter.Decrypt(set.ClientSecret, m.ID)
		if err != nil {
			return nil, fmt.Errorf("decrypt client secret of %s: %w", id, err)
		}
		cfg.ClientSecret = string(b)
	}
	return cfg, nil
}
