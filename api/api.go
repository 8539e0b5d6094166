// Package api serves Gatehouse's JSON API under /api/v1, described by the
// OpenAPI 3.1 document openapi.yaml (served at /api/v1/openapi.json). Its
// handlers call the same Store use cases as the pages (handlers package):
// authorization and domain rules live in models only. Callers authenticate
// with a bearer token (a personal API token or a CLI login's token);
// cookies never authenticate here. Errors are application/problem+json
// (RFC 9457, problem.go).
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// Config is what the API needs besides its Store.
type Config struct {
	// ExternalURL is Gatehouse's address without a trailing slash (for
	// "Why can't I?" links and the connect hint).
	ExternalURL string
	// ClientIP is the caller's address (trusted proxies applied).
	ClientIP func(r *http.Request) string
	Logger   *slog.Logger
	// Classify is the shared classification of domain errors (required).
	Classify Classifier
}

type ctxKey int

const actorKey ctxKey = iota

func actorFrom(ctx context.Context) models.Actor {
	a, _ := ctx.Value(actorKey).(models.Actor)
	return a
}

// Server is the /api/v1 handler.
type Server struct {
	cfg    Config
	store  Store
	router chi.Router
}

// New returns the API handler; mount it at Prefix (it routes on the
// full path).
func New(cfg Config, store Store) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = func(r *http.Request) string { return r.RemoteAddr }
	}
	s := &Server{cfg: cfg, store: store}
	s.router = s.routes()
	return s
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// handlerFunc is an http.HandlerFunc returning its error to the problem
// adapter.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) wrap(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			s.problem(w, r, err)
		}
	}
}

// authenticate resolves the bearer token; without one the caller is
// anonymous. The web layer's cookie actor is never looked at.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		ctx := context.WithValue(r.Context(), actorKey, models.Anonymous)
		h := r.Header.Get("Authorization")
		if h != "" {
			scheme, token, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
				s.problem(w, r, errBadAuthorization)
				return
			}
			a, _, err := s.store.ActorByAPIToken(r.Context(), strings.TrimSpace(token))
			if err != nil {
				s.problem(w, r, err)
				return
			}
			ctx = context.WithValue(ctx, actorKey, a)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requireToken refuses anonymous callers (401 with what to do).
func requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !actorFrom(r.Context()).Authenticated() {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
			writeProblem(w, r, errNotLoggedIn.problem())
			return
		}
		next.ServeHTTP(w, r)
	})
}

// routes lists every /api/v1 URL; admin resources are registered by
// resources.go through one generic pattern.
func (s *Server) routes() chi.Router {
	r := chi.NewRouter()
	r.NotFound(s.wrap(func(http.ResponseWriter, *http.Request) error { return errNoSuchEndpoint }))
	r.MethodNotAllowed(s.wrap(func(http.ResponseWriter, *http.Request) error { return errMethod }))
	r.Route(Prefix, func(r chi.Router) {
		r.Use(s.authenticate)
		r.Get("/openapi.json", serveDocument)
		r.Get("/auth-methods/public", s.wrap(s.publicAuthMethods))
		r.Post("/auth/password", s.wrap(s.passwordToken))
		r.Post("/auth/cli-token", s.wrap(s.cliToken))
		r.Group(func(r chi.Router) {
			r.Use(requireToken)
			r.Delete("/auth/token", s.wrap(s.logout))
			r.Get("/me", s.wrap(s.me))
			r.Get("/me/tokens", s.wrap(s.listTokens))
			r.Delete("/me/tokens/{id}", s.wrap(s.revokeToken))
			r.Get("/my-targets", s.wrap(s.myTargets))
			r.Get("/my-targets/{id}", s.wrap(s.myTarget))
			r.Post("/targets/{id}/authorize-session", s.wrap(s.authorizeSession))
			r.Get("/sessions", s.wrap(s.listSessions))
			r.Get("/sessions/{id}", s.wrap(s.getSession))
			r.Post("/sessions/{id}/cancel", s.wrap(s.cancelSession))
			r.Post("/sessions/{id}/ssh-key", s.wrap(s.signSSHKey))
			r.Post("/sessions/{id}/revocations/{credential}/retry", s.wrap(s.retryRevocation))
			r.Get("/history", s.wrap(s.history))
			r.Get("/history/export", s.wrap(s.exportHistory))
			s.adminRoutes(r)
		})
	})
	return r
}
