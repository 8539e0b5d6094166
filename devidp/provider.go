// Package devidp is the built-in development OpenID provider that `gatehouse dev` runs.
//
// It is built on zitadel/oidc's op package with an in-memory storage, seeded people,
// registered confidential clients and a signing key generated at start-up. It speaks
// plain http on loopback addresses and must never be reachable from `gatehouse serve`.
//
// Claims: "sub" and "groups" (a JSON array, empty when the person has no groups) are in
// every ID token and userinfo response; "name" and "preferred_username" are added with
// the "profile" scope, "email" and "email_verified" with the "email" scope, in both the
// ID token and userinfo. The "groups" scope may be requested but is not needed.
package devidp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Lifetimes of the provider's short-lived state.
const (
	authRequestTTL = 10 * time.Minute // a login attempt, from /authorize to code exchange
	codeTTL        = 2 * time.Minute  // an authorization code, from issue to exchange
	tokenTTL       = 5 * time.Minute  // access tokens and ID tokens
)

// Paths served next to the op endpoints, relative to the issuer.
const (
	loginPath     = "/login"
	loggedOutPath = "/logged-out"
)

// User is a seeded person.
// Subject and Username must be unique and non-empty; Groups may be empty.
type User struct {
	Subject, Username, Password, Name, Email string
	Groups                                   []string
}

// Client is a registered relying party (confidential, client_secret_basic and
// client_secret_post both OK). ID, Secret and at least one RedirectURI are required;
// redirect URIs are compared exactly.
type Client struct {
	ID, Secret             string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
}

// Provider is a running dev OpenID provider. It is safe for concurrent use; all its
// state lives in memory and is lost when the process ends.
type Provider struct {
	issuer  string
	prefix  string // issuer path without a trailing slash, "" for a bare host
	logger  *slog.Logger
	store   *storage
	op      *op.Provider
	login   http.Handler
	handler http.Handler
}

// New builds a provider whose issuer is exactly `issuer` (e.g.
// "http://127.0.0.1:9200/dev-idp"; it may have a path, but no query or fragment).
// Plain http issuers are allowed. It generates a fresh RSA signing key, so tokens
// from an earlier Provider do not verify. users and clients are copied; a nil logger
// discards logs. New returns an error for an invalid issuer, duplicate or empty user
// subjects/usernames, or clients without id, secret or redirect URI.
func New(issuer string, users []User, clients []Client, logger *slog.Logger) (*Provider, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("new dev idp: invalid issuer %q", issuer)
	}
	p := &Provider{
		issuer: issuer,
		prefix: strings.TrimSuffix(u.Path, "/"),
		logger: logger,
	}
	base := strings.TrimSuffix(issuer, "/") // an issuer may end in "/"; paths below it do not double it
	p.store, err = newStorage(base+loginPath, users, clients, time.Now)
	if err != nil {
		return nil, fmt.Errorf("new dev idp: %w", err)
	}

	config := &op.Config{
		CryptoKeyId:              "devidp",
		DefaultLogoutRedirectURI: base + loggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		SupportedScopes: []string{
			oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, groupsScope,
		},
		SupportedClaims: append(slices.Clone(op.DefaultSupportedClaims), groupsClaim),
	}
	if _, err := rand.Read(config.CryptoKey[:]); err != nil {
		return nil, fmt.Errorf("new dev idp: crypto key: %w", err)
	}
	var opts []op.Option
	if u.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	p.op, err = op.NewProvider(config, p.store, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("new dev idp: %w", err)
	}
	p.login = http.NewCrossOriginProtection().Handler(http.HandlerFunc(p.serveLogin))
	p.handler = http.HandlerFunc(p.route)

	logger.Info("dev identity provider ready", "issuer", issuer,
		"users", len(users), "clients", len(clients))
	return p, nil
}

// Handler serves the whole provider: discovery at /.well-known/openid-configuration,
// /authorize (and its /authorize/callback), /login (the HTML login form),
// /oauth/token, /userinfo, /keys (JWKS), /end_session, /revoke, /oauth/introspect,
// /logged-out, /healthz and /ready, all below the issuer's path.
//
// Handler expects requests with the FULL path, including the issuer's path prefix
// (for the issuer http://host/dev-idp it serves /dev-idp/authorize), so mount it
// without stripping: chi's router.Mount("/dev-idp", h), or
// http.ServeMux.Handle("/dev-idp/", h). Paths outside the prefix get 404.
// A chi routing context from the caller's router is ignored.
func (p *Provider) Handler() http.Handler {
	return p.handler
}

// route strips the issuer's path prefix and dispatches to the login form or to op.
func (p *Provider) route(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, p.prefix)
	if !ok || (rest != "" && rest[0] != '/') {
		http.NotFound(w, r)
		return
	}
	switch rest {
	case loginPath:
		p.login.ServeHTTP(w, r)
		return
	case loggedOutPath:
		p.serveLoggedOut(w, r)
		return
	}
	// op routes with its own chi router: hide the caller's chi routing context (else
	// op would route by the caller's RoutePath) and hand it the path below the issuer.
	ctx := context.WithValue(r.Context(), chi.RouteCtxKey, (*chi.Context)(nil))
	r2 := r.WithContext(ctx)
	u := *r.URL
	u.Path, u.RawPath = rest, ""
	if u.Path == "" {
		u.Path = "/"
	}
	r2.URL = &u
	p.op.ServeHTTP(w, r2)
}

// SetGroups replaces a user's groups (used by tests to change claims between logins).
// Tokens already issued keep their claims in the ID token; userinfo answers with the
// new groups at once. It returns an error when no user has that username.
func (p *Provider) SetGroups(username string, groups []string) error {
	if err := p.store.setGroups(username, groups); err != nil {
		return fmt.Errorf("set groups of %q: %w", username, err)
	}
	p.logger.Info("dev idp groups changed", "username", username, "groups", groups)
	return nil
}

// DefaultUsers returns the seeded dev people: alice (groups: sre), bob (no groups),
// admin (groups: admins), each with password "password", emails alice@example.com
// etc, and stable subjects ("dev-alice", "dev-bob", "dev-admin"). Each call returns
// fresh slices the caller may change.
func DefaultUsers() []User {
	return []User{
		{Subject: "dev-alice", Username: "alice", Password: "password",
			Name: "Alice Example", Email: "alice@example.com", Groups: []string{"sre"}},
		{Subject: "dev-bob", Username: "bob", Password: "password",
			Name: "Bob Example", Email: "bob@example.com", Groups: []string{}},
		{Subject: "dev-admin", Username: "admin", Password: "password",
			Name: "Admin Example", Email: "admin@example.com", Groups: []string{"admins"}},
	}
}

// errUnknownUser is returned by storage lookups for a username or subject nobody has.
var errUnknownUser = errors.New("unknown user")
