package models_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
)

// changeStep is one call of a mutating use case and the change-log entry
// it must write.
type changeStep struct {
	name         string
	method       string // the Store method it covers
	call         func() (id string, err error)
	action, typ  string
	before       map[string]string // fields expected before ("" key absent: no values)
	after        map[string]string
	noBefore     bool
	noAfter      bool
	changedField string // a secret field that must read "changed" after
	// events is how many entries the step writes (0: one); the last one
	// is checked against the fields above.
	events int
	// system: the entry's actor is Gatehouse itself (models.SystemActor),
	// outside any request.
	system bool
	verify func(e models.ChangeEvent) error // more checks of the entry
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
		var last int64   // the newest entry already checked
		skip := func() { // entries written by a step's preparation are not its own
			if err := s.DB().Raw("SELECT COALESCE(max(seq), 0) FROM change_events").Scan(&last).Error; err != nil {
				t.Fatal(err)
			}
		}
		var tokenID, tokenSecret, ownSecret string
		secrets := []string{"SECRET-user-pw", "SECRET-oidc-client", "SECRET-cred-pw", "SECRET-cred-pw-2", "SECRET-lib-pw", "SECRET-lib-pw-2", "alice-password"}
		steps := []changeStep{
			{name: "create scope", method: "CreateScope", action: "create", typ: "scope", noBefore: true, after: map[string]string{"name": "Research"},
				call: func() (string, error) {
					sc, err := s.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: "Research"})
					if err == nil {
						scopeID = sc.ID
					}
					return scopeID, err
				}},
			{name: "update scope", method: "UpdateScope", action: "update", typ: "scope", before: map[string]string{"name": "Research"}, after: map[string]string{"name": "R&D"},
				call: func() (string, error) {
					_, err := s.UpdateScope(ctx, admin, scopeID, ver("scopes", scopeID), models.ScopeInput{Name: "R&D"})
					return scopeID, err
				}},
			{name: "create user", method: "CreateUser", action: "create", typ: "user", noBefore: true, after: map[string]string{"name": "carol"},
				call: func() (string, error) {
					u, err := s.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "carol", LoginName: "carol", Password: "SECRET-user-pw"})
					if err == nil {
						userID = u.ID
					}
					return userID, err
				}},
			{name: "update user", method: "UpdateUser", action: "update", typ: "user", before: map[string]string{"email": ""}, after: map[string]string{"email": "carol@example.com"},
				call: func() (string, error) {
					_, err := s.UpdateUser(ctx, admin, userID, ver("users", userID), models.UserInput{Name: "carol", Email: "carol@example.com"})
					return userID, err
				}},
			{name: "clear login lock", method: "ClearLoginLock", action: "clear-login-lock", typ: "account",
				before: map[string]string{"failed_attempts": "1", "login_name": ""}, after: map[string]string{"failed_attempts": "0"},
				call: func() (string, error) {
					if _, err := s.AuthenticatePassword(ctx, models.PasswordLogin{AuthMethodID: f.methodID, LoginName: "carol", Password: "wrong"}); err == nil {
						t.Fatal("a wrong password logged in")
					}
					skip() // the refused login's own entry
					var acct string
					if err := s.DB().Raw("SELECT id FROM accounts WHERE user_id = ?", userID).Scan(&acct).Error; err != nil {
						return "", err
					}
					return acct, s.ClearLoginLock(ctx, admin, acct)
				}},
			{name: "create api token", method: "CreateAPIToken", action: "create", typ: "api-token", noBefore: true,
				after: map[string]string{"name": "ci", "kind": "personal"}, changedField: "token_hash",
				call: func() (string, error) {
					tok, err := s.CreateAPIToken(ctx, admin, models.APITokenInput{Name: "ci", ExpiresAt: f.clock.Now().Add(48 * time.Hour)})
					if err == nil {
						tokenID, tokenSecret = tok.ID, tok.Token
					}
					return tokenID, err
				}},
			{name: "revoke api token", method: "RevokeAPIToken", action: "delete", typ: "api-token", before: map[string]string{"name": "ci"}, noAfter: true,
				call: func() (string, error) { return tokenID, s.RevokeAPIToken(ctx, admin, tokenID) }},
			{name: "revoke own api token (gatehouse logout)", method: "RevokeOwnAPIToken", action: "delete", typ: "api-token",
				before: map[string]string{"name": "laptop"}, noAfter: true,
				call: func() (string, error) {
					tok, err := s.CreateAPIToken(ctx, admin, models.APITokenInput{Name: "laptop", ExpiresAt: f.clock.Now().Add(48 * time.Hour)})
					if err != nil {
						return "", err
					}
					skip() // its creation's entry
					ownSecret = tok.Token
					return tok.ID, s.RevokeOwnAPIToken(ctx, admin, tok.Token)
				}},
			{name: "create group", method: "CreateGroup", action: "create", typ: "group", noBefore: true, after: map[string]string{"name": "SRE", "members": "[]"},
				call: func() (string, error) {
					g, err := s.CreateGroup(ctx, admin, models.GlobalScopeID, models.GroupInput{Name: "SRE"})
					if err == nil {
						groupID = g.ID
					}
					return groupID, err
				}},
			{name: "update group", method: "UpdateGroup", action: "update", typ: "group", before: map[string]string{"description": ""}, after: map[string]string{"description": "on call"},
				call: func() (string, error) {
					_, err := s.UpdateGroup(ctx, admin, groupID, ver("groups", groupID), models.GroupInput{Name: "SRE", Description: "on call"})
					return groupID, err
				}},
			{name: "add group members", method: "AddGroupMembers", action: "add-members", typ: "group", before: map[string]string{"members": "[]"},
				call:  func() (string, error) { return groupID, s.AddGroupMembers(ctx, admin, groupID, []string{userID}) },
				after: map[string]string{"members": "[\"USER\"]"}},
			{name: "remove group members", method: "RemoveGroupMembers", action: "remove-members", typ: "group", after: map[string]string{"members": "[]"},
				call:   func() (string, error) { return groupID, s.RemoveGroupMembers(ctx, admin, groupID, []string{userID}) },
				before: map[string]string{"members": "[\"USER\"]"}},
			{name: "create role", method: "CreateRole", action: "create", typ: "role", noBefore: true, after: map[string]string{"name": "Auditors", "grants": "[]"},
				call: func() (string, error) {
					r, err := s.CreateRole(ctx, admin, models.GlobalScopeID, models.RoleInput{Name: "Auditors"})
					if err == nil {
						roleID = r.ID
					}
					return roleID, err
				}},
			{name: "update role", method: "UpdateRole", action: "update", typ: "role", before: map[string]string{"name": "Auditors"}, after: map[string]string{"name": "Readers"},
				call: func() (string, error) {
					_, err := s.UpdateRole(ctx, admin, roleID, ver("roles", roleID), models.RoleInput{Name: "Readers"})
					return roleID, err
				}},
			{name: "set role grants", method: "SetRoleGrants", action: "set-grants", typ: "role", before: map[string]string{"grants": "[]"},
				after: map[string]string{"grants": `["ids=*;type=event;actions=list"]`},
				call: func() (string, error) {
					return roleID, s.SetRoleGrants(ctx, admin, roleID, ver("roles", roleID), []string{"ids=*;type=event;actions=list"})
				}},
			{name: "set role grant scopes", method: "SetRoleGrantScopes", action: "set-grant-scopes", typ: "role", before: map[string]string{"grant_scopes": `["this"]`},
				after: map[string]string{"grant_scopes": `["descendants","this"]`},
				call: func() (string, error) {
					return roleID, s.SetRoleGrantScopes(ctx, admin, roleID, ver("roles", roleID), []string{"this", "descendants"})
				}},
			{name: "add role principals", method: "AddRolePrincipals", action: "add-principals", typ: "role", before: map[string]string{"principals": "[]"},
				after: map[string]string{"principals": `["GROUP"]`},
				call:  func() (string, error) { return roleID, s.AddRolePrincipals(ctx, admin, roleID, []string{groupID}) }},
			{name: "remove role principals", method: "RemoveRolePrincipals", action: "remove-principals", typ: "role", before: map[string]string{"principals": `["GROUP"]`},
				after: map[string]string{"principals": "[]"},
				call:  func() (string, error) { return roleID, s.RemoveRolePrincipals(ctx, admin, roleID, []string{groupID}) }},
			{name: "create host catalog", method: "CreateHostCatalog", action: "create", typ: "host-catalog", noBefore: true, after: map[string]string{"name": "Lab"},
				call: func() (string, error) {
					c, err := s.CreateHostCatalog(ctx, admin, f.project, models.HostCatalogInput{Name: "Lab"})
					if err == nil {
						catID = c.ID
					}
					return catID, err
				}},
			{name: "update host catalog", method: "UpdateHostCatalog", action: "update", typ: "host-catalog", before: map[string]string{"name": "Lab"}, after: map[string]string{"name": "Lab 2"},
				call: func() (string, error) {
					_, err := s.UpdateHostCatalog(ctx, admin, catID, ver("host_catalogs", catID), models.HostCatalogInput{Name: "Lab 2"})
					return catID, err
				}},
			{name: "create host", method: "CreateHost", action: "create", typ: "host", noBefore: true, after: map[string]string{"address": "10.9.0.1"},
				call: func() (string, error) {
					h, err := s.CreateHost(ctx, admin, catID, models.HostInput{Name: "lab-1", Address: "10.9.0.1"})
					if err == nil {
						hostID = h.ID
					}
					return hostID, err
				}},
			{name: "update host", method: "UpdateHost", action: "update", typ: "host", before: map[string]string{"address": "10.9.0.1"}, after: map[string]string{"address": "10.9.0.2"},
				call: func() (string, error) {
					_, err := s.UpdateHost(ctx, admin, hostID, ver("hosts", hostID), models.HostInput{Name: "lab-1", Address: "10.9.0.2"})
					return hostID, err
				}},
			{name: "create host set", method: "CreateHostSet", action: "create", typ: "host-set", noBefore: true, after: map[string]string{"name": "All lab", "hosts": "[]"},
				call: func() (string, error) {
					hs, err := s.CreateHostSet(ctx, admin, catID, models.HostSetInput{Name: "All lab"}, nil)
					if err == nil {
						setID = hs.ID
					}
					return setID, err
				}},
			{name: "update host set", method: "UpdateHostSet", action: "update", typ: "host-set", before: map[string]string{"name": "All lab"}, after: map[string]string{"name": "Lab hosts"},
				call: func() (string, error) {
					_, err := s.UpdateHostSet(ctx, admin, setID, ver("host_sets", setID), models.HostSetInput{Name: "Lab hosts"})
					return setID, err
				}},
			{name: "add host set members", method: "AddHostSetMembers", action: "add-hosts", typ: "host-set", before: map[string]string{"hosts": "[]"}, after: map[string]string{"hosts": `["HOST"]`},
				call: func() (string, error) { return setID, s.AddHostSetMembers(ctx, admin, setID, []string{hostID}) }},
			{name: "create target", method: "CreateTarget", action: "create", typ: "target", noBefore: true, after: map[string]string{"name": "lab ssh"},
				call: func() (string, error) {
					tg, err := s.CreateTarget(ctx, admin, f.project, models.TargetInput{Name: "lab ssh", DefaultPort: 22, SessionMaxSeconds: 3600, SessionConnectionLimit: -1})
					if err == nil {
						targetID = tg.ID
					}
					return targetID, err
				}},
			{name: "update target", method: "UpdateTarget", action: "update", typ: "target", before: map[string]string{"default_port": "22"}, after: map[string]string{"default_port": "2222"},
				call: func() (string, error) {
					_, err := s.UpdateTarget(ctx, admin, targetID, ver("targets", targetID), models.TargetInput{Name: "lab ssh", DefaultPort: 2222, SessionMaxSeconds: 3600, SessionConnectionLimit: -1})
					return targetID, err
				}},
			{name: "update target access settings", method: "UpdateTargetAccessSettings", action: "update-access-settings", typ: "target",
				before: map[string]string{"access_request_max_seconds": "28800", "access_approvals_required": "1", "default_port": "2222"},
				after:  map[string]string{"access_request_max_seconds": "3600", "access_approvals_required": "2", "default_port": "2222"},
				call: func() (string, error) {
					_, err := s.UpdateTargetAccessSettings(ctx, admin, targetID, models.AccessSettingsInput{RequestMax: "1h", ApprovalsRequired: "2", RequestTTL: "24h", ExtensionMax: "0"})
					return targetID, err
				}},
			{name: "create guided target (address)", method: "CreateGuidedTarget", action: "create", typ: "target", noBefore: true,
				after: map[string]string{"name": "lab web", "address": "10.9.2.1"},
				call: func() (string, error) {
					tg, err := s.CreateGuidedTarget(ctx, admin, f.project, models.GuidedTargetInput{Target: models.TargetInput{Name: "lab web",
						Address: "10.9.2.1", DefaultPort: 80, SessionMaxSeconds: 3600, SessionConnectionLimit: -1}})
					if err != nil {
						return "", err
					}
					return tg.ID, nil
				}},
			// With hosts: one entry per resource made (target, catalog, host,
			// host set), then the set attached to the target.
			{name: "create guided target (hosts)", method: "CreateGuidedTarget", action: "add-host-sources", typ: "target", events: 5,
				before: map[string]string{"host_sources": "[]"},
				call: func() (string, error) {
					tg, err := s.CreateGuidedTarget(ctx, admin, f.project, models.GuidedTargetInput{Target: models.TargetInput{Name: "lab db",
						DefaultPort: 5432, SessionMaxSeconds: 3600, SessionConnectionLimit: -1}, Hosts: "lab-db-1 10.9.3.1"})
					if err != nil {
						return "", err
					}
					return tg.ID, nil
				}},
			{name: "add target host sources", method: "AddTargetHostSources", action: "add-host-sources", typ: "target", before: map[string]string{"host_sources": "[]"}, after: map[string]string{"host_sources": `["SET"]`},
				call: func() (string, error) { return targetID, s.AddTargetHostSources(ctx, admin, targetID, []string{setID}) }},
			{name: "create credential store", method: "CreateCredentialStore", action: "create", typ: "credential-store", noBefore: true, after: map[string]string{"name": "Lab vault"},
				call: func() (string, error) {
					cs, err := s.CreateCredentialStore(ctx, admin, f.project, models.CredentialStoreInput{Name: "Lab vault"})
					if err == nil {
						storeID = cs.ID
					}
					return storeID, err
				}},
			{name: "update credential store", method: "UpdateCredentialStore", action: "update", typ: "credential-store", before: map[string]string{"name": "Lab vault"}, after: map[string]string{"name": "Lab secrets"},
				call: func() (string, error) {
					_, err := s.UpdateCredentialStore(ctx, admin, storeID, ver("credential_stores", storeID), models.CredentialStoreInput{Name: "Lab secrets"})
					return storeID, err
				}},
			{name: "create credential", method: "CreateCredential", action: "create", typ: "credential", noBefore: true, after: map[string]string{"username": "root"}, changedField: "secret",
				call: func() (string, error) {
					c, err := s.CreateCredential(ctx, admin, storeID, models.CredentialInput{Type: "username_password", Name: "lab root", Username: "root", Password: "SECRET-cred-pw"})
					if err == nil {
						credID = c.ID
					}
					return credID, err
				}},
			{name: "update credential secret", method: "UpdateCredential", action: "update", typ: "credential", before: map[string]string{"username": "root"}, after: map[string]string{"username": "admin"}, changedField: "secret",
				call: func() (string, error) {
					_, err := s.UpdateCredential(ctx, admin, credID, ver("credentials", credID), models.CredentialInput{Type: "username_password", Name: "lab root", Username: "admin", Password: "SECRET-cred-pw-2"})
					return credID, err
				}},
			{name: "create credential library", method: "CreateCredentialLibrary", action: "create", typ: "credential-library", noBefore: true, after: map[string]string{"name": "Lab roles", "type": "postgres"}, changedField: "secret",
				call: func() (string, error) {
					l, err := s.CreateCredentialLibrary(ctx, admin, storeID, libraryInput("Lab roles", "SECRET-lib-pw"))
					if err == nil {
						libID = l.ID
					}
					return libID, err
				}},
			{name: "update credential library secret", method: "UpdateCredentialLibrary", action: "update", typ: "credential-library", before: map[string]string{"name": "Lab roles"}, after: map[string]string{"name": "Lab DB roles"}, changedField: "secret",
				call: func() (string, error) {
					_, err := s.UpdateCredentialLibrary(ctx, admin, libID, ver("credential_libraries", libID), libraryInput("Lab DB roles", "SECRET-lib-pw-2"))
					return libID, err
				}},
			{name: "add target library sources", method: "AddTargetLibrarySources", action: "add-credential-sources", typ: "target",
				before: map[string]string{"library_sources": "[]"}, after: map[string]string{"library_sources": `["LIB"]`},
				call: func() (string, error) {
					return targetID, s.AddTargetLibrarySources(ctx, admin, targetID, []string{libID})
				}},
			{name: "remove target library source", method: "RemoveTargetLibrarySource", action: "remove-credential-sources", typ: "target",
				before: map[string]string{"library_sources": `["LIB"]`}, after: map[string]string{"library_sources": "[]"},
				call: func() (string, error) { return targetID, s.RemoveTargetLibrarySource(ctx, admin, targetID, libID) }},
			{name: "delete credential library", method: "DeleteCredentialLibrary", action: "delete", typ: "credential-library", before: map[string]string{"name": "Lab DB roles"}, noAfter: true,
				call: func() (string, error) { return libID, s.DeleteCredentialLibrary(ctx, admin, libID) }},
			{name: "add target credential sources", method: "AddTargetCredentialSources", action: "add-credential-sources", typ: "target", before: map[string]string{"credential_sources": "[]"}, after: map[string]string{"credential_sources": `["CRED"]`},
				call: func() (string, error) {
					return targetID, s.AddTargetCredentialSources(ctx, admin, targetID, []string{credID})
				}},
			{name: "remove target credential source", method: "RemoveTargetCredentialSource", action: "remove-credential-sources", typ: "target", before: map[string]string{"credential_sources": `["CRED"]`}, after: map[string]string{"credential_sources": "[]"},
				call: func() (string, error) { return targetID, s.RemoveTargetCredentialSource(ctx, admin, targetID, credID) }},
			{name: "remove target host source", method: "RemoveTargetHostSource", action: "remove-host-sources", typ: "target", before: map[string]string{"host_sources": `["SET"]`}, after: map[string]string{"host_sources": "[]"},
				call: func() (string, error) { return targetID, s.RemoveTargetHostSource(ctx, admin, targetID, setID) }},
			{name: "remove host set member", method: "RemoveHostSetMember", action: "remove-hosts", typ: "host-set", before: map[string]string{"hosts": `["HOST"]`}, after: map[string]string{"hosts": "[]"},
				call: func() (string, error) { return setID, s.RemoveHostSetMember(ctx, admin, setID, hostID) }},
			{name: "create oidc method", method: "CreateOIDCMethod", action: "create", typ: "auth-method", noBefore: true, after: map[string]string{"name": "Corp SSO", "client_id": "gatehouse"}, changedField: "client_secret",
				call: func() (string, error) {
					in := validOIDC("Corp SSO")
					in.ClientSecret = "SECRET-oidc-client"
					m, err := s.CreateOIDCMethod(ctx, admin, models.GlobalScopeID, in)
					if err == nil {
						methodID = m.ID
					}
					return methodID, err
				}},
			{name: "update oidc method", method: "UpdateOIDCMethod", action: "update", typ: "auth-method", before: map[string]string{"client_id": "gatehouse"}, after: map[string]string{"client_id": "gatehouse-2"},
				call: func() (string, error) {
					in := validOIDC("Corp SSO")
					in.ClientID, in.ClientSecret = "gatehouse-2", ""
					_, err := s.UpdateOIDCMethod(ctx, admin, methodID, ver("auth_methods", methodID), in)
					return methodID, err
				}},
			{name: "change auth method state", method: "ChangeAuthMethodState", action: "change-state", typ: "auth-method", before: map[string]string{"state": "inactive"}, after: map[string]string{"state": "active-private"},
				call: func() (string, error) {
					return methodID, s.ChangeAuthMethodState(ctx, admin, methodID, ver("auth_methods", methodID), models.StateActivePrivate)
				}},
			{name: "create managed group", method: "CreateManagedGroup", action: "create", typ: "managed-group", noBefore: true, after: map[string]string{"name": "Ops"},
				call: func() (string, error) {
					g, err := s.CreateManagedGroup(ctx, admin, methodID, models.ManagedGroupInput{Name: "Ops", Filter: `"ops" in "/token/groups"`})
					if err == nil {
						mgID = g.ID
					}
					return mgID, err
				}},
			{name: "update managed group", method: "UpdateManagedGroup", action: "update", typ: "managed-group", before: map[string]string{"name": "Ops"}, after: map[string]string{"name": "Operations"},
				call: func() (string, error) {
					return mgID, s.UpdateManagedGroup(ctx, admin, mgID, ver("managed_groups", mgID), models.ManagedGroupInput{Name: "Operations", Filter: `"ops" in "/token/groups"`})
				}},
			{name: "cancel session", method: "CancelSession", action: "cancel", typ: "session", before: map[string]string{"state": "pending"}, after: map[string]string{"state": "terminated"},
				call: func() (string, error) {
					st := f.start(t)
					_, err := s.CancelSession(ctx, admin, st.Session.ID)
					return st.Session.ID, err
				}},
			{name: "retry revocation", method: "RetryRevocation", action: "retry-revocation", typ: "session",
				before: map[string]string{"credential_id": "cred_lib_1", "state": "failed", "attempts": "3"},
				after:  map[string]string{"credential_id": "cred_lib_1", "state": "failed", "attempts": "3"},
				call: func() (string, error) {
					st := f.start(t)
					now := f.clock.Now()
					// A revocation that failed three times (as the revocation
					// worker leaves one), due in an hour.
					if err := s.DB().Exec(`INSERT INTO credential_revocations (session_id, credential_id, purpose, library_id, library_type,
						subject, state, attempts, last_error, created_at, next_attempt_at) VALUES (?, 'cred_lib_1', 'role', 'cl_x', 'postgres',
						'gh_role', 'failed', 3, 'Cannot reach the server', ?, ?)`, st.Session.ID, now, now.Add(time.Hour)).Error; err != nil {
						return "", err
					}
					return st.Session.ID, s.RetryRevocation(ctx, admin, st.Session.ID, "cred_lib_1")
				}},
			{name: "create webhook", method: "CreateWebhook", action: "create", typ: "webhook", noBefore: true, after: map[string]string{"name": "Audit sink", "url": "https://sink.example.com/x"}, changedField: "secret",
				call: func() (string, error) {
					w, secret, err := s.CreateWebhook(ctx, admin, models.WebhookInput{Name: "Audit sink", URL: "https://sink.example.com/x", EventTypes: []string{"change.*"}})
					if err == nil {
						hookID, hookSecret = w.ID, secret
					}
					return hookID, err
				}},
			{name: "update webhook", method: "UpdateWebhook", action: "update", typ: "webhook", before: map[string]string{"event_types": "change.*"}, after: map[string]string{"event_types": "change.* session.*"},
				call: func() (string, error) {
					return hookID, s.UpdateWebhook(ctx, admin, hookID, ver("webhook_endpoints", hookID), models.WebhookInput{Name: "Audit sink", URL: "https://sink.example.com/x", EventTypes: []string{"change.*", "session.*"}, Enabled: true})
				}},
			{name: "redeliver webhook", method: "RedeliverWebhook", action: "redeliver", typ: "webhook", noBefore: true,
				after: map[string]string{"event_type": "change.webhook"},
				call: func() (string, error) {
					jobs, err := s.ClaimWebhookDeliveries(ctx, 100, time.Minute)
					if err != nil || len(jobs) == 0 {
						return "", fmt.Errorf("claim: %d jobs, %v", len(jobs), err)
					}
					if err := s.FinishWebhookDelivery(ctx, &jobs[0], models.WebhookAttempt{OK: true, Status: 204}); err != nil {
						return "", err
					}
					page, err := s.ListWebhookDeliveries(ctx, admin, hookID, 0)
					if err != nil || len(page.Items) == 0 {
						return "", fmt.Errorf("delivery log: %v, %v", page, err)
					}
					return hookID, s.RedeliverWebhook(ctx, admin, hookID, page.Items[0].ID)
				}},
			// An endpoint failing for three days is disabled by Gatehouse.
			{name: "disable failing webhook", method: "", action: "disable", typ: "webhook", system: true,
				before: map[string]string{"disabled_reason": ""},
				call: func() (string, error) {
					fail := func() error {
						f.clock.Add(2 * time.Minute) // past the leases of the claims above
						jobs, err := s.ClaimWebhookDeliveries(context.Background(), 100, time.Minute)
						if err != nil || len(jobs) == 0 {
							return fmt.Errorf("claim: %d jobs, %v", len(jobs), err)
						}
						attempts := make([]models.WebhookAttempt, len(jobs))
						for i := range attempts {
							attempts[i] = models.WebhookAttempt{Status: 500, Error: "HTTP 500"}
						}
						return s.FinishWebhookDeliveries(context.Background(), jobs, attempts)
					}
					if err := fail(); err != nil {
						return "", err
					}
					f.clock.Add(73 * time.Hour)
					return hookID, fail()
				},
				verify: func(e models.ChangeEvent) error {
					if r, _ := e.After()["disabled_reason"].(string); !strings.HasPrefix(r, "Disabled automatically") {
						return fmt.Errorf("after: disabled_reason %q", r)
					}
					if on := fmt.Sprint(e.After()["enabled"]); on != "false" && on != "0" {
						return fmt.Errorf("after: enabled %s", on)
					}
					return nil
				}},
			{name: "delete webhook", method: "DeleteWebhook", action: "delete", typ: "webhook", before: map[string]string{"name": "Audit sink"}, noAfter: true,
				call: func() (string, error) { return hookID, s.DeleteWebhook(ctx, admin, hookID) }},
			{name: "delete managed group", method: "DeleteManagedGroup", action: "delete", typ: "managed-group", before: map[string]string{"name": "Operations"}, noAfter: true,
				call: func() (string, error) { return mgID, s.DeleteManagedGroup(ctx, admin, mgID) }},
			{name: "delete auth method", method: "DeleteAuthMethod", action: "delete", typ: "auth-method", before: map[string]string{"name": "Corp SSO"}, noAfter: true,
				call: func() (string, error) { return methodID, s.DeleteAuthMethod(ctx, admin, methodID) }},
			{name: "delete credential", method: "DeleteCredential", action: "delete", typ: "credential", before: map[string]string{"username": "admin"}, noAfter: true,
				call: func() (string, error) { return credID, s.DeleteCredential(ctx, admin, credID) }},
			{name: "delete credential store", method: "DeleteCredentialStore", action: "delete", typ: "credential-store", before: map[string]string{"name": "Lab secrets"}, noAfter: true,
				call: func() (string, error) { return storeID, s.DeleteCredentialStore(ctx, admin, storeID) }},
			{name: "delete target", method: "DeleteTarget", action: "delete", typ: "target", before: map[string]string{"name": "lab ssh"}, noAfter: true,
				call: func() (string, error) { return targetID, s.DeleteTarget(ctx, admin, targetID) }},
			{name: "delete host set", method: "DeleteHostSet", action: "delete", typ: "host-set", before: map[string]string{"name": "Lab hosts"}, noAfter: true,
				call: func() (string, error) { return setID, s.DeleteHostSet(ctx, admin, setID) }},
			{name: "delete host", method: "DeleteHost", action: "delete", typ: "host", before: map[string]string{"address": "10.9.0.2"}, noAfter: true,
				call: func() (string, error) { return hostID, s.DeleteHost(ctx, admin, hostID) }},
			{name: "delete host catalog", method: "DeleteHostCatalog", action: "delete", typ: "host-catalog", before: map[string]string{"name": "Lab 2"}, noAfter: true,
				call: func() (string, error) { return catID, s.DeleteHostCatalog(ctx, admin, catID) }},
			{name: "delete role", method: "DeleteRole", action: "delete", typ: "role", before: map[string]string{"name": "Readers"}, noAfter: true,
				call: func() (string, error) { return roleID, s.DeleteRole(ctx, admin, roleID) }},
			{name: "delete group", method: "DeleteGroup", action: "delete", typ: "group", before: map[string]string{"name": "SRE"}, noAfter: true,
				call: func() (string, error) { return groupID, s.DeleteGroup(ctx, admin, groupID) }},
			{name: "delete account", method: "DeleteAccount", action: "delete", typ: "account", before: map[string]string{"login_name": "carol"}, noAfter: true,
				call: func() (string, error) {
					var acct string
					if err := s.DB().Raw("SELECT id FROM accounts WHERE user_id = ?", userID).Scan(&acct).Error; err != nil {
						return "", err
					}
					return acct, s.DeleteAccount(ctx, admin, acct)
				}},
			{name: "delete user", method: "DeleteUser", action: "delete", typ: "user", before: map[string]string{"name": "carol"}, noAfter: true,
				call: func() (string, error) { return userID, s.DeleteUser(ctx, admin, userID) }},
			{name: "delete scope", method: "DeleteScope", action: "delete", typ: "scope", before: map[string]string{"name": "R&D"}, noAfter: true,
				call: func() (string, error) { return scopeID, s.DeleteScope(ctx, admin, scopeID) }},
		}
		skip()
		covered := map[string]bool{}
		for _, st := range steps {
			covered[st.method] = true
			id, err := st.call()
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			var evs []models.ChangeEvent
			if err := s.DB().Raw("SELECT * FROM change_events WHERE seq > ? ORDER BY seq", last).Scan(&evs).Error; err != nil {
				t.Fatal(err)
			}
			if want := max(st.events, 1); len(evs) != want {
				t.Fatalf("%s: %d change events, want %d: %+v", st.name, len(evs), want, evs)
			}
			for _, e := range evs {
				switch {
				case st.system:
					if e.ActorID != "" || e.LoginID != "" || e.ActorName != "system" || e.ClientIP != "" || e.RequestID != "" {
						t.Errorf("%s: actor %q %q %q, ip %q, request %q, want the system", st.name, e.ActorID, e.ActorName, e.LoginID, e.ClientIP, e.RequestID)
					}
				case e.ActorID != admin.UserID || e.LoginID != admin.LoginID || e.ActorName == "" || e.ClientIP != "198.51.100.7" || e.RequestID != "req-42":
					t.Errorf("%s: actor %q %q %q, ip %q, request %q", st.name, e.ActorID, e.ActorName, e.LoginID, e.ClientIP, e.RequestID)
				}
				if e.ScopeID == "" || e.ResourceName == "" {
					t.Errorf("%s: scope %q name %q", st.name, e.ScopeID, e.ResourceName)
				}
			}
			e := evs[len(evs)-1]
			last = e.Seq
			if e.Action != st.action || e.ResourceType != st.typ || e.ResourceID != id {
				t.Errorf("%s: event %s %s %s, want %s %s %s", st.name, e.Action, e.ResourceType, e.ResourceID, st.action, st.typ, id)
			}
			if st.verify != nil {
				if err := st.verify(e); err != nil {
					t.Errorf("%s: %v", st.name, err)
				}
			}
			subst := strings.NewReplacer("USER", userID, "GROUP", groupID, "HOST", hostID, "SET", setID, "CRED", credID, "LIB", libID)
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
		// The table is complete: every exported Store method whose name says
		// it changes something is a step above or excluded, with the reason.
		mutating := 0
		for i := range reflect.TypeFor[*models.Store]().NumMethod() {
			m := reflect.TypeFor[*models.Store]().Method(i).Name
			if !mutatingName(m) {
				continue
			}
			mutating++
			reason, excluded := changeLogExclusions[m]
			switch {
			case covered[m] && excluded:
				t.Errorf("%s is in the table and excluded (%s)", m, reason)
			case !covered[m] && !excluded:
				t.Errorf("%s changes something but has no step in TestChangeLogEveryUseCase (add one, or exclude it with the reason)", m)
			}
		}
		if mutating < len(covered)+len(changeLogExclusions)-1 { // (covered holds "" for the system's step)
			t.Errorf("the Store shows %d mutating methods; the table and exclusions name %d", mutating, len(covered)+len(changeLogExclusions)-1)
		}
		for m := range changeLogExclusions {
			if _, ok := reflect.TypeFor[*models.Store]().MethodByName(m); !ok {
				t.Errorf("changeLogExclusions names %s, which the Store does not have", m)
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
		secrets = append(secrets, hookSecret, tokenSecret, ownSecret)
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

// mutatingName tells whether a Store method's name says it changes
// something (the verbs of the use cases).
func mutatingName(m string) bool {
	for _, verb := range []string{"Create", "Update", "Delete", "Add", "Remove", "Set", "Clear", "Retry", "Change",
		"Cancel", "Revoke", "Redeliver", "Rewrap", "Decide", "Request", "Extend", "Shorten", "Close", "Exchange",
		"Password", "Start", "Rotate", "Enable", "Disable", "Rename", "Move", "Import", "Reset"} {
		if strings.HasPrefix(m, verb) {
			return true
		}
	}
	return false
}

// changeLogExclusions are the mutating Store methods with no step in
// TestChangeLogEveryUseCase, and why.
var changeLogExclusions = map[string]string{
	// A test hook (export_test.go): StartSession's use case, run in a
	// grouped transaction; sessions are not administration of a resource.
	"StartGroupedForTest": "session history (a test hook)",
	// The access workflow (issue 15) keeps its own never-deleted history
	// (warehouse_access_events: the access history page, its filters and
	// export) and sends access.* and session.extended webhooks; it is not
	// administration of a resource (docs/access-requests.md, "Access
	// history and the change log").
	"RequestAccess":       "access history",
	"DecideAccessRequest": "access history",
	"CancelAccessRequest": "access history",
	"RevokeAccessGrant":   "access history",
	"ExtendSession":       "access history",
	"ShortenSession":      "access history",
	// A session's life is the session history (the warehouse): started,
	// connections, ended by its user; an administrator's cancel is a step.
	"StartSession":          "session history",
	"CloseSessionByEndUser": "session history",
	// Helpers run inside another use case's transaction (a deletion, a
	// removal): that use case's entry records the change.
	"CancelSessionsOf":        "inside a recorded use case",
	"CancelSessionsOfRemoval": "inside a recorded use case",
	// Logins are entries too, but their actor is the person logging in:
	// TestCLILoginEvents and TestLoginEventsAndReadAccess check them.
	"PasswordAPIToken":     "login: TestCLILoginEvents",
	"ExchangeCLILoginCode": "login: TestCLILoginEvents",
	// The browser half of a CLI login: the login is recorded when the code
	// is exchanged (ExchangeCLILoginCode).
	"CreateCLILoginCode": "recorded at the exchange",
	// Root key rotation by the operator: every secret is re-encrypted, no
	// value changes (docs/root-key-rotation.md).
	"RewrapCredentialSecrets": "changes no value",
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
