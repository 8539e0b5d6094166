package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"gatehouse/api"
	"gatehouse/handlers"
	"gatehouse/static"
)

// routes lists every URL Gatehouse serves.
func (s *Server) routes(base handlers.Base) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, s.accessLog, s.recoverer, s.compressText, securityHeaders, s.limitBodies, s.csrf, s.requestInfo, s.authenticate)
	r.NotFound(s.errs.NotFound)
	r.MethodNotAllowed(s.errs.MethodNotAllowed)
	h := s.errs.Wrap

	// Anonymous.
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	if s.cfg.Metrics != nil && !s.cfg.MetricsElsewhere {
		r.Handle("/metrics", s.cfg.Metrics.Handler(s.cfg.MetricsToken))
	}
	r.Handle("/static/*", static.Handler())
	// Browsers ask for /favicon.ico on pages without an icon link (the dev
	// provider's login form): the SVG icon, never a 404 in the console.
	r.Get("/favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, static.Path("favicon.svg"), http.StatusMovedPermanently)
	})
	r.Get("/login", h(s.loginPage))
	r.Post("/login", h(s.login))
	r.Post("/logout", h(s.logout))
	r.Get("/auth/oidc/{id}/start", h(s.oidcStart))
	r.Get(OIDCCallbackPath, h(s.oidcCallback))
	r.Get("/download/gatehouse", h(s.downloadBinary))
	r.Get("/download/gatehouse.sha256", h(s.downloadChecksum))
	// The JSON API authenticates with bearer tokens only (package api).
	r.Handle(api.Prefix+"/*", api.New(api.Config{ExternalURL: s.externalAddr(), ClientIP: s.clientIP, Logger: s.logger, Classify: classify}, s.store))

	// Credential libraries (issue 12): an SSH library's CA key and KRL are
	// public, fetched by sshd hosts.
	libs := handlers.CredentialLibraries{Base: base, Store: s.store, ExternalURL: s.externalAddr(),
		Targets: handlers.Targets{Base: base, Store: s.store}}
	r.Get("/credential-libraries/{id}/ca.pub", h(libs.CAPublicKey))
	r.Get("/credential-libraries/{id}/krl", h(libs.KRL))
	for prefix, handler := range s.cfg.Mounts {
		r.Mount(prefix, handler)
	}

	// Logged in.
	home := handlers.Home{Base: base, Store: s.store}
	scopes := handlers.Scopes{Base: base, Store: s.store}
	users := handlers.Users{Base: base, Store: s.store}
	audit := handlers.Audit{Base: base, Store: s.store}

	groups := handlers.Groups{Base: base, Store: s.store}
	roles := handlers.Roles{Base: base, Store: s.store}
	explain := handlers.Explain{Base: base, Store: s.store}
	catalogs := handlers.HostCatalogs{Base: base, Store: s.store}
	hosts := handlers.Hosts{Base: base, Store: s.store}
	hostSets := handlers.HostSets{Base: base, Store: s.store}
	targets := handlers.Targets{Base: base, Store: s.store}
	credStores := handlers.CredentialStores{Base: base, Store: s.store}
	creds := handlers.Credentials{Base: base, Store: s.store}
	myTargets := handlers.MyTargets{Base: base, Store: s.store}
	sessions := handlers.Sessions{Base: base, Store: s.store, Live: s.cfg.Live, ClientIP: s.clientIP, ExternalURL: s.externalAddr(), Heartbeat: s.cfg.StreamHeartbeat}
	authMethods := handlers.AuthMethods{Base: base, Store: s.store, CallbackURL: s.callbackURL()}
	managedGroups := handlers.ManagedGroups{Base: base, Store: s.store}
	adminTargets := handlers.AdminTargets{Base: base, Store: s.store}
	changeLog := handlers.ChangeLog{Base: base, Store: s.store}
	webhooks := handlers.Webhooks{Base: base, Store: s.store}
	tokens := handlers.APITokens{Base: base, Store: s.store, Users: s.store, Now: s.now}
	cliLogin := handlers.CLILogin{Base: base, Store: s.store, Lifetime: s.store.LoginLifetime()}
	r.Group(func(r chi.Router) {
		r.Use(s.requireLogin)
		r.Get("/", h(home.Show))
		r.Get("/account", h(tokens.Account))
		r.Post("/account/tokens", h(tokens.Create))
		r.Post("/account/tokens/{id}/revoke", h(tokens.Revoke))
		r.Get("/cli/login", h(cliLogin.Show))
		r.Post("/cli/login", h(cliLogin.Decide))

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
		r.Post("/users/{id}/accounts/{account}/unlock", h(users.ClearLock))

		r.Get("/audit/sessions", h(audit.History))
		r.Get("/audit/sessions.csv", h(audit.ExportCSV))
		r.Get("/audit/sessions.jsonl", h(audit.ExportJSONL))
		r.Get("/audit/sessions/charts", h(audit.Charts))
		r.Get("/audit/sessions/{id}", h(audit.Show))

		r.Get("/groups", h(groups.List))
		r.Get("/groups/new", h(groups.New))
		r.Post("/groups/new", h(groups.Create))
		r.Get("/groups/{id}", h(groups.Show))
		r.Get("/groups/{id}/edit", h(groups.Edit))
		r.Post("/groups/{id}/edit", h(groups.Update))
		r.Get("/groups/{id}/delete", h(groups.ConfirmDelete))
		r.Post("/groups/{id}/delete", h(groups.Delete))
		r.Post("/groups/{id}/members/add", h(groups.AddMembers))
		r.Post("/groups/{id}/members/remove", h(groups.RemoveMember))

		r.Get("/roles", h(roles.List))
		r.Get("/roles/new", h(roles.New))
		r.Post("/roles/new", h(roles.Create))
		r.Get("/roles/{id}", h(roles.Show))
		r.Get("/roles/{id}/edit", h(roles.Edit))
		r.Post("/roles/{id}/edit", h(roles.Update))
		r.Get("/roles/{id}/delete", h(roles.ConfirmDelete))
		r.Post("/roles/{id}/delete", h(roles.Delete))
		r.Post("/roles/{id}/grants", h(roles.SetGrants))
		r.Post("/roles/{id}/grant-scopes", h(roles.SetGrantScopes))
		r.Get("/roles/{id}/principals", h(roles.Principals))
		r.Post("/roles/{id}/principals/add", h(roles.AddPrincipals))
		r.Post("/roles/{id}/principals/remove", h(roles.RemovePrincipal))

		r.Get("/explain", h(explain.Show))
		// Infrastructure (issue 4): project tabs, then each resource's pages.
		r.Get("/targets", h(myTargets.List))
		r.Get("/scopes/{id}/targets", h(targets.List))
		r.Get("/scopes/{id}/targets/new", h(targets.New))
		r.Post("/scopes/{id}/targets/new", h(targets.Create))
		r.Get("/scopes/{id}/host-catalogs", h(catalogs.List))
		r.Get("/scopes/{id}/host-catalogs/new", h(catalogs.New))
		r.Post("/scopes/{id}/host-catalogs/new", h(catalogs.Create))
		r.Get("/scopes/{id}/credential-stores", h(credStores.List))
		r.Get("/scopes/{id}/credential-stores/new", h(credStores.New))
		r.Post("/scopes/{id}/credential-stores/new", h(credStores.Create))

		r.Get("/host-catalogs/{id}", h(catalogs.Show))
		r.Get("/host-catalogs/{id}/host-sets", h(catalogs.Show))
		r.Get("/host-catalogs/{id}/edit", h(catalogs.Edit))
		r.Post("/host-catalogs/{id}/edit", h(catalogs.Update))
		r.Get("/host-catalogs/{id}/delete", h(catalogs.ConfirmDelete))
		r.Post("/host-catalogs/{id}/delete", h(catalogs.Delete))
		r.Get("/host-catalogs/{id}/hosts/new", h(hosts.New))
		r.Post("/host-catalogs/{id}/hosts/new", h(hosts.Create))
		r.Get("/host-catalogs/{id}/host-sets/new", h(hostSets.New))
		r.Post("/host-catalogs/{id}/host-sets/new", h(hostSets.Create))

		r.Get("/hosts/{id}", h(hosts.Show))
		r.Get("/hosts/{id}/edit", h(hosts.Edit))
		r.Post("/hosts/{id}/edit", h(hosts.Update))
		r.Get("/hosts/{id}/delete", h(hosts.ConfirmDelete))
		r.Post("/hosts/{id}/delete", h(hosts.Delete))

		r.Get("/host-sets/{id}", h(hostSets.Show))
		r.Get("/host-sets/{id}/edit", h(hostSets.Edit))
		r.Post("/host-sets/{id}/edit", h(hostSets.Update))
		r.Get("/host-sets/{id}/delete", h(hostSets.ConfirmDelete))
		r.Post("/host-sets/{id}/delete", h(hostSets.Delete))
		r.Post("/host-sets/{id}/hosts", h(hostSets.AddHosts))
		r.Post("/host-sets/{id}/hosts/{host}/remove", h(hostSets.RemoveHost))

		r.Get("/targets/{id}", h(targets.Show))
		r.Get("/targets/{id}/edit", h(targets.Edit))
		r.Post("/targets/{id}/edit", h(targets.Update))
		r.Get("/targets/{id}/delete", h(targets.ConfirmDelete))
		r.Post("/targets/{id}/delete", h(targets.Delete))
		r.Post("/targets/{id}/host-sources", h(targets.AddHostSources))
		r.Post("/targets/{id}/host-sources/{set}/remove", h(targets.RemoveHostSource))
		r.Post("/targets/{id}/credential-sources", h(targets.AddCredentialSources))
		r.Post("/targets/{id}/credential-sources/{credential}/remove", h(targets.RemoveCredentialSource))

		r.Get("/credential-stores/{id}", h(credStores.Show))
		r.Get("/credential-stores/{id}/edit", h(credStores.Edit))
		r.Post("/credential-stores/{id}/edit", h(credStores.Update))
		r.Get("/credential-stores/{id}/delete", h(credStores.ConfirmDelete))
		r.Post("/credential-stores/{id}/delete", h(credStores.Delete))
		r.Get("/credential-stores/{id}/credentials/new", h(creds.New))
		r.Post("/credential-stores/{id}/credentials/new", h(creds.Create))

		r.Get("/credentials/{id}", h(creds.Show))
		r.Get("/credentials/{id}/edit", h(creds.Edit))
		r.Post("/credentials/{id}/edit", h(creds.Update))
		r.Get("/credentials/{id}/delete", h(creds.ConfirmDelete))
		r.Post("/credentials/{id}/delete", h(creds.Delete))

		// Credential libraries (issue 12).
		r.Get("/credential-stores/{id}/libraries/new", h(libs.New))
		r.Post("/credential-stores/{id}/libraries/new", h(libs.Create))
		r.Get("/credential-libraries/{id}", h(libs.Show))
		r.Get("/credential-libraries/{id}/edit", h(libs.Edit))
		r.Post("/credential-libraries/{id}/edit", h(libs.Update))
		r.Post("/credential-libraries/{id}/test", h(libs.Test))
		r.Get("/credential-libraries/{id}/delete", h(libs.ConfirmDelete))
		r.Post("/credential-libraries/{id}/delete", h(libs.Delete))
		r.Post("/targets/{id}/library-sources", h(libs.Attach))
		r.Post("/targets/{id}/library-sources/{library}/remove", h(libs.Detach))
		r.Post("/sessions/{id}/ssh-key", h(libs.SignKey))
		r.Post("/sessions/{id}/revocations/{credential}/retry", h(libs.Retry))

		// Sessions (issue 5).
		r.Get("/targets/{id}/sessions/new", h(sessions.NewStart))
		r.Post("/targets/{id}/sessions", h(sessions.Start))
		r.Get("/sessions", h(sessions.Mine))
		r.Get("/sessions/events", h(sessions.Events))
		r.Get("/sessions/{id}", h(sessions.Show))
		r.Post("/sessions/{id}/cancel", h(sessions.Cancel))
		r.Get("/admin/sessions", h(sessions.All))
		r.Get("/admin/targets", h(adminTargets.List))
		r.Get("/admin/targets/new", h(adminTargets.New))
		r.Post("/admin/targets/new", h(adminTargets.Create))
		r.Get("/admin/projects", h(adminTargets.Projects))

		// Just-in-time access (issue 15).
		access := handlers.Access{Base: base, Store: s.store, Live: s.cfg.Live, ExternalURL: s.externalAddr(), Heartbeat: s.cfg.StreamHeartbeat}
		r.Get("/access", h(access.List))
		r.Get("/access/events", h(access.Events))
		r.Get("/access/badge", h(access.Badge))
		r.Get("/access/home", h(access.Home))
		r.Get("/access/history", h(access.History))
		r.Get("/access/history.csv", h(access.ExportCSV))
		r.Get("/access/history.jsonl", h(access.ExportJSONL))
		r.Get("/access/requests/{id}", h(access.Show))
		r.Post("/access/requests/{id}/decide", h(access.Decide))
		r.Post("/access/requests/{id}/cancel", h(access.Cancel))
		r.Post("/access/requests/{id}/revoke", h(access.Revoke))
		r.Get("/targets/{id}/request-access", h(access.NewRequest))
		r.Post("/targets/{id}/request-access", h(access.CreateRequest))
		r.Get("/targets/{id}/access", h(access.Settings))
		r.Post("/targets/{id}/access", h(access.SaveSettings))
		r.Post("/sessions/{id}/extend", h(access.Extend))
		r.Post("/sessions/{id}/shorten", h(access.Shorten))
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

		// Change log and webhooks (issue 16).
		r.Get("/change-log", h(changeLog.List))
		r.Get("/change-log.csv", h(changeLog.ExportCSV))
		r.Get("/change-log.jsonl", h(changeLog.ExportJSONL))
		r.Get("/change-log/{id}", h(changeLog.Show))
		r.Get("/webhooks", h(webhooks.List))
		r.Get("/webhooks/new", h(webhooks.New))
		r.Post("/webhooks/new", h(webhooks.Create))
		r.Get("/webhooks/{id}", h(webhooks.Show))
		r.Get("/webhooks/{id}/edit", h(webhooks.Edit))
		r.Post("/webhooks/{id}/edit", h(webhooks.Update))
		r.Get("/webhooks/{id}/delete", h(webhooks.ConfirmDelete))
		r.Post("/webhooks/{id}/delete", h(webhooks.Delete))
		r.Post("/webhooks/{id}/deliveries/{delivery}/redeliver", h(webhooks.Redeliver))
	})
	return r
}
