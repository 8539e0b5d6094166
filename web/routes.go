package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"gatehouse/handlers"
	"gatehouse/static"
)

// routes lists every URL Gatehouse serves.
func (s *Server) routes(base handlers.Base) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, s.accessLog, s.recoverer, securityHeaders, s.csrf, s.authenticate)
	r.NotFound(s.errs.NotFound)
	r.MethodNotAllowed(s.errs.MethodNotAllowed)
	h := s.errs.Wrap

	// Anonymous.
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Handle("/static/*", static.Handler())
	r.Get("/login", h(s.loginPage))
	r.Post("/login", h(s.login))
	r.Post("/logout", h(s.logout))
	r.Get("/auth/oidc/{id}/start", h(s.oidcStart))
	r.Get(OIDCCallbackPath, h(s.oidcCallback))
	for prefix, handler := range s.cfg.Mounts {
		r.Mount(prefix, handler)
	}

	// Logged in.
	home := handlers.Home{Base: base}
	scopes := handlers.Scopes{Base: base, Store: s.store}
	users := handlers.Users{Base: base, Store: s.store}
	authMethods := handlers.AuthMethods{Base: base, Store: s.store, CallbackURL: s.callbackURL()}
	managedGroups := handlers.ManagedGroups{Base: base, Store: s.store}
	r.Group(func(r chi.Router) {
		r.Use(s.requireLogin)
		r.Get("/", h(home.Show))
		r.Get("/account", h(users.Account))

		r.Get("/scopes", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/scopes/global", http.StatusSeeOther)
		})
		r.Get("/scopes/{id}", h(scopes.Show))
		r.Get("/scopes/{id}/new", h(scopes.New))
		r.Post("/scopes/{id}/new", h(scopes.Create))
		r.Get("/scopes/{id}/edit", h(scopes.Edit))
		r.Post("/scopes/{id}/edit", h(scopes.Update))
		r.Get("/scopes/{id}/delete", h(scopes.ConfirmDelete))
		r.Post("/scopes/{id}/delete", h(scopes.Delete))

		r.Get("/users", h(users.List))
		r.Get("/users/new", h(users.New))
		r.Post("/users/new", h(users.Create))
		r.Get("/users/{id}", h(users.Show))
		r.Get("/users/{id}/edit", h(users.Edit))
		r.Post("/users/{id}/edit", h(users.Update))
		r.Get("/users/{id}/delete", h(users.ConfirmDelete))
		r.Post("/users/{id}/delete", h(users.Delete))
		r.Post("/users/{id}/accounts/{account}/delete", h(users.DeleteAccount))

		r.Get("/auth-methods", h(authMethods.List))
		r.Get("/auth-methods/new", h(authMethods.New))
		r.Post("/auth-methods/new", h(authMethods.Create))
		r.Get("/auth-methods/{id}", h(authMethods.Show))
		r.Get("/auth-methods/{id}/edit", h(authMethods.Edit))
		r.Post("/auth-methods/{id}/edit", h(authMethods.Update))
		r.Post("/auth-methods/{id}/state", h(authMethods.ChangeState))
		r.Get("/auth-methods/{id}/delete", h(authMethods.ConfirmDelete))
		r.Post("/auth-methods/{id}/delete", h(authMethods.Delete))
		r.Get("/auth-methods/{id}/managed-groups/new", h(managedGroups.New))
		r.Post("/auth-methods/{id}/managed-groups/new", h(managedGroups.Create))
		r.Get("/managed-groups/{id}", h(managedGroups.Show))
		r.Get("/managed-groups/{id}/edit", h(managedGroups.Edit))
		r.Post("/managed-groups/{id}/edit", h(managedGroups.Update))
		r.Get("/managed-groups/{id}/delete", h(managedGroups.ConfirmDelete))
		r.Post("/managed-groups/{id}/delete", h(managedGroups.Delete))
	})
	return r
}
