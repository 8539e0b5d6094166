package models

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"gorm.io/gorm"
)

// cliCodeLifetime is how long the CLI has to exchange its login code.
const cliCodeLifetime = 2 * time.Minute

// CLILoginRequest is what `gatehouse login` asks the browser for: a code
// sent to its loopback RedirectURI (RFC 8252), bound to a PKCE S256
// CodeChallenge, for a token named TokenName (e.g. the computer's name).
type CLILoginRequest struct {
	RedirectURI         string
	CodeChallenge       string
	CodeChallengeMethod string
	TokenName           string
}

type cliLoginCode struct {
	CodeHash      string `gorm:"primaryKey"`
	UserID        string
	AccountID     string
	AuthMethodID  string
	CodeChallenge string
	RedirectURI   string
	TokenName     string
	CreatedAt     time.Time
	ExpiresAt     time.Time
}

func (cliLoginCode) TableName() string { return "cli_login_codes" }

// ValidateCLILoginRequest checks a CLI login request: the redirect is an
// http loopback address with a port (127.0.0.1 or [::1], RFC 8252 7.3),
// the challenge an S256 PKCE challenge. Errors are ErrInvalid with fields
// "redirect_uri", "code_challenge", "name".
func ValidateCLILoginRequest(in CLILoginRequest) error {
	v := validator{}
	u, err := url.Parse(in.RedirectURI)
	switch {
	case err != nil || u.Scheme != "http" || u.User != nil || u.Port() == "" || u.RawQuery != "" || u.Fragment != "":
		v.add("redirect_uri", "The CLI must listen on http://127.0.0.1:PORT/ (a loopback address with a port).")
	default:
		ip := net.ParseIP(u.Hostname())
		if ip == nil || !ip.IsLoopback() {
			v.add("redirect_uri", "The CLI must listen on http://127.0.0.1:PORT/ (a loopback address with a port).")
		}
	}
	if in.CodeChallengeMethod != "S256" {
		v.add("code_challenge", "Only the S256 code challenge method is accepted.")
	} else if b, err := base64.RawURLEncoding.DecodeString(in.CodeChallenge); err != nil || len(b) != sha256.Size {
		v.add("code_challenge", "The code challenge must be a base64url SHA-256 digest.")
	}
	v.text("name", "Token name", in.TokenName, true, 128)
	return v.err()
}

// CreateCLILoginCode is the browser's half of `gatehouse login`: the
// actor, logged in through the browser (any auth method), agrees to give
// the CLI a token. It returns a one-time code, valid two minutes, for the
// loopback redirect. A token actor is refused (ErrForbidden).
func (s *Store) CreateCLILoginCode(ctx context.Context, a Actor, in CLILoginRequest) (string, error) {
	if !a.Authenticated() {
		return "", ErrUnauthenticated
	}
	if a.viaToken() {
		return "", fmt.Errorf("log the CLI in through the browser: %w", ErrForbidden)
	}
	if err := ValidateCLILoginRequest(in); err != nil {
		return "", err
	}
	var methodID string
	if err := s.q(ctx).Model(&Account{}).Select("auth_method_id").Where("id = ? AND user_id = ?", a.AccountID, a.UserID).
		Scan(&methodID).Error; err != nil {
		return "", fmt.Errorf("find account: %w", err)
	}
	if methodID == "" {
		return "", ErrUnauthenticated
	}
	code := newSecret(32)
	now := s.now()
	row := cliLoginCode{CodeHash: hashSecret(code), UserID: a.UserID, AccountID: a.AccountID, AuthMethodID: methodID,
		CodeChallenge: in.CodeChallenge, RedirectURI: in.RedirectURI, TokenName: strings.TrimSpace(in.TokenName),
		CreatedAt: now, ExpiresAt: now.Add(cliCodeLifetime)}
	if err := s.q(ctx).Create(&row).Error; err != nil {
		return "", fmt.Errorf("create CLI login code: %w", err)
	}
	return code, nil
}

// ErrBadLoginCode is a CLI login code that is unknown, used, expired, or
// whose verifier or redirect does not match. An ErrUnauthenticated kind.
var ErrBadLoginCode = fmt.Errorf("the login code is unknown, used, expired or does not match: %w", ErrUnauthenticated)

// ExchangeCLILoginCode is the CLI's half: the code, its PKCE verifier and
// the same redirect give a CLI token valid for a login's lifetime. A code
// works once (it is deleted whatever the outcome).
func (s *Store) ExchangeCLILoginCode(ctx context.Context, code, verifier, redirectURI string) (*NewAPIToken, error) {
	var out *NewAPIToken
	err := s.Transact(ctx, func(tx *Store) error {
		var row cliLoginCode
		err := tx.forUpdate(tx.q(ctx)).Where("code_hash = ?", hashSecret(code)).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrBadLoginCode
		}
		if err != nil {
			return fmt.Errorf("find CLI login code: %w", err)
		}
		res := tx.q(ctx).Where("code_hash = ?", row.CodeHash).Delete(&cliLoginCode{})
		if res.Error != nil {
			return fmt.Errorf("use CLI login code: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrBadLoginCode
		}
		sum := sha256.Sum256([]byte(verifier))
		challenge := base64.RawURLEncoding.EncodeToString(sum[:])
		if !tx.now().Before(row.ExpiresAt) || row.RedirectURI != redirectURI ||
			subtle.ConstantTimeCompare([]byte(challenge), []byte(row.CodeChallenge)) != 1 {
			out = nil
			// Commit the deletion and the refused login; refuse below.
			return tx.recordLogin(ctx, Anonymous, ChangeLoginRefused, row.AuthMethodID, map[string]any{
				"account_id": row.AccountID, "via": "cli", "reason": ErrBadLoginCode.Error()})
		}
		out, err = tx.insertAPIToken(ctx, APITokenCLI, row.TokenName, row.UserID, row.AccountID, row.AuthMethodID,
			tx.now().Add(tx.opts.LoginLifetime))
		if err != nil {
			return err
		}
		return tx.recordCLILogin(ctx, out, "")
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, ErrBadLoginCode
	}
	return out, nil
}

// PasswordAPIToken is `gatehouse login --password`: the same check (and
// throttling) as the login form, giving a CLI token named name instead of
// a browser login.
func (s *Store) PasswordAPIToken(ctx context.Context, in PasswordLogin, name string) (*NewAPIToken, error) {
	v := validator{}
	name = v.text("name", "Token name", name, true, 128)
	if err := v.err(); err != nil {
		return nil, err
	}
	var out *NewAPIToken
	err := s.authenticatePassword(ctx, in, func(tx *Store, acct *Account) error {
		var err error
		out, err = tx.insertAPIToken(ctx, APITokenCLI, name, acct.UserID, acct.ID, acct.AuthMethodID, tx.now().Add(tx.opts.LoginLifetime))
		if err != nil {
			return err
		}
		return tx.recordCLILogin(ctx, out, in.ClientIP)
	})
	return out, err
}

// recordCLILogin writes a CLI login (a CLI token made by `gatehouse
// login`) to the change log, like a browser login: the actor is the person,
// the login id the token's.
func (s *Store) recordCLILogin(ctx context.Context, t *NewAPIToken, clientIP string) error {
	if clientIP == "" {
		clientIP = RequestInfoFrom(ctx).ClientIP
	}
	return s.recordLogin(ctx, Actor{UserID: t.UserID, LoginID: t.ID, AccountID: t.AccountID}, ChangeLogin, t.AuthMethodID,
		map[string]any{"account_id": t.AccountID, "login_id": t.ID, "client_ip": clientIP, "via": "cli", "token_name": t.Name})
}
