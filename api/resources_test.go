package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// resourceCase is one admin resource as the generic tests drive it.
type resourceCase struct {
	kind      string // the grant type ("target")
	path      string // collection path
	list      string // list query naming the parent
	roleScope string // scope of the roles that cover the item
	id        string // an existing item
	create    map[string]any
	table     string // table counted for "nothing written"
}

// world is one database with an item of every admin resource.
type world struct {
	h      *harness
	infra  dbtest.Infra
	orgID  string
	method string // an OIDC auth method
	mg     string // a managed group of it
	// pgLibrary and sshLibrary are credential libraries of the store.
	pgLibrary, sshLibrary string
	cases                 []resourceCase
}

func newWorld(t *testing.T, h *harness) *world {
	ctx := context.Background()
	w := &world{h: h, infra: h.project("Prod")}
	var p models.Scope
	if err := h.store.DB().Where("id = ?", w.infra.ProjectID).Take(&p).Error; err != nil {
		t.Fatal(err)
	}
	w.orgID = *p.ParentID
	m, err := h.store.CreateOIDCMethod(ctx, h.admin, models.GlobalScopeID, models.OIDCMethodInput{Name: "Corp SSO",
		Issuer: "https://login.example.com/", ClientID: "gatehouse", ClientSecret: "s3cret", SigningAlgorithms: "RS256"})
	if err != nil {
		t.Fatal(err)
	}
	w.method = m.ID
	mg, err := h.store.CreateManagedGroup(ctx, h.admin, m.ID, models.ManagedGroupInput{Name: "SRE", Filter: `"sre" in groups`})
	if err != nil {
		t.Fatal(err)
	}
	w.mg = mg.ID
	other, err := h.store.CreateUser(ctx, h.admin, models.GlobalScopeID, models.UserInput{Name: "zed"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := h.store.CreateGroup(ctx, h.admin, models.GlobalScopeID, models.GroupInput{Name: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.store.CreateRole(ctx, h.admin, models.GlobalScopeID, models.RoleInput{Name: "auditors"})
	if err != nil {
		t.Fatal(err)
	}
	pgLib, err := h.store.CreateCredentialLibrary(ctx, h.admin, w.infra.StoreID, pgLibraryInput("roles"))
	if err != nil {
		t.Fatal(err)
	}
	sshLib, err := h.store.CreateCredentialLibrary(ctx, h.admin, w.infra.StoreID, models.CredentialLibraryInput{Type: models.LibrarySSHCert,
		Name: "ssh ca", PrincipalsTemplate: models.DefaultPrincipalsTemplate, Extensions: []string{"permit-pty"}})
	if err != nil {
		t.Fatal(err)
	}
	w.pgLibrary, w.sshLibrary = pgLib.ID, sshLib.ID
	x, pj := w.infra, w.infra.ProjectID
	w.cases = []resourceCase{
		{"scope", "/scopes", "?parent_id=" + w.orgID, w.orgID, pj, map[string]any{"parent_id": w.orgID, "name": "Staging"}, "scopes"},
		{"user", "/users", "?scope_id=global", "global", other.ID, map[string]any{"scope_id": "global", "name": "yan", "login_name": "yan", "password": "yan-password-1"}, "users"},
		{"group", "/groups", "?scope_id=global", "global", g.ID, map[string]any{"scope_id": "global", "name": "devs"}, "groups"},
		{"role", "/roles", "?scope_id=global", "global", r.ID, map[string]any{"scope_id": "global", "name": "readers"}, "roles"},
		{"auth-method", "/auth-methods", "?scope_id=global", "global", m.ID, map[string]any{"scope_id": "global", "type": "oidc", "name": "Other SSO",
			"issuer": "https://other.example.com/", "client_id": "gh", "client_secret": "x", "signing_algorithms": []string{"RS256"}}, "auth_methods"},
		{"managed-group", "/managed-groups", "?auth_method_id=" + m.ID, "global", mg.ID, map[string]any{"auth_method_id": m.ID, "name": "DBAs", "filter": `"dba" in groups`}, "managed_groups"},
		{"host-catalog", "/host-catalogs", "?scope_id=" + pj, pj, x.CatalogID, map[string]any{"scope_id": pj, "name": "Cloud"}, "host_catalogs"},
		{"host", "/hosts", "?catalog_id=" + x.CatalogID, pj, x.HostID, map[string]any{"catalog_id": x.CatalogID, "name": "db-2", "address": "10.0.0.2"}, "hosts"},
		{"host-set", "/host-sets", "?catalog_id=" + x.CatalogID, pj, x.HostSetID, map[string]any{"catalog_id": x.CatalogID, "name": "replicas", "host_ids": []string{x.HostID}}, "host_sets"},
		{"target", "/targets", "?scope_id=" + pj, pj, x.AddrTargetID, map[string]any{"scope_id": pj, "name": "ssh", "default_port": 22, "address": "10.1.1.1",
			"session_max_seconds": 3600, "session_connection_limit": -1}, "targets"},
		{"credential-store", "/credential-stores", "?scope_id=" + pj, pj, x.StoreID, map[string]any{"scope_id": pj, "name": "Vault"}, "credential_stores"},
		{"credential", "/credentials", "?store_id=" + x.StoreID, pj, x.CredentialID, map[string]any{"store_id": x.StoreID, "type": "username_password",
			"name": "app", "username": "app", "password": "pw"}, "credentials"},
		{"credential-library", "/credential-libraries", "?store_id=" + x.StoreID, pj, pgLib.ID, map[string]any{"store_id": x.StoreID, "type": "postgres",
			"name": "readers", "url": "postgres://admin@db.example.com:5432/app", "password": "pg-admin-pw", "grant_roles": []string{"app_read"}}, "credential_libraries"},
		{"credential-library", "/credential-libraries", "?store_id=" + x.StoreID, pj, sshLib.ID, map[string]any{"store_id": x.StoreID, "type": "ssh_certificate",
			"name": "ops ssh", "principals_template": "ops", "extensions": []string{"permit-pty", "permit-port-forwarding"}, "clock_skew_seconds": 30}, "credential_libraries"},
	}
	return w
}

// pgLibraryInput is a valid Postgres library (never connected to unless
// tested).
func pgLibraryInput(name string) models.CredentialLibraryInput {
	return models.CredentialLibraryInput{Type: models.LibraryPostgres, Name: name, URL: "postgres://admin@db.example.com:5432/postgres",
		Password: "admin-pw", UsernameTemplate: models.DefaultUsernameTemplate, GrantRoles: "app_read", CreationStatements: models.DefaultCreationStatements,
		RevocationStatements: models.DefaultRevocationStatements}
}

// listed reports whether the list answer holds id.
func listed(t testing.TB, a answer, id string) bool {
	var page struct {
		Items []struct{ ID string } `json:"items"`
	}
	_ = json.Unmarshal(a.body, &page)
	for _, it := range page.Items {
		if it.ID == id {
			return true
		}
	}
	return false
}

// TestAuthorizationMatrixThroughTheAPI repeats the pages' allow/deny per
// resource and principal kind: a user with no role sees nothing (404, the
// item never listed); read+list granted to the user directly, through a
// group, or to every authenticated user lets it list and read but not
// create, update or delete (403); every action lets it do all of it.
func TestAuthorizationMatrixThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		w := newWorld(t, h)
		ctx := context.Background()
		nobody := h.token(h.user("nobody"))
		direct, viaGroup, anyUser, owner := h.user("dora"), h.user("gus"), h.user("ann"), h.user("olga")
		g, err := h.store.CreateGroup(ctx, h.admin, models.GlobalScopeID, models.GroupInput{Name: "readers"})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.store.AddGroupMembers(ctx, h.admin, g.ID, []string{viaGroup.UserID}); err != nil {
			t.Fatal(err)
		}
		for _, c := range w.cases {
			t.Run(c.kind+"/nobody", func(t *testing.T) {
				if a := h.call(nobody, http.MethodGet, c.path+"/"+c.id, nil); a.status != http.StatusNotFound {
					t.Errorf("read: %d, want 404", a.status)
				}
				if a := h.call(nobody, http.MethodGet, c.path+c.list, nil); a.status == http.StatusOK && listed(t, a, c.id) {
					t.Errorf("list shows the item to nobody")
				}
				if a := h.call(nobody, http.MethodDelete, c.path+"/"+c.id, nil); a.status != http.StatusNotFound {
					t.Errorf("delete: %d, want 404", a.status)
				}
				if a := h.call(nobody, http.MethodPost, c.path, c.create); a.status != http.StatusNotFound && a.status != http.StatusForbidden {
					t.Errorf("create: %d, want 403 or 404", a.status)
				}
			})
		}
		read := func(kind string) string { return "ids=*;type=" + kind + ";actions=list,read" }
		for _, c := range w.cases {
			h.grant(c.roleScope, direct.UserID, read(c.kind))
			h.grant(c.roleScope, g.ID, read(c.kind))
			h.grant(c.roleScope, owner.UserID, "ids=*;type="+c.kind+";actions=*")
		}
		// Creating an auth method reads its scope (CreateOIDCMethod).
		h.grant(models.GlobalScopeID, owner.UserID, "ids=*;type=scope;actions=read")
		tokens := map[string]string{
			"user":  h.token(dbtest.Login(t, h.store, h.authID, "dora", "dora-password-1")),
			"group": h.token(dbtest.Login(t, h.store, h.authID, "gus", "gus-password-1")),
		}
		for _, c := range w.cases {
			h.grant(c.roleScope, models.PrincipalAuthenticated, read(c.kind))
		}
		tokens["u_auth"] = h.token(dbtest.Login(t, h.store, h.authID, "ann", "ann-password-1"))
		_ = anyUser
		for _, c := range w.cases {
			for kind, tok := range tokens {
				t.Run(c.kind+"/reader via "+kind, func(t *testing.T) {
					got := h.call(tok, http.MethodGet, c.path+"/"+c.id, nil)
					if got.status != http.StatusOK {
						t.Fatalf("read: %d, want 200: %s", got.status, got.body)
					}
					if a := h.call(tok, http.MethodGet, c.path+c.list, nil); a.status != http.StatusOK || !listed(t, a, c.id) {
						t.Errorf("list: %d, item listed %v", a.status, listed(t, a, c.id))
					}
					if a := h.call(tok, http.MethodPatch, c.path+"/"+c.id, map[string]any{"description": "changed"}, "If-Match", got.header.Get("ETag")); a.status != http.StatusForbidden {
						t.Errorf("update: %d, want 403", a.status)
					}
					if a := h.call(tok, http.MethodDelete, c.path+"/"+c.id, nil); a.status != http.StatusForbidden {
						t.Errorf("delete: %d, want 403", a.status)
					}
					// 404 where the collection's scope is not visible to the
					// reader (as on the pages' "New" forms).
					if a := h.call(tok, http.MethodPost, c.path, c.create); a.status != http.StatusForbidden && a.status != http.StatusNotFound {
						t.Errorf("create: %d, want 403 or 404: %s", a.status, a.body)
					}
				})
			}
		}
		full := h.token(dbtest.Login(t, h.store, h.authID, "olga", "olga-password-1"))
		for _, c := range w.cases {
			t.Run(c.kind+"/all actions", func(t *testing.T) {
				created := h.call(full, http.MethodPost, c.path, c.create)
				want(t, "create", created, http.StatusCreated)
				id, _ := created.json(t)["id"].(string)
				if created.header.Get("Location") != "/api/v1"+c.path+"/"+id || created.header.Get("ETag") != `"1"` {
					t.Errorf("create headers %v", created.header)
				}
				upd := h.call(full, http.MethodPatch, c.path+"/"+id, map[string]any{"description": "changed"}, "If-Match", created.header.Get("ETag"))
				want(t, "update", upd, http.StatusOK)
				if d := upd.json(t)["description"]; d != "changed" {
					t.Errorf("description after update: %v", d)
				}
				want(t, "delete", h.call(full, http.MethodDelete, c.path+"/"+id, nil), http.StatusNoContent)
				want(t, "read deleted", h.call(full, http.MethodGet, c.path+"/"+id, nil), http.StatusNotFound)
			})
		}
	})
}

// TestBadInputThroughTheAPI: per resource, an empty name is 422 with a
// message on the field, an unknown member or a wrong type is 400 naming
// it; nothing is written in either case.
func TestBadInputThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		w := newWorld(t, h)
		for _, c := range w.cases {
			t.Run(c.kind, func(t *testing.T) {
				before := h.count(c.table)
				body := map[string]any{}
				for k, v := range c.create {
					body[k] = v
				}
				body["name"] = ""
				a := h.call(h.adminTok, http.MethodPost, c.path, body)
				want(t, "empty name", a, http.StatusUnprocessableEntity)
				if p := a.problem(t); p.Errors["name"] == "" {
					t.Errorf("no message on name: %+v", p)
				}
				body["name"], body["nmae"] = "x", "typo"
				a = h.bad(h.adminTok, http.MethodPost, c.path, body)
				want(t, "unknown member", a, http.StatusBadRequest)
				if p := a.problem(t); p.Errors["nmae"] == "" {
					t.Errorf("unknown member not named: %+v", p)
				}
				delete(body, "nmae")
				body["name"] = 42
				a = h.bad(h.adminTok, http.MethodPost, c.path, body)
				want(t, "wrong type", a, http.StatusBadRequest)
				if p := a.problem(t); p.Errors["name"] == "" {
					t.Errorf("wrong type not named: %+v", p)
				}
				a = h.bad(h.adminTok, http.MethodPost, c.path, []byte(`{"name": `))
				want(t, "broken JSON", a, http.StatusBadRequest)
				a = h.bad(h.adminTok, http.MethodPatch, c.path+"/"+c.id, map[string]any{"name": ""}, "If-Match", `"1"`)
				if a.status != http.StatusUnprocessableEntity && a.status != http.StatusPreconditionFailed {
					t.Errorf("update with an empty name: %d", a.status)
				}
				if n := h.count(c.table); n != before {
					t.Errorf("%s: %d rows, want %d: bad input wrote something", c.table, n, before)
				}
			})
		}
	})
}

// TestStaleWritesThroughTheAPI: an update needs If-Match (428); the ETag of
// a read works once; the same ETag again is 412 and changes nothing.
func TestStaleWritesThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		w := newWorld(t, h)
		for _, c := range w.cases {
			t.Run(c.kind, func(t *testing.T) {
				got := h.call(h.adminTok, http.MethodGet, c.path+"/"+c.id, nil)
				want(t, "read", got, http.StatusOK)
				tag := got.header.Get("ETag")
				a := h.bad(h.adminTok, http.MethodPatch, c.path+"/"+c.id, map[string]any{"description": "first"})
				want(t, "no If-Match", a, http.StatusPreconditionRequired)
				a.problem(t)
				want(t, "fresh write", h.call(h.adminTok, http.MethodPatch, c.path+"/"+c.id, map[string]any{"description": "first"}, "If-Match", tag), http.StatusOK)
				a = h.call(h.adminTok, http.MethodPatch, c.path+"/"+c.id, map[string]any{"description": "second"}, "If-Match", tag)
				want(t, "stale write", a, http.StatusPreconditionFailed)
				if p := a.problem(t); p.Code != "stale" {
					t.Errorf("stale: %+v", p)
				}
				if d := h.call(h.adminTok, http.MethodGet, c.path+"/"+c.id, nil).json(t)["description"]; d != "first" {
					t.Errorf("after a stale write the description is %v", d)
				}
			})
		}
		// Replacing a role's grants takes its ETag too.
		r := w.cases[3]
		got := h.call(h.adminTok, http.MethodGet, r.path+"/"+r.id, nil)
		want(t, "set grants", h.call(h.adminTok, http.MethodPut, r.path+"/"+r.id+"/grants", map[string]any{"grants": []string{"ids=*;type=session;actions=list,read"}},
			"If-Match", got.header.Get("ETag")), http.StatusOK)
		want(t, "stale grants", h.call(h.adminTok, http.MethodPut, r.path+"/"+r.id+"/grants", map[string]any{"grants": []string{}},
			"If-Match", got.header.Get("ETag")), http.StatusPreconditionFailed)
	})
}

// TestConditionalDeleteThroughTheAPI: per resource, a DELETE may carry
// If-Match: a stale ETag is 412 and deletes nothing (nor logs a change), an
// ETag this API never gave out is 412, the current one deletes. Without
// If-Match (or with *) the delete is unconditional (the matrix test). A
// stale ETag never tells a hidden item apart (404 to who cannot see it) nor
// gets round a refusal (403 to a reader).
func TestConditionalDeleteThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		w := newWorld(t, h)
		nobody := h.token(h.user("nobody"))
		reader := h.user("rita")
		for _, c := range w.cases {
			h.grant(c.roleScope, reader.UserID, "ids=*;type="+c.kind+";actions=list,read")
		}
		readerTok := h.token(dbtest.Login(t, h.store, h.authID, "rita", "rita-password-1"))
		for _, c := range w.cases {
			t.Run(c.kind, func(t *testing.T) {
				created := h.call(h.adminTok, http.MethodPost, c.path, c.create)
				want(t, "create", created, http.StatusCreated)
				id, _ := created.json(t)["id"].(string)
				v1 := created.header.Get("ETag")
				upd := h.call(h.adminTok, http.MethodPatch, c.path+"/"+id, map[string]any{"description": "moved on"}, "If-Match", v1)
				want(t, "update", upd, http.StatusOK)
				v2 := upd.header.Get("ETag")
				if v2 == v1 {
					t.Fatalf("the update kept ETag %s", v1)
				}
				want(t, "nobody, stale", h.call(nobody, http.MethodDelete, c.path+"/"+id, nil, "If-Match", v1), http.StatusNotFound)
				want(t, "reader, stale", h.call(readerTok, http.MethodDelete, c.path+"/"+id, nil, "If-Match", v1), http.StatusForbidden)
				changes := h.count("change_events")
				a := h.call(h.adminTok, http.MethodDelete, c.path+"/"+id, nil, "If-Match", v1)
				want(t, "stale delete", a, http.StatusPreconditionFailed)
				if p := a.problem(t); p.Code != "stale" {
					t.Errorf("stale delete: %+v", p)
				}
				a = h.call(h.adminTok, http.MethodDelete, c.path+"/"+id, nil, "If-Match", `"not-a-version"`)
				want(t, "foreign ETag", a, http.StatusPreconditionFailed)
				want(t, "still there", h.call(h.adminTok, http.MethodGet, c.path+"/"+id, nil), http.StatusOK)
				if n := h.count("change_events"); n != changes {
					t.Errorf("refused deletes logged %d changes", n-changes)
				}
				want(t, "current ETag", h.call(h.adminTok, http.MethodDelete, c.path+"/"+id, nil, "If-Match", v2), http.StatusNoContent)
				want(t, "gone", h.call(h.adminTok, http.MethodGet, c.path+"/"+id, nil), http.StatusNotFound)
			})
		}
		// If-Match: * deletes whatever the version.
		c := w.cases[2]
		created := h.call(h.adminTok, http.MethodPost, c.path, c.create)
		want(t, "create", created, http.StatusCreated)
		id, _ := created.json(t)["id"].(string)
		want(t, "If-Match *", h.call(h.adminTok, http.MethodDelete, c.path+"/"+id, nil, "If-Match", "*"), http.StatusNoContent)
	})
}

// TestConditionalAccountDeleteThroughTheAPI: an account's version is on its
// user; DELETE /accounts/{id} with a stale one is 412 and keeps it.
func TestConditionalAccountDeleteThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		created := h.call(h.adminTok, http.MethodPost, "/users", map[string]any{"scope_id": "global", "name": "yan", "login_name": "yan", "password": "yan-password-1"})
		want(t, "create user", created, http.StatusCreated)
		var u struct {
			ID       string `json:"id"`
			Accounts []struct {
				ID      string `json:"id"`
				Version int    `json:"version"`
			} `json:"accounts"`
		}
		_ = json.Unmarshal(created.body, &u)
		if len(u.Accounts) != 1 || u.Accounts[0].Version != 1 {
			t.Fatalf("user %s", created.body)
		}
		acct := u.Accounts[0].ID
		want(t, "new password", h.call(h.adminTok, http.MethodPatch, "/users/"+u.ID, map[string]any{"password": "yan-password-2"},
			"If-Match", created.header.Get("ETag")), http.StatusOK)
		got := h.call(h.adminTok, http.MethodGet, "/users/"+u.ID, nil)
		_ = json.Unmarshal(got.body, &u)
		if len(u.Accounts) != 1 || u.Accounts[0].Version != 2 {
			t.Fatalf("after a new password: %s", got.body)
		}
		a := h.call(h.adminTok, http.MethodDelete, "/accounts/"+acct, nil, "If-Match", `"1"`)
		want(t, "stale account delete", a, http.StatusPreconditionFailed)
		got = h.call(h.adminTok, http.MethodGet, "/users/"+u.ID, nil)
		u.Accounts = nil
		_ = json.Unmarshal(got.body, &u)
		if len(u.Accounts) != 1 || u.Accounts[0].ID != acct {
			t.Fatalf("a stale delete removed the account: %s", got.body)
		}
		want(t, "account delete", h.call(h.adminTok, http.MethodDelete, "/accounts/"+acct, nil, "If-Match", `"2"`), http.StatusNoContent)
		got = h.call(h.adminTok, http.MethodGet, "/users/"+u.ID, nil)
		u.Accounts = nil
		_ = json.Unmarshal(got.body, &u)
		if len(u.Accounts) != 0 {
			t.Errorf("account still listed: %s", got.body)
		}
	})
}
