package oidcauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// CallbackPath is the one redirect URI path of every OIDC auth method,
// below the external URL. The web shell routes it; the dev provider registers
// it as its client's redirect URI.
const CallbackPath = "/auth/oidc/callback"

// Settings are an OIDC auth method's settings as the flow needs them.
type Settings struct {
	Issuer            string
	ClientID          string
	ClientSecret      string
	ClaimsScopes      []string
	AllowedAudiences  []string
	SigningAlgorithms []string
	MaxAge            int // -1: none
	Prompts           []string
}

// Attempt is what the browser's encrypted cookie keeps between the start of
// a login and the callback.
type Attempt struct {
	State, Nonce, Verifier string
}

// Identity is a verified login: the ID token's issuer and subject, its
// claims, the userinfo claims (same subject) and the raw ID token.
type Identity struct {
	Issuer         string
	Subject        string
	TokenClaims    map[string]any
	UserinfoClaims map[string]any
	RawIDToken     string
}

// Refusal is a failed login step explained for the person; Err is the cause
// for the log.
type Refusal struct {
	Reason string
	Err    error
}

func (e *Refusal) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *Refusal) Unwrap() error { return e.Err }

// ErrUnreachable marks a Refusal caused by a provider that did not answer.
var ErrUnreachable = errors.New("identity provider unreachable")

// providerTTL is how long a discovered provider is reused before its
// discovery document is fetched again (its keys refresh on their own).
const providerTTL = time.Hour

// RelyingParty runs the Authorization Code flow with PKCE against any
// number of providers. It is safe for concurrent use.
type RelyingParty struct {
	client *http.Client
	now    func() time.Time

	mu        sync.Mutex
	providers map[string]*cachedProvider
}

type cachedProvider struct {
	p          *oidc.Provider
	endSession string
	fetched    time.Time
}

// NewRelyingParty uses client for every call to providers (nil: a client
// with a 15 s timeout) and now as the clock for token checks (nil: time.Now).
func NewRelyingParty(client *http.Client, now func() time.Time) *RelyingParty {
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &RelyingParty{client: client, now: now, providers: map[string]*cachedProvider{}}
}

// provider returns the cached go-oidc provider of issuer, discovering it when
// absent or stale. Failures are not cached.
func (rp *RelyingParty) provider(ctx context.Context, issuer string) (*cachedProvider, error) {
	rp.mu.Lock()
	c, ok := rp.providers[issuer]
	rp.mu.Unlock()
	if ok && time.Since(c.fetched) < providerTTL {
		return c, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, rp.client), issuer)
	if err != nil {
		return nil, &Refusal{Reason: "The identity provider could not be reached; try again later", Err: errors.Join(ErrUnreachable, err)}
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = p.Claims(&extra)
	c = &cachedProvider{p: p, endSession: extra.EndSession, fetched: time.Now()}
	rp.mu.Lock()
	rp.providers[issuer] = c
	rp.mu.Unlock()
	return c, nil
}

func (rp *RelyingParty) oauth2Config(p *oidc.Provider, set Settings, redirectURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: set.ClientID, ClientSecret: set.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: redirectURL, Scopes: append([]string{oidc.ScopeOpenID}, set.ClaimsScopes...)}
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Begin starts a login: it returns the provider's authorization URL (code
// flow, PKCE S256, state, nonce, max_age and prompt when set) and the
// attempt to keep in the browser's cookie.
func (rp *RelyingParty) Begin(ctx context.Context, set Settings, redirectURL string) (string, Attempt, error) {
	c, err := rp.provider(ctx, set.Issuer)
	if err != nil {
		return "", Attempt{}, err
	}
	at := Attempt{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier()}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(at.Verifier), oidc.Nonce(at.Nonce)}
	if set.MaxAge >= 0 {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.Itoa(set.MaxAge)))
	}
	if len(set.Prompts) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", strings.Join(set.Prompts, " ")))
	}
	return rp.oauth2Config(c.p, set, redirectURL).AuthCodeURL(at.State, opts...), at, nil
}

// Finish exchanges the code (with the PKCE verifier), verifies the ID token
// (signature with an allowed algorithm, issuer, audience including the
// allowed audiences, expiry, nonce, max age, access-token hash) and reads
// userinfo, whose subject must be the ID token's. Failures are *Refusal.
func (rp *RelyingParty) Finish(ctx context.Context, set Settings, redirectURL, code string, at Attempt) (*Identity, error) {
	c, err := rp.provider(ctx, set.Issuer)
	if err != nil {
		return nil, err
	}
	ctx = oidc.ClientContext(ctx, rp.client)
	tok, err := rp.oauth2Config(c.p, set, redirectURL).Exchange(ctx, code, oauth2.VerifierOption(at.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, &Refusal{Reason: "The identity provider refused the authorization code (it was already used, has expired, or was not issued to this attempt)", Err: err}
		}
		return nil, &Refusal{Reason: "The identity provider could not be reached to finish the login", Err: errors.Join(ErrUnreachable, err)}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, &Refusal{Reason: "The identity provider sent no ID token"}
	}
	if alg := jwtAlg(raw); !slices.Contains(set.SigningAlgorithms, alg) {
		return nil, &Refusal{Reason: fmt.Sprintf("The ID token is signed with %s, which this login method does not allow (allowed: %s)", alg, strings.Join(set.SigningAlgorithms, ", "))}
	}
	v := c.p.Verifier(&oidc.Config{ClientID: set.ClientID, SupportedSigningAlgs: set.SigningAlgorithms, Now: rp.now})
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, &Refusal{Reason: verifyReason(err), Err: err}
	}
	if len(set.AllowedAudiences) > 0 && !slices.ContainsFunc(idt.Audience, func(a string) bool { return slices.Contains(set.AllowedAudiences, a) }) {
		return nil, &Refusal{Reason: "The ID token was issued for another audience than this login method allows"}
	}
	var std struct {
		AZP      string `json:"azp"`
		AuthTime int64  `json:"auth_time"`
	}
	if err := idt.Claims(&std); err != nil {
		return nil, &Refusal{Reason: "The ID token's claims could not be read", Err: err}
	}
	if len(idt.Audience) > 1 && std.AZP != "" && std.AZP != set.ClientID {
		return nil, &Refusal{Reason: "The ID token was issued for another audience (authorized party)"}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(at.Nonce)) != 1 {
		return nil, &Refusal{Reason: "The ID token does not belong to this login attempt (wrong nonce)"}
	}
	if set.MaxAge >= 0 && (std.AuthTime == 0 || rp.now().After(time.Unix(std.AuthTime, 0).Add(time.Duration(set.MaxAge)*time.Second+time.Minute))) {
		return nil, &Refusal{Reason: "The identity provider's authentication is older than this login method's max age"}
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, &Refusal{Reason: "The access token does not match the ID token", Err: err}
		}
	}
	out := &Identity{Issuer: idt.Issuer, Subject: idt.Subject, RawIDToken: raw, TokenClaims: map[string]any{}, UserinfoClaims: map[string]any{}}
	if err := idt.Claims(&out.TokenClaims); err != nil {
		return nil, &Refusal{Reason: "The ID token's claims could not be read", Err: err}
	}
	ui, err := c.p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, &Refusal{Reason: "The identity provider's userinfo endpoint failed", Err: err}
	}
	if ui.Subject != idt.Subject {
		return nil, &Refusal{Reason: "The userinfo answer is about another person than the ID token (subject mismatch)"}
	}
	if err := ui.Claims(&out.UserinfoClaims); err != nil {
		return nil, &Refusal{Reason: "The userinfo claims could not be read", Err: err}
	}
	return out, nil
}

func verifyReason(err error) string {
	var exp *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &exp):
		return "The ID token has expired"
	case strings.Contains(msg, "expected audience"):
		return "The ID token was issued for another audience (client) than this login method"
	case strings.Contains(msg, "issued by a different provider"):
		return "The ID token was issued by another provider than this login method's issuer"
	case strings.Contains(msg, "signature"):
		return "The ID token's signature does not verify"
	}
	return "The ID token could not be verified"
}

// jwtAlg returns the "alg" of a compact JWT's header, or "".
func jwtAlg(raw string) string {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	_ = json.Unmarshal(b, &h)
	return h.Alg
}

// EndSessionURL returns the provider's end-session URL for a logout (with
// id_token_hint when given, client_id and post_logout_redirect_uri), or ""
// when the provider advertises none or cannot be reached.
func (rp *RelyingParty) EndSessionURL(ctx context.Context, set Settings, idTokenHint, postLogoutRedirect string) string {
	c, err := rp.provider(ctx, set.Issuer)
	if err != nil || c.endSession == "" {
		return ""
	}
	u, err := url.Parse(c.endSession)
	if err != nil {
		return ""
	}
	q := u.Query()
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	q.Set("client_id", set.ClientID)
	q.Set("post_logout_redirect_uri", postLogoutRedirect)
	u.RawQuery = q.Encode()
	return u.String()
}
