package devidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// storage is the provider's whole state, in memory behind one mutex. It implements
// op.Storage (plus op.CanSetUserinfoFromRequest) for the authorization code flow.
type storage struct {
	key *signingKey

	mu       sync.Mutex
	now      func() time.Time
	users    map[string]*User   // by subject
	subjects map[string]string  // username → subject
	clients  map[string]*client // by client id
	requests map[string]*authRequest
	codes    map[string]string // code → auth request id
	tokens   map[string]*accessToken
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)

	errNotFound    = errors.New("not found or expired")
	errUnsupported = errors.New("not supported by the dev identity provider")
)

// newStorage validates and copies users and clients and generates the signing key.
func newStorage(loginURL string, users []User, clients []Client, now func() time.Time) (*storage, error) {
	s := &storage{
		now:      now,
		users:    make(map[string]*User, len(users)),
		subjects: make(map[string]string, len(users)),
		clients:  make(map[string]*client, len(clients)),
		requests: make(map[string]*authRequest),
		codes:    make(map[string]string),
		tokens:   make(map[string]*accessToken),
	}
	for _, u := range users {
		if u.Subject == "" || u.Username == "" {
			return nil, fmt.Errorf("user %q: subject and username are required", u.Username)
		}
		if _, dup := s.users[u.Subject]; dup {
			return nil, fmt.Errorf("user %q: duplicate subject %q", u.Username, u.Subject)
		}
		if _, dup := s.subjects[u.Username]; dup {
			return nil, fmt.Errorf("duplicate username %q", u.Username)
		}
		u.Groups = slices.Clone(u.Groups)
		s.users[u.Subject] = &u
		s.subjects[u.Username] = u.Subject
	}
	for _, c := range clients {
		if c.ID == "" || c.Secret == "" || len(c.RedirectURIs) == 0 {
			return nil, fmt.Errorf("client %q: id, secret and a redirect URI are required", c.ID)
		}
		if _, dup := s.clients[c.ID]; dup {
			return nil, fmt.Errorf("duplicate client %q", c.ID)
		}
		c.RedirectURIs = slices.Clone(c.RedirectURIs)
		c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
		s.clients[c.ID] = &client{def: c, loginURL: loginURL}
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	s.key = &signingKey{id: rand.Text(), key: rsaKey}
	return s, nil
}

// setClock replaces the clock; used by tests.
func (s *storage) setClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// sweep drops expired auth requests, codes and tokens. Callers hold s.mu.
func (s *storage) sweep(now time.Time) {
	for id, a := range s.requests {
		if now.After(a.createdAt.Add(authRequestTTL)) {
			delete(s.codes, a.code)
			delete(s.requests, id)
		}
	}
	for id, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, id)
		}
	}
}

// liveRequest returns the auth request id if it has not expired. Callers hold s.mu.
func (s *storage) liveRequest(id string, now time.Time) (*authRequest, bool) {
	a, ok := s.requests[id]
	if !ok || now.After(a.createdAt.Add(authRequestTTL)) {
		return nil, false
	}
	return a, true
}

// CreateAuthRequest stores a validated /authorize request. PKCE, when used, must be
// S256; prompt=none always fails because this provider keeps no login session.
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired().WithDescription("the dev identity provider keeps no login session")
	}
	var challenge *oidc.CodeChallenge
	if req.CodeChallenge != "" {
		if req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
			return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
		}
		challenge = &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now)
	a := &authRequest{
		id:            rand.Text(),
		clientID:      req.ClientID,
		redirectURI:   req.RedirectURI,
		state:         req.State,
		nonce:         req.Nonce,
		scopes:        slices.Clone(req.Scopes),
		responseType:  req.ResponseType,
		responseMode:  req.ResponseMode,
		codeChallenge: challenge,
		createdAt:     now,
	}
	s.requests[a.id] = a
	return a.snapshot(), nil
}

// AuthRequestByID returns a live auth request (op calls it on /authorize/callback).
func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.liveRequest(id, s.now())
	if !ok {
		return nil, errNotFound
	}
	return a.snapshot(), nil
}

// AuthRequestByCode redeems a code: it is forgotten at once, so a second use fails
// even if this exchange fails later (wrong secret, wrong PKCE verifier).
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.codes[code]
	if !ok {
		return nil, errNotFound
	}
	delete(s.codes, code)
	now := s.now()
	a, ok := s.liveRequest(id, now)
	if !ok || !a.done || a.code != code || now.After(a.codeIssuedAt.Add(codeTTL)) {
		return nil, errNotFound
	}
	a.code = ""
	return a.snapshot(), nil
}

// SaveAuthCode records the code op issued for a completed login.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.liveRequest(id, s.now())
	if !ok || !a.done || !a.codeIssuedAt.IsZero() {
		return errNotFound // a login yields at most one code, ever
	}
	a.code, a.codeIssuedAt = code, s.now()
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest forgets an auth request and its code (op calls it after issuing tokens).
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.requests[id]; ok {
		delete(s.codes, a.code)
		delete(s.requests, id)
	}
	return nil
}

// completeLogin marks a live, not yet completed auth request as done by subject.
func (s *storage) completeLogin(id, subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	a, ok := s.liveRequest(id, now)
	if !ok || a.done {
		return errNotFound
	}
	a.subject, a.authTime, a.done = subject, now, true
	return nil
}

// CreateAccessToken issues an opaque access token for the auth request's subject.
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	clientID := ""
	if a, ok := req.(*authRequest); ok {
		clientID = a.clientID
	} else if aud := req.GetAudience(); len(aud) > 0 {
		clientID = aud[0]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &accessToken{
		id:       rand.Text(),
		subject:  req.GetSubject(),
		clientID: clientID,
		scopes:   slices.Clone(req.GetScopes()),
		expires:  s.now().Add(tokenTTL),
	}
	s.tokens[t.id] = t
	return t.id, t.expires, nil
}

// liveToken returns token id if it is unexpired and belongs to subject. Callers hold s.mu.
func (s *storage) liveToken(id, subject string) (*accessToken, bool) {
	t, ok := s.tokens[id]
	if !ok || t.subject != subject || s.now().After(t.expires) {
		return nil, false
	}
	return t, true
}

// CreateAccessAndRefreshTokens is refused: no client is registered for refresh tokens.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errUnsupported
}

// TokenRequestByRefreshToken is refused: this provider issues no refresh tokens.
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

// GetRefreshTokenInfo says no token is a refresh token.
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// TerminateSession (RP-initiated logout) revokes the user's tokens for the client.
func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.tokens {
		if t.subject == userID && (clientID == "" || t.clientID == clientID) {
			delete(s.tokens, id)
		}
	}
	return nil
}

// RevokeToken revokes an access token the client owns; unknown tokens are not an error.
func (s *storage) RevokeToken(_ context.Context, tokenID, userID, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[tokenID]; ok && t.subject == userID && t.clientID == clientID {
		delete(s.tokens, tokenID)
	}
	return nil
}

// SigningKey returns the key generated at New.
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.key, nil }

// SignatureAlgorithms lists RS256, the only algorithm used.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet returns the public half of the signing key for the JWKS endpoint.
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.key}}, nil
}

// Health always succeeds: everything is in memory.
func (s *storage) Health(context.Context) error { return nil }
