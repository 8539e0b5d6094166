package models_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"gatehouse/models"
)

// changeStep is one call of a mutating use case and the change-log entry
// it must write.
type changeStep struct {
	name         string
	call         func() (id string, err error)
	action, typ  string
	before       map[string]string // fields expected before ("" key absent: no values)
	after        map[string]string
	noBefore     bool
	noAfter      bool
	changedField string // a secret field that must read "changed" after
}

// TestChangeLogEveryUseCase runs every mutating Store use case once and
// checks that each writes exactly one change-log entry, with the actor,
// request facts and correct before/after values, and that no secret ever
// reaches the change log.
func TestChangeLogEveryUseCase(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := models.WithRequestInfo(context.Background(), models.RequestInfo{ClientIP: "198.51.100.7", RequestID: "req-42"})
		s, admin := f.store, f.admin
		var roleID, groupID, scopeID, userID, catID, hostID, setID, targetID, storeID, credID, libID, methodID, mgID, hookID, hookSecret string
		ver := func(table, id string) int {
			var v int
			if err := s.DB().Raw("SELECT version FROM "+table+" WHERE id = ?", id).Scan(&v).Error; err != nil {
				t.Fatal(err)
			}
			return v
		}
		secrets := []string{"SECRET-user-pw", "SECRET-oidc-client", "SECRET-cred-pw", "SECRET-cred-pw-2", "SECRET-lib-pw", "SECRET-lib-pw-2", "alice-password"}
		steps := []changeStep{
			{name: "create scope", action: "create", typ: "scope", noBefore: true, after: map[string]string{"name": "Research"},
				call: func() (string, error) {
					sc, err := s.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: "Research"})
					if err == nil {
						scopeID = sc.ID
					}
					return scopeID, err
				}},
			{name: "update scope", action: "update", typ: "scope", before: map[string]string{"name": "Research"}, after: map[string]string{"name": "R&D"},
				call: func() (string, error) {
					_, err := s.UpdateScope(ctx, admin, scopeID, ver("scopes", scopeID), models.ScopeInput{Name: "R&D"})
					return scopeID, err
				}},
			{name: "create user", action: "create", typ: "user", noBefore: true, after: map[string]string{"name": "carol"},
				call: func() (string, error) {
					u, err := s.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "carol", LoginName: "carol", Password: "SECRET-user-pw"})
					if err == nil {
						userID = u.ID
					}
					return userID, err
				}},
			{name: "update user", action: "update", typ: "user", before: map[string]string{"email": ""}, after: map[string]string{"email": "carol@example.com"},
				call: func() (string, error) {
					_, err := s.UpdateUser(ctx, admin, userID, ver("users", userID), models.UserInput{Name: "carol", Email: "carol@example.com"})
					return userID, err
				}},
			{name: "create group", action: "create", typ: "group", noBefore: true, after: map[string]string{"name": "SRE", "members": "[]"},
				call: func() (string, error) {
					g, err := s.CreateGroup(ctx, admin, models.GlobalScopeID, models.GroupInput{Name: "SRE"})
					if err == nil {
						groupID = g.ID
					}
					return groupID, err
				}},
			{name: "update group", action: "update", typ: "group", before: map[string]string{"description": ""}, after: map[string]string{"description": "on call"},
				call: func() (string, error) {
					_, err := s.UpdateGroup(ctx, admin, groupID, ver("groups", groupID), models.GroupInput{Name: "SRE", Description: "on call"})
					return groupID, err
				}},
			{name: "add group members", action: "add-members", typ: "group", before: map[string]string{"members": "[]"},
				call:  func() (string, error) { return groupID, s.AddGroupMembers(ctx, admin, groupID, []string{userID}) },
				after: map[string]string{"members": "[\"USER\"]"}},
			{name: "remove group members", action: "remove-members", typ: "group", after: map[string]string{"members": "[]"},
				call:   func() (string, error) { return groupID, s.RemoveGroupMembers(ctx, admin, groupID, []string{userID}) },
				before: map[string]string{"members": "[\"USER\"]"}},
			{name: "create role", action: "create", typ: "role", noBefore: true, after: map[string]string{"name": "Auditors", "grants": "[]"},
				call: func() (string, error) {
					r, err := s.CreateRole(ctx, admin, models.GlobalScopeID, models.RoleInput{Name: "Auditors"})
					if err == nil {
						roleID = r.ID
					}
					return roleID, err
				}},
			{name: "update role", action: "update", typ: "role", before: map[string]string{"name": "Auditors"}, after: map[string]string{"name": "Readers"},
				call: func() (string, error) {
					_, err := s.UpdateRole(ctx, admin, roleID, ver("roles", roleID), models.RoleInput{Name: "Readers"})
					return roleID, err
				}},
			{name: "set role grants", action: "set-grants", typ: "role", before: map[string]string{"grants": "[]"},
				after: map[string]string{"grants": `["ids=*;type=event;actions=list"]`},
				call: func() (string, error) {
					return roleID, s.SetRoleGrants(ctx, admin, roleID, ver("roles", roleID), []string{"ids=*;type=event;actions=list"})
				}},
			{name: "set role grant scopes", action: "set-grant-scopes", typ: "role", before: map[string]string{"grant_scopes": `["this"]`},
				after: map[string]string{"grant_scopes": `["descendants","this"]`},
				call: func() (string, error) {
					return roleID, s.SetRoleGrantScopes(ctx, admin, roleID, ver("roles", roleID), []string{"this", "descendants"})
				}},
			{name: "add role principals", action: "add-principals", typ: "role", before: map[string]string{"principals": "[]"},
				after: map[string]string{"principals": `["GROUP"]`},
				call:  func() (string, error) { return roleID, s.AddRolePrincipals(ctx, admin, roleID, []string{groupID}) }},
			{name: "remove role principals", action: "remove-principals", typ: "role", before: map[string]string{"principals": `["GROUP"]`},
				after: map[string]string{"principals": "[]"},
				call:  func() (string, error) { return roleID, s.RemoveRolePrincipals(ctx, admin, roleID, []string{groupID}) }},
			{name: "create host catalog", action: "create", typ: "host-catalog", noBefore: true, after: map[string]string{"name": "Lab"},
				call: func() (string, error) {
					c, err := s.CreateHostCatalog(ctx, admin, f.project, models.HostCatalogInput{Name: "Lab"})
					if err == nil {
						catID = c.ID
					}
					return catID, err
				}},
			{name: "update host catalog", action: "update", typ: "host-catalog", before: map[string]string{"name": "Lab"}, after: map[string]string{"name": "Lab 2"},
				call: func() (string, error) {
					_, err := s.UpdateHostCatalog(ctx, admin, catID, ver("host_catalogs", catID), models.HostCatalogInput{Name: "Lab 2"})
					return catID, err
				}},
			{name: "create host", action: "create", typ: "host", noBefore: true, after: map[string]string{"address": "10.9.0.1"},
				call: func() (string, error) {
					h, err := s.CreateHost(ctx, admin, catID, models.HostInput{Name: "lab-1", Address: "10.9.0.1"})
					if err == nil {
						hostID = h.ID
					}
					return hostID, err
				}},
			{name: "update host", action: "update", typ: "host", before: map[string]string{"address": "10.9.0.1"}, after: map[string]string{"address": "10.9.0.2"},
				call: func() (string, error) {
					_, err := s.UpdateHost(ctx, admin, hostID, ver("hosts", hostID), models.HostInput{Name: "lab-1", Address: "10.9.0.2"})
					return hostID, err
				}},
			{name: "create host set", action: "create", typ: "host-set", noBefore: true, after: map[string]string{"name": "All lab", "hosts": "[]"},
				call: func() (string, error) {
					hs, err := s.CreateHostSet(ctx, admin, catID, models.HostSetInput{Name: "All lab"}, nil)
					if err == nil {
						setID = hs.ID
					}
					return setID, err
				}},
			{name: "update host set", action: "update", typ: "host-set", before: map[string]string{"name": "All lab"}, after: map[string]string{"name": "Lab hosts"},
				call: func() (string, error) {
					_, err := s.UpdateHostSet(ctx, admin, setID, ver("host_sets", setID), models.HostSetInput{Name: "Lab hosts"})
					return setID, err
				}},
			{name: "add host set members", action: "add-hosts", typ: "host-set", before: map[string]string{"hosts": "[]"}, after: map[string]string{"hosts": `["HOST"]`},
				call: func() (string, error) { return setID, s.AddHostSetMembers(ctx, admin, setID, []string{hostID}) }},
			{name: "create target", action: "create", typ: "target", noBefore: true, after: map[string]string{"name": "lab ssh"},
				call: func() (string, error) {
					tg, err := s.CreateTarget(ctx, admin, f.project, models.TargetInput{Name: "lab ssh", DefaultPort: 22, SessionMaxSeconds: 3600, SessionConnectionLimit: -1})
					if err == nil {
						targetID = tg.ID
					}
					return targetID, err
				}},
			{name: "update target", action: "update", typ: "target", before: map[string]string{"default_port": "22"}, after: map[string]string{"default_port": "2222"},
				call: func() (string, error) {
					_, err := s.UpdateTarget(ctx, admin, targetID, ver("targets", targetID), models.TargetInput{Name: "lab ssh", DefaultPort: 2222, SessionMaxSeconds: 3600, SessionConnectionLimit: -1})
					return targetID, err
				}},
			{name: "add target host sources", action: "add-host-sources", typ: "target", before: map[string]string{"host_sources": "[]"}, after: map[string]string{"host_sources": `["SET"]`},
				call: func() (string, error) { return targetID, s.AddTargetHostSources(ctx, admin, targetID, []string{setID}) }},
			{name: "create credential store", action: "create", typ: "credential-store", noBefore: true, after: map[string]string{"name": "Lab vault"},
				call: func() (string, error) {
					cs, err := s.CreateCredentialStore(ctx, admin, f.project, models.CredentialStoreInput{Name: "Lab vault"})
					if err == nil {
						storeID = cs.ID
					}
					return storeID, err
				}},
			{name: "update credential store", action: "update", typ: "credential-store", before: map[string]string{"name": "Lab vault"}, after: map[string]string{"name": "Lab secrets"},
				call: func() (string, error) {
					_, err := s.UpdateCredentialStore(ctx, admin, storeID, ver("credential_stores", storeID), models.CredentialStoreInput{Name: "Lab secrets"})
					return storeID, err
				}},
			{name: "create credential", action: "create", typ: "credential", noBefore: true, after: map[string]string{"username": "root"}, changedField: "secret",
				call: func() (string, error) {
					c, err := s.CreateCredential(ctx, admin, storeID, models.CredentialInput{Type: "username_password", Name: "lab root", Username: "root", Password: "SECRET-cred-pw"})
					if err == nil {
						credID = c.ID
					}
					return credID, err
				}},
			{name: "update credential secret", action: "update", typ: "credential", before: map[string]string{"username": "root"}, after: map[string]string{"username": "admin"}, changedField: "secret",
				call: func() (string, error) {
					_, err := s.UpdateCredential(ctx, admin, credID, ver("credentials", credID), models.CredentialInput{Type: "username_password", Name: "lab root", Username: "admin", Password: "SECRET-cred-pw-2"})
					return credID, err
				}},
			{name: "create credential library", action: "create", typ: "credential-library", noBefore: true, after: map[string]string{"name": "Lab roles", "type": "postgres"}, changedField: "secret",
				call: func() (string, error) {
					l, err := s.CreateCredentialLibrary(ctx, admin, storeID, libraryInput("Lab roles", "SECRET-lib-pw"))
					if err == nil {
						libID = l.ID
					}
					return libID, err
				}},
			{name: "update credential library secret", action: "update", typ: "credential-library", before: map[string]string{"name": "Lab roles"}, after: map[string]string{"name": "Lab DB roles"}, changedField: "secret",
				call: func() (string, error) {
					_, err := s.UpdateCredentialLibrary(ctx, admin, libID, ver("credential_libraries", libID), libraryInput("Lab DB roles", "SECRET-lib-pw-2"))
					return libID, err
				}},
			{name: "delete credential library", action: "delete", typ: "credential-library", before: map[string]string{"name": "Lab DB roles"}, noAfter: true,
				call: func() (string, error) { return libID, s.DeleteCredentialLibrary(ctx, admin, libID) }},
			{name: "add target credential sources", action: "add-credential-sources", typ: "target", before: map[string]string{"credential_sources": "[]"}, after: map[string]string{"credential_sources": `["CRED"]`},
				call: func() (string, error) {
					return targetID, s.AddTargetCredentialSources(ctx, admin, targetID, []string{credID})
				}},
			{name: "remove target credential source", action: "remove-credential-sources", typ: "target", before: map[string]string{"credential_sources": `["CRED"]`}, after: map[string]string{"credential_sources": "[]"},
				call: func() (string, error) { return targetID, s.RemoveTargetCredentialSource(ctx, admin, targetID, credID) }},
			{name: "remove target host source", action: "remove-host-sources", typ: "target", before: map[string]string{"host_sources": `["SET"]`}, after: map[string]string{"host_sources": "[]"},
				call: func() (string, error) { return targetID, s.RemoveTargetHostSource(ctx, admin, targetID, setID) }},
			{name: "remove host set member", action: "remove-hosts", typ: "host-set", before: map[string]string{"hosts": `["HOST"]`}, after: map[string]string{"hosts": "[]"},
				call: func() (string, error) { return setID, s.RemoveHostSetMember(ctx, admin, setID, hostID) }},
			{name: "create oidc method", action: "create", typ: "auth-method", noBefore: true, after: map[string]string{"name": "Corp SSO", "client_id": "gatehouse"}, changedField: "client_secret",
				call: func() (string, error) {
					in := validOIDC("Corp SSO")
					in.ClientSecret = "SECRET-oidc-client"
					m, err := s.CreateOIDCMethod(ctx, admin, models.GlobalScopeID, in)
					if err == nil {
						methodID = m.ID
					}
					return methodID, err
				}},
			{name: "update oidc method", action: "update", typ: "auth-method", before: map[string]string{"client_id": "gatehouse"}, after: map[string]string{"client_id": "gatehouse-2"},
				call: func() (string, error) {
					in := validOIDC("Corp SSO")
					in.ClientID, in.ClientSecret = "gatehouse-2", ""
					_, err := s.UpdateOIDCMethod(ctx, admin, methodID, ver("auth_methods", methodID), in)
					return methodID, err
				}},
			{name: "change auth method state", action: "change-state", typ: "auth-method", before: map[string]string{"state": "inactive"}, after: map[string]string{"state": "active-private"},
				call: func() (string, error) {
					return methodID, s.ChangeAuthMethodState(ctx, admin, methodID, ver("auth_methods", methodID), models.StateActivePrivate)
				}},
			{name: "create managed group", action: "create", typ: "managed-group", noBefore: true, after: map[string]string{"name": "Ops"},
				call: func() (string, error) {
					g, err := s.CreateManagedGroup(ctx, admin, methodID, models.ManagedGroupInput{Name: "Ops", Filter: `"ops" in "/token/groups"`})
					if err == nil {
						mgID = g.ID
					}
					return mgID, err
				}},
			{name: "update managed group", action: "update", typ: "managed-group", before: map[string]string{"name": "Ops"}, after: map[string]string{"name": "Operations"},
				call: func() (string, error) {
					return mgID, s.UpdateManagedGroup(ctx, admin, mgID, ver("managed_groups", mgID), models.ManagedGroupInput{Name: "Operations", Filter: `"ops" in "/token/groups"`})
				}},
			{name: "cancel session", action: "cancel", typ: "session", before: map[string]string{"state": "pending"}, after: map[string]string{"state": "terminated"},
				call: func() (string, error) {
					st := f.start(t)
					_, err := s.CancelSession(ctx, admin, st.Session.ID)
					return st.Session.ID, err
				}},
			{name: "create webhook", action: "create", typ: "webhook", noBefore: true, after: map[string]string{"name": "Audit sink", "url": "https://sink.example.com/x"}, changedField: "secret",
				call: func() (string, error) {
					w, secret, err := s.CreateWebhook(ctx, admin, models.WebhookInput{Name: "Audit sink", URL: "https://sink.example.com/x", EventTypes: []string{"change.*"}})
					if err == nil {
						hookID, hookSecret = w.ID, secret
					}
					return hookID, err
				}},
			{name: "update webhook", action: "update", typ: "webhook", before: map[string]string{"event_types": "change.*"}, after: map[string]string{"event_types": "change.* session.*"},
				call: func() (string, error) {
					return hookID, s.UpdateWebhook(ctx, admin, hookID, ver("webhook_endpoints", hookID), models.WebhookInput{Name: "Audit sink", URL: "https://sink.example.com/x", EventTypes: []string{"change.*", "session.*"}, Enabled: true})
				}},
			{name: "delete webhook", action: "delete", typ: "webhook", before: map[string]string{"name": "Audit sink"}, noAfter: true,
				call: func() (string, error) { return hookID, s.DeleteWebhook(ctx, admin, hookID) }},
			{name: "delete managed group", action: "delete", typ: "managed-group", before: map[string]string{"name": "Operations"}, noAfter: true,
				call: func() (string, error) { return mgID, s.DeleteManagedGroup(ctx, admin, mgID) }},
			{name: "delete auth method", action: "delete", typ: "auth-method", before: map[string]string{"name": "Corp SSO"}, noAfter: true,
				call: func() (string, error) { return methodID, s.DeleteAuthMethod(ctx, admin, methodID) }},
			{name: "delete credential", action: "delete", typ: "credential", before: map[string]string{"username": "admin"}, noAfter: true,
				call: func() (string, error) { return credID, s.DeleteCredential(ctx, admin, credID) }},
			{name: "delete credential store", action: "delete", typ: "credential-store", before: map[string]string{"name": "Lab secrets"}, noAfter: true,
				call: func() (string, error) { return storeID, s.DeleteCredentialStore(ctx, admin, storeID) }},
			{name: "delete target", action: "delete", typ: "target", before: map[string]string{"name": "lab ssh"}, noAfter: true,
				call: func() (string, error) { return targetID, s.DeleteTarget(ctx, admin, targetID) }},
			{name: "delete host set", action: "delete", typ: "host-set", before: map[string]string{"name": "Lab hosts"}, noAfter: true,
				call: func() (string, error) { return setID, s.DeleteHostSet(ctx, admin, setID) }},
			{name: "delete host", action: "delete", typ: "host", before: map[string]string{"address": "10.9.0.2"}, noAfter: true,
				call: func() (string, error) { return hostID, s.DeleteHost(ctx, admin, hostID) }},
			{name: "delete host catalog", action: "delete", typ: "host-catalog", before: map[string]string{"name": "Lab 2"}, noAfter: true,
				call: func() (string, error) { return catID, s.DeleteHostCatalog(ctx, admin, catID) }},
			{name: "delete role", action: "delete", typ: "role", before: map[string]string{"name": "Readers"}, noAfter: true,
				call: func() (string, error) { return roleID, s.DeleteRole(ctx, admin, roleID) }},
			{name: "delete group", action: "delete", typ: "group", before: map[string]string{"name": "SRE"}, noAfter: true,
				call: func() (string, error) { return groupID, s.DeleteGroup(ctx, admin, groupID) }},
			{name: "delete account", action: "delete", typ: "account", before: map[string]string{"login_name": "carol"}, noAfter: true,
				call: func() (string, error) {
					var acct string
					if err := s.DB().Raw("SELECT id FROM accounts WHERE user_id = ?", userID).Scan(&acct).Error; err != nil {
						return "", err
					}
					return acct, s.DeleteAccount(ctx, admin, acct)
				}},
			{name: "delete user", action: "delete", typ: "user", before: map[string]string{"name": "carol"}, noAfter: true,
				call: func() (string, error) { return userID, s.DeleteUser(ctx, admin, userID) }},
			{name: "delete scope", action: "delete", typ: "scope", before: map[string]string{"name": "R&D"}, noAfter: true,
				call: func() (string, error) { return scopeID, s.DeleteScope(ctx, admin, scopeID) }},
		}
		var last int64
		if err := s.DB().Raw("SELECT COALESCE(max(seq), 0) FROM change_events").Scan(&last).Error; err != nil {
			t.Fatal(err)
		}
		for _, st := range steps {
			id, err := st.call()
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			var evs []models.ChangeEvent
			if err := s.DB().Raw("SELECT * FROM change_events WHERE seq > ? ORDER BY seq", last).Scan(&evs).Error; err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 {
				t.Fatalf("%s: %d change events, want 1: %+v", st.name, len(evs), evs)
			}
			e := evs[0]
			last = e.Seq
			if e.Action != st.action || e.ResourceType != st.typ || e.ResourceID != id {
				t.Errorf("%s: event %s %s %s, want %s %s %s", st.name, e.Action, e.ResourceType, e.ResourceID, st.action, st.typ, id)
			}
			if e.ActorID != admin.UserID || e.LoginID != admin.LoginID || e.ActorName == "" || e.ClientIP != "198.51.100.7" || e.RequestID != "req-42" {
				t.Errorf("%s: actor %q %q %q, ip %q, request %q", st.name, e.ActorID, e.ActorName, e.LoginID, e.ClientIP, e.RequestID)
			}
			if e.ScopeID == "" || e.ResourceName == "" {
				t.Errorf("%s: scope %q name %q", st.name, e.ScopeID, e.ResourceName)
			}
			subst := strings.NewReplacer("USER", userID, "GROUP", groupID, "HOST", hostID, "SET", setID, "CRED", credID)
			check := func(side string, vals map[string]any, want map[string]string, none bool) {
				if none != (vals == nil) {
					t.Errorf("%s: %s values %v, want none=%v", st.name, side, vals, none)
				}
				for k, w := range want {
					if got := showJSON(vals[k]); got != subst.Replace(w) {
						t.Errorf("%s: %s[%s] = %s, want %s", st.name, side, k, got, subst.Replace(w))
					}
				}
			}
			check("before", e.Before(), st.before, st.noBefore)
			check("after", e.After(), st.after, st.noAfter)
			if st.changedField != "" {
				if got := e.After()[st.changedField]; got != "changed" {
					t.Errorf("%s: after[%s] = %v, want changed", st.name, st.changedField, got)
				}
				if _, ok := e.Before()[st.changedField]; ok {
					t.Errorf("%s: before shows the secret field %s", st.name, st.changedField)
				}
			}
		}
		// Every mutating use case above wrote one entry; none holds a secret.
		var all []string
		if err := s.DB().Raw("SELECT before_json || after_json || search_text FROM change_events").Scan(&all).Error; err != nil {
			t.Fatal(err)
		}
		var hashes []string
		if err := s.DB().Raw("SELECT secret FROM credentials UNION ALL SELECT password_hash FROM accounts WHERE password_hash IS NOT NULL").Scan(&hashes).Error; err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, hookSecret)
		for _, text := range all {
			for _, sec := range append(secrets, hashes...) {
				if strings.Contains(text, sec) {
					t.Errorf("the change log holds a secret %q", sec)
				}
			}
			if strings.Contains(text, "$argon2id$") {
				t.Error("the change log holds a password hash")
			}
		}
		// A change that changes nothing writes nothing.
		if _, err := s.UpdateScope(ctx, admin, f.org, ver("scopes", f.org), models.ScopeInput{Name: "Acme"}); err != nil {
			t.Fatal(err)
		}
		var n int64
		s.DB().Raw("SELECT count(*) FROM change_events WHERE seq > ?", last).Scan(&n)
		if n != 0 {
			t.Errorf("a no-op update wrote %d entries", n)
		}
	})
}

// libraryInput is a valid Postgres library (never connected to) with the
// given name and password.
func libraryInput(name, password string) models.CredentialLibraryInput {
	return models.CredentialLibraryInput{Type: models.LibraryPostgres, Name: name, URL: "postgres://admin@db.example.com:5432/postgres",
		Password: password, UsernameTemplate: models.DefaultUsernameTemplate, GrantRoles: "readers",
		CreationStatements: models.DefaultCreationStatements, RevocationStatements: models.DefaultRevocationStatements}
}

func showJSON(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return fmt.Sprint(x)
	}
	return strings.ReplaceAll(fmt.Sprintf("%q", v), " ", ",")
}

// TestChangeLogRefusesDeleteAndUpdate: the database itself keeps the
// change log (triggers refuse DELETE and UPDATE).
func TestChangeLogRefusesDeleteAndUpdate(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		var n int64
		f.store.DB().Raw("SELECT count(*) FROM change_events").Scan(&n)
		if n == 0 {
			t.Fatal("the fixture's changes wrote no change events")
		}
		if err := f.store.DB().Exec("DELETE FROM change_events").Error; err == nil {
			t.Error("DELETE FROM change_events succeeded")
		}
		if err := f.store.DB().Exec("UPDATE change_events SET action = 'x'").Error; err == nil {
			t.Error("UPDATE change_events succeeded")
		}
		var m int64
		f.store.DB().Raw("SELECT count(*) FROM change_events WHERE action <> 'x'").Scan(&m)
		if m != n {
			t.Errorf("%d events after the refused changes, want %d", m, n)
		}
	})
}

// TestLoginEventsAndReadAccess: logins, logouts and refused logins are
// change events; only holders of an event list grant read the log.
func TestLoginEventsAndReadAccess(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		s := f.store
		if _, err := s.AuthenticatePassword(ctx, models.PasswordLogin{AuthMethodID: f.methodID, LoginName: "bob", Password: "wrong", ClientIP: "203.0.113.9"}); err == nil {
			t.Fatal("a wrong password logged in")
		}
		res, err := s.AuthenticatePassword(ctx, models.PasswordLogin{AuthMethodID: f.methodID, LoginName: "bob", Password: "bob-password", ClientIP: "203.0.113.9"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Logout(ctx, res.Token); err != nil {
			t.Fatal(err)
		}
		page, err := s.ListChangeEvents(ctx, f.admin, models.ChangeLogFilter{ResourceType: "auth-method", Resource: f.methodID}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range page.Events[:3] {
			got = append(got, e.Action+" "+e.ActorID)
		}
		want := []string{"logout " + f.bob.UserID, "login " + f.bob.UserID, "login-refused "}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("login events %v, want %v", got, want)
		}
		if r := page.Events[2].After(); r["login_name"] != "bob" || r["client_ip"] != "203.0.113.9" {
			t.Errorf("refused login details %v", r)
		}
		// Bob (no grant on events) sees nothing; the filter by text works.
		bobPage, err := s.ListChangeEvents(ctx, f.bob, models.ChangeLogFilter{}, 0)
		if err != nil || len(bobPage.Events) != 0 {
			t.Errorf("bob sees %d events (%v)", len(bobPage.Events), err)
		}
		if _, err := s.GetChangeEvent(ctx, f.bob, page.Events[0].ID); err == nil {
			t.Error("bob read an event")
		}
		text, err := s.ListChangeEvents(ctx, f.admin, models.ChangeLogFilter{Text: "DATABASES"}, 0)
		if err != nil || len(text.Events) == 0 || text.Events[0].ResourceName != "Databases" {
			t.Errorf("text filter: %v %+v", err, text)
		}
		var exported int
		err = s.ExportChangeEvents(ctx, f.admin, models.ChangeLogFilter{Action: "login"}, func(e *models.ChangeEvent) error {
			exported++
			if e.Action != "login" {
				t.Errorf("exported %s", e.Action)
			}
			return nil
		})
		if err != nil || exported < 3 { // admin, alice and bob logged in
			t.Errorf("exported %d logins (%v)", exported, err)
		}
	})
}
