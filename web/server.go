// Package web is Gatehouse's HTTP shell: the router, middleware (request
// ids, access log, panic recovery, CSRF, security headers, login), the
// login/logout flow and the browser cookie. Resource pages live in handlers.
package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/sessions"

	"gatehouse/api"
	"gatehouse/handlers"
	"gatehouse/live"
	"gatehouse/metrics"
	"gatehouse/models"
	"gatehouse/oidcauth"
)

// Config is the web layer's configuration.
type Config struct {
	// ExternalURL is the address people use to reach Gatehouse; https makes
	// the cookie Secure.
	ExternalURL *url.URL
	// CookieHashKey (32 or 64 bytes) signs and CookieBlockKey (32 bytes)
	// encrypts the browser cookie.
	CookieHashKey, CookieBlockKey []byte
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Dev marks `gatehouse dev` (a banner on every page).
	Dev bool
	// AccessHelp tells people without access how to get it: a sentence or
	// an http(s) link, shown on Home and My targets (empty: "Ask an
	// administrator").
	AccessHelp string
	// Metrics records request latencies and serves /metrics (optional),
	// unless MetricsElsewhere (its own listener serves them); MetricsToken,
	// when set, is the bearer token /metrics requires.
	Metrics          *metrics.Registry
	MetricsElsewhere bool
	MetricsToken     string
	// Mounts are extra handlers served under a path prefix (for example
	// the dev OpenID provider), outside the login requirement.
	Mounts map[string]http.Handler
	// Live feeds the live session views (nil: a private broker nobody
	// publishes to, so pages still render and fall back to polling).
	Live *live.Broker
	// Now is the clock of OIDC login attempts and token checks (default
	// time.Now); tests inject their own.
	Now func() time.Time
	// OIDCHTTPClient talks to OIDC providers (default: 15 s timeout).
	OIDCHTTPClient *http.Client
	// MaxBodyBytes caps request bodies (default DefaultMaxBodyBytes) and
	// BodyTimeout bounds receiving one (default DefaultBodyTimeout).
	MaxBodyBytes int64
	BodyTimeout  time.Duration
	// StreamHeartbeat is how often a live view stream is pinged and its
	// login checked again (default handlers.DefaultStreamHeartbeat).
	StreamHeartbeat time.Duration
	// Listening, when set, reports whether this instance hears the other
	// instances' notifications yet (its LISTEN connection subscribed):
	// until then /readyz answers 503, so a load balancer sends it nobody
	// whose logout or cancel on another instance it would miss.
	Listening func() bool
}

// Store is everything the web layer needs from the domain.
type Store interface {
	handlers.ScopeStore
	handlers.UserStore
	handlers.AuditStore
	handlers.SessionStore
	handlers.GroupStore
	handlers.RoleStore
	handlers.ExplainStore
	handlers.HostCatalogStore
	handlers.HostStore
	handlers.HostSetStore
	handlers.TargetStore
	handlers.CredentialStoreStore
	handlers.CredentialItemStore
	handlers.CredentialLibraryStore
	handlers.MyTargetStore
	handlers.HomeStore
	handlers.AdminTargetStore

	handlers.AccessStore
	Ping(ctx context.Context) error
	PublicAuthMethods(ctx context.Context) ([]models.LoginOption, error)
	AuthenticatePassword(ctx context.Context, in models.PasswordLogin) (*models.NewLoginResult, error)
	LoginByToken(ctx context.Context, token string) (models.Actor, *models.Login, error)
	Logout(ctx context.Context, token string) error
	// LoginLifetime is a login's absolute lifetime (the cookie's MaxAge).
	LoginLifetime() time.Duration
	handlers.AuthMethodStore
	handlers.ManagedGroupStore
	handlers.ChangeLogStore
	handlers.WebhookStore
	OIDCConfigForLogin(ctx context.Context, id string) (*models.OIDCLoginConfig, error)
	OIDCLogin(ctx context.Context, id models.OIDCIdentity) (*models.NewLoginResult, error)
	api.Store
	handlers.APITokenStore
	handlers.CLILoginStore
}

// Server is the Gatehouse web application.
type Server struct {
	cfg     Config
	store   Store
	logger  *slog.Logger
	cookies *sessions.CookieStore
	errs    handlers.Errors
	router  http.Handler
	oidc    *oidcauth.RelyingParty
	bin     binary
}

// NewServer wires the router with every dependency it needs.
func NewServer(cfg Config, store Store, logger *slog.Logger) (*Server, error) {
	if cfg.ExternalURL == nil {
		return nil, fmt.Errorf("web: external URL is required")
	}
	if l := len(cfg.CookieHashKey); l != 32 && l != 64 {
		return nil, fmt.Errorf("web: cookie hash key must be 32 or 64 bytes, got %d", l)
	}
	if len(cfg.CookieBlockKey) != 32 {
		return nil, fmt.Errorf("web: cookie block key must be 32 bytes, got %d", len(cfg.CookieBlockKey))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Live == nil {
		cfg.Live = live.New()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	s := &Server{cfg: cfg, store: store, logger: logger}
	s.oidc = oidcauth.NewRelyingParty(cfg.OIDCHTTPClient, cfg.Now)
	s.cookies = newCookieStore(cfg, store.LoginLifetime())
	base := handlers.Base{Logger: logger, Dev: cfg.Dev, AccessHelp: cfg.AccessHelp}
	s.errs = handlers.Errors{Base: base}
	s.router = s.routes(base)
	return s, nil
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// externalAddr is the external URL without a trailing slash (what
// `gatehouse connect --addr` takes), or "" when none is configured.
func (s *Server) externalAddr() string {
	if s.cfg.ExternalURL == nil {
		return ""
	}
	return strings.TrimSuffix(s.cfg.ExternalURL.String(), "/")
}

// classify is handlers.ProblemOf for the API: one classification of domain
// errors for pages and problem+json.
func classify(err error) (int, string, string, map[string]string) {
	p := handlers.ProblemOf(err)
	return p.Status, p.Title, p.Message, p.Fields
}
