package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// PrefixAPIToken is the id prefix of API tokens; APITokenSecretPrefix
// starts every token's secret, so a leaked one is recognisable.
const (
	PrefixAPIToken       = "tok"
	APITokenSecretPrefix = "ghat_"
)

// API token kinds.
const (
	// APITokenPersonal is made by a person on the account page.
	APITokenPersonal = "personal"
	// APITokenCLI is made by `gatehouse login`.
	APITokenCLI = "cli"
)

// Bounds of a personal token's expiry (from its creation).
const (
	MinAPITokenLifetime = time.Hour
	MaxAPITokenLifetime = 366 * 24 * time.Hour
)

// ErrTokenExpired is an API token past its expiry: the caller must log in
// again (or make a new token). It is an ErrUnauthenticated kind.
var ErrTokenExpired = fmt.Errorf("the API token has expired: %w", ErrUnauthenticated)

// ErrTokenUnknown is a token nobody issued or one that was revoked (or
// died with its user or account). It is an ErrUnauthenticated kind.
var ErrTokenUnknown = fmt.Errorf("the API token is unknown or was revoked: %w", ErrUnauthenticated)

// APIToken is a bearer token for /api/v1, held by one user through one of
// its accounts. Only its hash is stored; it dies with its user, account or
// auth method (foreign keys), like a browser login.
type APIToken struct {
	ID           string
	TokenHash    string `json:"-"`
	Kind         string
	Name         string
	UserID       string
	AccountID    string
	AuthMethodID string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	LastUsedAt   *time.Time
}

// NewAPIToken is a token just made, with its secret (shown this once).
type NewAPIToken struct {
	APIToken
	Token string
}

// APITokenInput is the account page's form: a name and when it expires.
type APITokenInput struct {
	Name      string
	ExpiresAt time.Time
}

// viaToken reports whether the actor authenticated with an API token.
func (a Actor) viaToken() bool { return strings.HasPrefix(a.LoginID, PrefixAPIToken+"_") }

// ViaToken reports whether the actor authenticated with an API token
// (rather than a browser login).
func (a Actor) ViaToken() bool { return a.viaToken() }

// loginTable is where the actor's login lives: logins, or api_tokens.
func (a Actor) loginTable() string {
	if a.viaToken() {
		return "api_tokens"
	}
	return "logins"
}

// CreateAPIToken makes a personal token for the actor's own user and
// account. Only a browser login may make one (a token cannot mint tokens
// that outlive its own revocation): ErrForbidden otherwise. ErrInvalid
// ("name", "expires_at": required, between one hour and 366 days ahead).
func (s *Store) CreateAPIToken(ctx context.Context, a Actor, in APITokenInput) (*NewAPIToken, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	if a.viaToken() {
		return nil, fmt.Errorf("make API tokens on the account page, not with another token: %w", ErrForbidden)
	}
	v := validator{}
	name := v.text("name", "Name", in.Name, true, 128)
	now := s.now()
	switch {
	case in.ExpiresAt.IsZero():
		v.add("expires_at", "Choose when the token expires.")
	case in.ExpiresAt.Before(now.Add(MinAPITokenLifetime)):
		v.add("expires_at", "The expiry must be at least an hour from now.")
	case in.ExpiresAt.After(now.Add(MaxAPITokenLifetime)):
		v.add("expires_at", "The expiry must be within 366 days.")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	var methodID string
	if err := s.q(ctx).Model(&Account{}).Select("auth_method_id").Where("id = ? AND user_id = ?", a.AccountID, a.UserID).
		Scan(&methodID).Error; err != nil {
		return nil, fmt.Errorf("find account: %w", err)
	}
	if methodID == "" {
		return nil, ErrUnauthenticated
	}
	var out *NewAPIToken
	err := s.createTx(ctx, a, "api-token", func() string { return out.ID }, func(tx *Store) (err error) {
		out, err = tx.insertAPIToken(ctx, APITokenPersonal, name, a.UserID, a.AccountID, methodID, in.ExpiresAt.UTC().Truncate(time.Microsecond))
		return err
	})
	return out, err
}

func (s *Store) insertAPIToken(ctx context.Context, kind, name, userID, accountID, methodID string, expires time.Time) (*NewAPIToken, error) {
	secret := APITokenSecretPrefix + newSecret(32)
	t := APIToken{ID: NewID(PrefixAPIToken), TokenHash: hashSecret(secret), Kind: kind, Name: name, UserID: userID,
		AccountID: accountID, AuthMethodID: methodID, CreatedAt: s.now(), ExpiresAt: expires}
	if err := s.q(ctx).Create(&t).Error; err != nil {
		return nil, fmt.Errorf("create API token: %w", err)
	}
	return &NewAPIToken{APIToken: t, Token: secret}, nil
}

// ListAPITokens returns the actor's own tokens, newest first (expired ones
// included until purged, so the page can say so).
func (s *Store) ListAPITokens(ctx context.Context, a Actor) ([]APIToken, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	var out []APIToken
	if err := s.q(ctx).Where("user_id = ?", a.UserID).Order("created_at DESC, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	return out, nil
}

// RevokeAPIToken deletes one of the actor's own tokens; it stops working at
// once. Another user's token, or an unknown one, is ErrNotFound.
func (s *Store) RevokeAPIToken(ctx context.Context, a Actor, id string) error {
	if !a.Authenticated() {
		return ErrUnauthenticated
	}
	return s.changeTx(ctx, a, ActionDelete, "api-token", id, func(tx *Store) error {
		res := tx.q(ctx).Where("id = ? AND user_id = ?", id, a.UserID).Delete(&APIToken{})
		if res.Error != nil {
			return fmt.Errorf("revoke API token %s: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("API token %s: %w", id, ErrNotFound)
		}
		return nil
	})
}

// RevokeOwnAPIToken deletes the token holding secret (`gatehouse logout`),
// which must be one of a's own; the revocation is recorded in the change
// log in the same transaction, like any other token revocation. An unknown
// token (or another user's) is not an error: nothing is deleted.
func (s *Store) RevokeOwnAPIToken(ctx context.Context, a Actor, secret string) error {
	if secret == "" || !a.Authenticated() {
		return nil
	}
	return s.Transact(ctx, func(tx *Store) error {
		var ids []string
		if err := tx.forUpdate(tx.q(ctx).Model(&APIToken{})).Where("token_hash = ? AND user_id = ?", hashSecret(secret), a.UserID).
			Pluck("id", &ids).Error; err != nil {
			return fmt.Errorf("find API token: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		return tx.changeTx(ctx, a, ActionDelete, "api-token", ids[0], func(tx *Store) error {
			if err := tx.q(ctx).Where("id = ?", ids[0]).Delete(&APIToken{}).Error; err != nil {
				return fmt.Errorf("revoke API token %s: %w", ids[0], err)
			}
			return nil
		})
	})
}

// ActorByAPIToken resolves a bearer token to its actor, like LoginByToken
// does for a cookie: ErrTokenUnknown or ErrTokenExpired (both
// ErrUnauthenticated kinds). The last-used time is refreshed at most once
// a minute.
func (s *Store) ActorByAPIToken(ctx context.Context, secret string) (Actor, *APIToken, error) {
	if secret == "" {
		return Anonymous, nil, ErrTokenUnknown
	}
	var row struct {
		APIToken
		UserName     string
		UserFullName string
	}
	err := s.q(ctx).Table("api_tokens AS t").Select("t.*, u.name AS user_name, u.full_name AS user_full_name").
		Joins("JOIN users u ON u.id = t.user_id").
		Where("t.token_hash = ?", hashSecret(secret)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Anonymous, nil, ErrTokenUnknown
	}
	if err != nil {
		return Anonymous, nil, fmt.Errorf("find API token: %w", err)
	}
	now := s.now()
	if !now.Before(row.ExpiresAt) {
		return Anonymous, nil, ErrTokenExpired
	}
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) > time.Minute {
		if err := s.q(ctx).Model(&APIToken{}).Where("id = ?", row.ID).Update("last_used_at", now).Error; err != nil {
			return Anonymous, nil, fmt.Errorf("touch API token: %w", err)
		}
		row.LastUsedAt = &now
	}
	name := row.UserFullName
	if name == "" {
		name = row.UserName
	}
	tok := row.APIToken
	a := Actor{UserID: row.UserID, LoginID: row.ID, AccountID: row.AccountID, Name: name, acl: &actorACL{}}
	a.Can = s.capabilities(ctx, a)
	return a, &tok, nil
}

// PurgeAPITokens deletes tokens expired for more than a week (the account
// page shows recently expired ones) and stale CLI login codes; safe on
// every instance.
func (s *Store) PurgeAPITokens(ctx context.Context) (int64, error) {
	now := s.now()
	res := s.q(ctx).Where("expires_at <= ?", now.Add(-7*24*time.Hour)).Delete(&APIToken{})
	if res.Error != nil {
		return 0, fmt.Errorf("purge API tokens: %w", res.Error)
	}
	if err := s.q(ctx).Where("expires_at <= ?", now).Delete(&cliLoginCode{}).Error; err != nil {
		return 0, fmt.Errorf("purge CLI login codes: %w", err)
	}
	return res.RowsAffected, nil
}
