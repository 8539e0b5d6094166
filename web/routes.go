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
	for prefix, handler := range s.cfg.Mounts {
		r.Mount(prefix, handler)
	}

	// Logged in.
	home := handlers.Home{Base: base}
	scopes := handlers.Scopes{Base: base, Store: s.store}
	users := handlers.Users{Base: base, Store: s.store}
	audit := handlers.Audit{Base: base, Store: s.store}
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

		r.Get("/audit/sessions", h(audit.History))
		r.Get("/audit/sessions.csv", h(audit.ExportCSV))
		r.Get("/audit/sessions.jsonl", h(audit.ExportJSONL))
		r.Get("/audit/sessions/charts", h(audit.Charts))
		r.Get("/audit/sessions/{id}", h(audit.Show))
	})
	return r
}
