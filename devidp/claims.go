package devidp

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// GetClientByClientID returns a registered client.
func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok {
		return nil, errors.New("unknown client")
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a client's secret (basic or post, op parses both).
func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok || subtle.ConstantTimeCompare([]byte(c.def.Secret), []byte(secret)) != 1 {
		return errors.New("wrong client id or secret")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in op and left empty; see SetUserinfoFromRequest.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's user claims from the current user data.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[req.GetSubject()]
	if !ok {
		return errUnknownUser
	}
	setUserinfo(info, u, scopes)
	return nil
}

// SetUserinfoFromToken answers /userinfo for a live access token, with the user's
// current data and the token's scopes.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.liveToken(tokenID, subject)
	if !ok {
		return errNotFound
	}
	u, ok := s.users[t.subject]
	if !ok {
		return errUnknownUser
	}
	setUserinfo(info, u, t.scopes)
	return nil
}

// SetIntrospectionFromToken answers /oauth/introspect for a live access token issued
// to the calling client; anything else is reported inactive.
func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.liveToken(tokenID, subject)
	if !ok || t.clientID != clientID {
		return errNotFound
	}
	u, ok := s.users[t.subject]
	if !ok {
		return errUnknownUser
	}
	info := new(oidc.UserInfo)
	setUserinfo(info, u, t.scopes)
	resp.SetUserInfo(info)
	resp.Active = true
	resp.Scope = slices.Clone(t.scopes)
	resp.ClientID = t.clientID
	resp.Audience = []string{t.clientID}
	resp.Expiration = oidc.FromTime(t.expires)
	return nil
}

// GetPrivateClaimsFromScopes adds nothing: access tokens are opaque, not JWTs.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID is refused: no client authenticates with private_key_jwt.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errUnsupported
}

// ValidateJWTProfileScopes is refused: the JWT profile grant is not offered.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errUnsupported
}

// checkPassword returns the subject of username if password matches.
func (s *storage) checkPassword(username, password string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subjects[username]
	if !ok {
		return "", false
	}
	u := s.users[sub]
	if subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) != 1 {
		return "", false
	}
	return sub, true
}

// requestLive reports whether the auth request id can still be logged into.
func (s *storage) requestLive(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.liveRequest(id, s.now())
	return ok && !a.done
}

// setGroups replaces the groups of username.
func (s *storage) setGroups(username string, groups []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subjects[username]
	if !ok {
		return errUnknownUser
	}
	s.users[sub].Groups = slices.Clone(groups)
	return nil
}

// setUserinfo fills info for user u according to scopes. "sub" and "groups" are
// always set; "profile" adds name and preferred_username, "email" adds email and
// email_verified (seeded addresses count as verified).
func setUserinfo(info *oidc.UserInfo, u *User, scopes []string) {
	info.Subject = u.Subject
	for _, scope := range scopes {
		switch scope {
		case oidc.ScopeProfile:
			info.Name = u.Name
			info.PreferredUsername = u.Username
		case oidc.ScopeEmail:
			info.Email = u.Email
			info.EmailVerified = oidc.Bool(u.Email != "")
		}
	}
	groups := append([]string{}, u.Groups...) // never nil: "groups": [] for nobody's groups
	info.AppendClaims(groupsClaim, groups)
}
