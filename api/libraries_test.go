package api_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestCredentialLibrariesThroughTheAPI: both kinds are created with the
// web form's defaults, read back with their settings and never their
// secrets; an SSH library shows its CA key and the sshd lines; lists page
// with totals and search; a PATCH without password keeps it; store and type
// never change.
func TestCredentialLibrariesThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		w := newWorld(t, h)
		store := w.infra.StoreID
		pg := h.call(h.adminTok, http.MethodPost, "/credential-libraries", map[string]any{"store_id": store, "type": "postgres",
			"name": "app roles", "url": "postgres://admin@db.example.com:5432/app", "password": "pg-admin-secret", "grant_roles": []string{"app_read", "app_write"}})
		want(t, "create postgres", pg, http.StatusCreated)
		var lib map[string]any
		_ = json.Unmarshal(pg.body, &lib)
		pgID, _ := lib["id"].(string)
		if !strings.HasPrefix(pgID, models.PrefixLibraryPostgres+"_") || lib["type"] != "postgres" || lib["store_id"] != store || lib["scope_id"] != w.infra.ProjectID ||
			lib["url"] != "postgres://admin@db.example.com:5432/app" || lib["username_template"] != models.DefaultUsernameTemplate ||
			lib["creation_statements"] != models.DefaultCreationStatements || lib["revocation_statements"] != models.DefaultRevocationStatements {
			t.Errorf("postgres library %s", pg.body)
		}
		if roles, _ := lib["grant_roles"].([]any); len(roles) != 2 || roles[0] != "app_read" || roles[1] != "app_write" {
			t.Errorf("grant roles %v", lib["grant_roles"])
		}
		for _, k := range []string{"password", "principals_template", "ca_public_key", "sshd_config"} {
			if _, ok := lib[k]; ok {
				t.Errorf("a postgres library shows %q", k)
			}
		}
		if strings.Contains(string(pg.body), "pg-admin-secret") {
			t.Error("the password came back")
		}

		ssh := h.call(h.adminTok, http.MethodPost, "/credential-libraries", map[string]any{"store_id": store, "type": "ssh_certificate", "name": "bastion"})
		want(t, "create ssh", ssh, http.StatusCreated)
		lib = ssh.json(t)
		sshID, _ := lib["id"].(string)
		key, _ := lib["ca_public_key"].(string)
		if !strings.HasPrefix(key, "ssh-ed25519 ") || lib["principals_template"] != models.DefaultPrincipalsTemplate || lib["clock_skew_seconds"] != float64(60) {
			t.Errorf("ssh library %s", ssh.body)
		}
		if ext, _ := lib["extensions"].([]any); len(ext) != 1 || ext[0] != "permit-pty" {
			t.Errorf("default extensions %v", lib["extensions"])
		}
		if lib["ca_public_key_url"] != "https://gatehouse.test/credential-libraries/"+sshID+"/ca.pub" ||
			lib["krl_url"] != "https://gatehouse.test/credential-libraries/"+sshID+"/krl" ||
			lib["sshd_config"] != "TrustedUserCAKeys /etc/ssh/gatehouse_"+sshID+".pub\nRevokedKeys /etc/ssh/gatehouse_"+sshID+".krl" {
			t.Errorf("ssh library's host setup: %s", ssh.body)
		}
		if stored, err := h.store.SSHCAPublicKey(t.Context(), sshID); err != nil || strings.TrimSpace(stored) != key {
			t.Errorf("CA key %q, stored %q (%v)", key, stored, err)
		}
		if strings.Contains(string(ssh.body), "PRIVATE KEY") || strings.Contains(string(ssh.body), "ca_private") {
			t.Error("the CA's private key came back")
		}

		// Lists: the world's two libraries and these two; pages and totals.
		page := h.call(h.adminTok, http.MethodGet, "/credential-libraries?store_id="+store+"&page_size=3", nil)
		want(t, "list", page, http.StatusOK)
		var lp struct {
			Items []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"items"`
			Total int    `json:"total"`
			Next  string `json:"next_page_token"`
		}
		_ = json.Unmarshal(page.body, &lp)
		if lp.Total != 4 || len(lp.Items) != 3 || lp.Next == "" || lp.Items[0].Name != "app roles" {
			t.Errorf("first page %s", page.body)
		}
		page = h.call(h.adminTok, http.MethodGet, "/credential-libraries?store_id="+store+"&page_size=3&page_token="+lp.Next, nil)
		lp.Next = ""
		_ = json.Unmarshal(page.body, &lp)
		if lp.Total != 4 || len(lp.Items) != 1 || lp.Next != "" {
			t.Errorf("second page %s", page.body)
		}
		page = h.call(h.adminTok, http.MethodGet, "/credential-libraries?store_id="+store+"&search=ssh_cert", nil)
		_ = json.Unmarshal(page.body, &lp)
		if lp.Total != 2 || len(lp.Items) != 2 {
			t.Errorf("search by type: %s", page.body)
		}
		want(t, "list without store", h.bad(h.adminTok, http.MethodGet, "/credential-libraries", nil), http.StatusBadRequest)
		want(t, "list of an unknown store", h.call(h.adminTok, http.MethodGet, "/credential-libraries?store_id=csst_nope", nil), http.StatusNotFound)

		// PATCH: settings change, the password stays (no change logged on
		// it), store and type are refused.
		upd := h.call(h.adminTok, http.MethodPatch, "/credential-libraries/"+pgID, map[string]any{"grant_roles": []string{"app_read"}, "username_template": "x_{{.User.Name}}"},
			"If-Match", pg.header.Get("ETag"))
		want(t, "update", upd, http.StatusOK)
		if m := upd.json(t); m["username_template"] != "x_{{.User.Name}}" || len(m["grant_roles"].([]any)) != 1 || m["version"] != float64(2) {
			t.Errorf("updated %s", upd.body)
		}
		var secretChanged int64
		h.store.DB().Raw("SELECT count(*) FROM change_events WHERE resource_id = ? AND action = 'update' AND after_json LIKE '%\"secret\"%'", pgID).Scan(&secretChanged)
		if secretChanged != 0 {
			t.Error("an update without password changed the stored one")
		}
		for _, k := range []string{"type", "store_id"} {
			a := h.bad(h.adminTok, http.MethodPatch, "/credential-libraries/"+pgID, map[string]any{k: "ssh_certificate"}, "If-Match", upd.header.Get("ETag"))
			want(t, "patch "+k, a, http.StatusBadRequest)
			if p := a.problem(t); p.Errors[k] == "" {
				t.Errorf("patch %s: %+v", k, p)
			}
		}
		a := h.call(h.adminTok, http.MethodPatch, "/credential-libraries/"+sshID, map[string]any{"extensions": []string{}, "clock_skew_seconds": 0},
			"If-Match", ssh.header.Get("ETag"))
		want(t, "update ssh", a, http.StatusOK)
		if m := a.json(t); m["clock_skew_seconds"] != float64(0) || m["extensions"] != nil {
			t.Errorf("ssh updated %s", a.body)
		}
	})
}

// TestCredentialLibraryBadInputThroughTheAPI: each kind's settings are
// checked by the Store's rules, answered 422 with the field named, and
// nothing is written.
func TestCredentialLibraryBadInputThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		w := newWorld(t, h)
		store := w.infra.StoreID
		pgBody := func(k string, v any) map[string]any {
			b := map[string]any{"store_id": store, "type": "postgres", "name": "bad", "url": "postgres://admin@db.example.com/app",
				"password": "pw", "grant_roles": []string{"app_read"}}
			b[k] = v
			return b
		}
		sshBody := func(k string, v any) map[string]any {
			b := map[string]any{"store_id": store, "type": "ssh_certificate", "name": "bad"}
			b[k] = v
			return b
		}
		before := h.count("credential_libraries")
		for _, c := range []struct {
			name, field string
			body        map[string]any
		}{
			{"password in the URL", "url", pgBody("url", "postgres://admin:pw@db.example.com/app")},
			{"not a postgres URL", "url", pgBody("url", "mysql://admin@db/app")},
			{"no password", "password", pgBody("password", "")},
			{"bad template", "username_template", pgBody("username_template", "{{.Nope}}")},
			{"bad grant role", "grant_roles", pgBody("grant_roles", []string{"drop table"})},
			{"no grant roles for the default statements", "grant_roles", pgBody("grant_roles", []string{})},
			{"statements without the role", "creation_statements", pgBody("creation_statements", "SELECT 1;")},
			{"unknown type", "type", pgBody("type", "vault")},
			{"unknown extension", "extensions", sshBody("extensions", []string{"permit-everything"})},
			{"clock skew too large", "clock_skew_seconds", sshBody("clock_skew_seconds", 601)},
			{"bad principals", "principals_template", sshBody("principals_template", "{{")},
		} {
			t.Run(c.name, func(t *testing.T) {
				a := h.bad(h.adminTok, http.MethodPost, "/credential-libraries", c.body)
				want(t, c.name, a, http.StatusUnprocessableEntity)
				if p := a.problem(t); p.Errors[c.field] == "" {
					t.Errorf("no message on %s: %+v", c.field, p)
				}
			})
		}
		a := h.bad(h.adminTok, http.MethodPost, "/credential-libraries", sshBody("clock_skew_seconds", "60"))
		want(t, "clock skew as a string", a, http.StatusBadRequest)
		if p := a.problem(t); p.Errors["clock_skew_seconds"] == "" {
			t.Errorf("wrong type not named: %+v", p)
		}
		if n := h.count("credential_libraries"); n != before {
			t.Errorf("bad input wrote %d libraries", n-before)
		}
		// An update is checked the same way, and nothing changes.
		got := h.call(h.adminTok, http.MethodGet, "/credential-libraries/"+w.pgLibrary, nil)
		a = h.call(h.adminTok, http.MethodPatch, "/credential-libraries/"+w.pgLibrary, map[string]any{"url": "postgres://admin:pw@db.example.com/app"},
			"If-Match", got.header.Get("ETag"))
		want(t, "update with a password in the URL", a, http.StatusUnprocessableEntity)
		if p := a.problem(t); p.Errors["url"] == "" {
			t.Errorf("update: %+v", p)
		}
		if m := h.call(h.adminTok, http.MethodGet, "/credential-libraries/"+w.pgLibrary, nil).json(t); m["version"] != float64(1) {
			t.Errorf("a refused update changed the library: %v", m)
		}
	})
}

// TestCredentialLibraryTestAndSourcesThroughTheAPI: the connection test
// connects to a real Postgres (ok, or what is wrong), is refused on an SSH
// library and to readers; libraries are attached to and detached from a
// target of their project, by who may.
func TestCredentialLibraryTestAndSourcesThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		w := newWorld(t, h)
		target := dbtest.NewPGTarget(t)
		good := h.call(h.adminTok, http.MethodPost, "/credential-libraries", map[string]any{"store_id": w.infra.StoreID, "type": "postgres",
			"name": "real", "url": target.URL, "password": "unused-trust", "grant_roles": []string{target.GrantRole}})
		want(t, "create", good, http.StatusCreated)
		goodID, _ := good.json(t)["id"].(string)
		res := h.call(h.adminTok, http.MethodPost, "/credential-libraries/"+goodID+"/test", nil)
		want(t, "test", res, http.StatusOK)
		if m := res.json(t); m["ok"] != true || m["problem"] != nil {
			t.Errorf("test of a working library: %s", res.body)
		}
		res = h.call(h.adminTok, http.MethodPost, "/credential-libraries/"+w.pgLibrary+"/test", nil) // db.example.com
		want(t, "test unreachable", res, http.StatusOK)
		if m := res.json(t); m["ok"] != false || m["problem"] == "" {
			t.Errorf("test of an unreachable library: %s", res.body)
		}
		a := h.call(h.adminTok, http.MethodPost, "/credential-libraries/"+w.sshLibrary+"/test", nil)
		want(t, "test ssh", a, http.StatusUnprocessableEntity)
		if p := a.problem(t); p.Errors["type"] == "" {
			t.Errorf("test ssh: %+v", p)
		}
		want(t, "test unknown", h.call(h.adminTok, http.MethodPost, "/credential-libraries/clpg_nope/test", nil), http.StatusNotFound)

		rita := h.user("rita")
		h.grant(w.infra.ProjectID, rita.UserID, "ids=*;type=credential-library;actions=list,read", "ids=*;type=target;actions=list,read")
		ritaTok := h.token(dbtest.Login(t, h.store, h.authID, "rita", "rita-password-1"))
		want(t, "reader tests", h.call(ritaTok, http.MethodPost, "/credential-libraries/"+goodID+"/test", nil), http.StatusForbidden)
		nobody := h.token(h.user("nobody"))
		want(t, "nobody tests", h.call(nobody, http.MethodPost, "/credential-libraries/"+goodID+"/test", nil), http.StatusNotFound)

		// Library sources of a target.
		tgt := "/targets/" + w.infra.TargetID
		a = h.call(h.adminTok, http.MethodPost, tgt+"/library-sources", map[string]any{"ids": []string{goodID, w.sshLibrary}})
		want(t, "attach", a, http.StatusOK)
		var td struct {
			LibrarySources []struct{ ID, Name, Type string } `json:"library_sources"`
		}
		_ = json.Unmarshal(a.body, &td)
		if len(td.LibrarySources) != 2 || td.LibrarySources[0].ID != goodID || td.LibrarySources[1].ID != w.sshLibrary || td.LibrarySources[1].Type != "ssh_certificate" {
			t.Errorf("attached %s", a.body)
		}
		before := h.count("target_library_sources")
		other := h.project("Other")
		foreign, err := h.store.CreateCredentialLibrary(t.Context(), h.admin, other.StoreID, pgLibraryInput("elsewhere"))
		if err != nil {
			t.Fatal(err)
		}
		a = h.call(h.adminTok, http.MethodPost, tgt+"/library-sources", map[string]any{"ids": []string{foreign.ID}})
		want(t, "attach another project's library", a, http.StatusUnprocessableEntity)
		if p := a.problem(t); p.Errors["ids"] == "" {
			t.Errorf("foreign library not named on ids: %+v", p)
		}
		want(t, "attach none", h.call(h.adminTok, http.MethodPost, tgt+"/library-sources", map[string]any{"ids": []string{}}), http.StatusUnprocessableEntity)
		want(t, "reader attaches", h.call(ritaTok, http.MethodPost, tgt+"/library-sources", map[string]any{"ids": []string{w.pgLibrary}}), http.StatusForbidden)
		want(t, "reader detaches", h.call(ritaTok, http.MethodDelete, tgt+"/library-sources/"+goodID, nil), http.StatusForbidden)
		if n := h.count("target_library_sources"); n != before {
			t.Errorf("refused attachments wrote %d rows", n-before)
		}
		a = h.call(h.adminTok, http.MethodDelete, tgt+"/library-sources/"+w.sshLibrary, nil)
		want(t, "detach", a, http.StatusOK)
		td.LibrarySources = nil
		_ = json.Unmarshal(a.body, &td)
		if len(td.LibrarySources) != 1 || td.LibrarySources[0].ID != goodID {
			t.Errorf("after detaching %s", a.body)
		}
		want(t, "detach again", h.call(h.adminTok, http.MethodDelete, tgt+"/library-sources/"+w.sshLibrary, nil), http.StatusNotFound)
	})
}

// TestSSHCertificatesThroughTheAPI: a session on a target with an SSH
// certificate library brokers the credential (principals, no certificate
// yet); its user signs a public key through the API, as on the session
// page; a bad key is a field error, another user is refused.
func TestSSHCertificatesThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		w := newWorld(t, h)
		x := w.infra
		if err := h.store.AddTargetLibrarySources(t.Context(), h.admin, x.TargetID, []string{w.sshLibrary}); err != nil {
			t.Fatal(err)
		}
		alice, bob := h.user("alice"), h.user("bob")
		h.grant(x.ProjectID, alice.UserID, "ids=*;type=target;actions=list,read,authorize-session")
		at := h.token(dbtest.Login(t, h.store, h.authID, "alice", "alice-password-1"))
		auth := h.call(at, http.MethodPost, "/targets/"+x.TargetID+"/authorize-session", map[string]string{"host_id": x.HostID})
		want(t, "authorize", auth, http.StatusCreated)
		type cred struct {
			Type        string   `json:"type"`
			Principals  []string `json:"principals"`
			Certificate string   `json:"certificate"`
			ValidBefore string   `json:"valid_before"`
		}
		var started struct {
			Session     struct{ ID string }
			Credentials []cred
		}
		_ = json.Unmarshal(auth.body, &started)
		var sshCred *cred
		for i, c := range started.Credentials {
			if c.Type == models.CredentialSSHCertificate {
				sshCred = &started.Credentials[i]
			}
		}
		if sshCred == nil || len(sshCred.Principals) != 1 || sshCred.Principals[0] != "alice" || sshCred.Certificate != "" {
			t.Fatalf("authorized %s", auth.body)
		}
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		sshPub, err := ssh.NewPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
		path := "/sessions/" + started.Session.ID + "/ssh-key"
		a := h.call(at, http.MethodPost, path, map[string]string{"public_key": "not a key"})
		want(t, "bad key", a, http.StatusUnprocessableEntity)
		if p := a.problem(t); p.Errors["public_key"] == "" {
			t.Errorf("bad key: %+v", p)
		}
		want(t, "no body", h.bad(at, http.MethodPost, path, nil), http.StatusBadRequest)
		want(t, "bob signs", h.call(h.token(bob), http.MethodPost, path, map[string]string{"public_key": key}), http.StatusNotFound)
		a = h.call(at, http.MethodPost, path, map[string]string{"public_key": key})
		want(t, "sign", a, http.StatusOK)
		var signed struct{ Credentials []cred }
		_ = json.Unmarshal(a.body, &signed)
		if len(signed.Credentials) != 1 || signed.Credentials[0].ValidBefore == "" {
			t.Fatalf("signed %s", a.body)
		}
		c, _, _, _, err := ssh.ParseAuthorizedKey([]byte(signed.Credentials[0].Certificate))
		if err != nil {
			t.Fatalf("certificate %q: %v", signed.Credentials[0].Certificate, err)
		}
		cert, ok := c.(*ssh.Certificate)
		if !ok || string(cert.Key.Marshal()) != string(sshPub.Marshal()) || len(cert.ValidPrincipals) != 1 || cert.ValidPrincipals[0] != "alice" {
			t.Errorf("certificate %+v", c)
		}
		caKey, err := h.store.SSHCAPublicKey(t.Context(), w.sshLibrary)
		if err != nil {
			t.Fatal(err)
		}
		ca, _, _, _, err := ssh.ParseAuthorizedKey([]byte(caKey))
		if err != nil || string(cert.SignatureKey.Marshal()) != string(ca.Marshal()) {
			t.Errorf("certificate not signed by the library's CA (%v)", err)
		}
	})
}

// TestRevocationRetryThroughTheAPI: a session's minted Postgres role is
// listed (without secrets) with its revocation's state once the session
// ends; who may cancel the project's sessions makes a waiting revocation
// due now, as the audit page's Retry does; a revoked one is a field error.
func TestRevocationRetryThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		x := h.project("Prod")
		pg := dbtest.NewPGTarget(t)
		lib, err := h.store.CreateCredentialLibrary(t.Context(), h.admin, x.StoreID, models.CredentialLibraryInput{Type: models.LibraryPostgres,
			Name: "real", URL: pg.URL, Password: "unused-trust", UsernameTemplate: pg.Prefix + "_{{.User.Name}}_{{.Session.ShortID}}",
			GrantRoles: pg.GrantRole, CreationStatements: models.DefaultCreationStatements, RevocationStatements: models.DefaultRevocationStatements})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.store.AddTargetLibrarySources(t.Context(), h.admin, x.TargetID, []string{lib.ID}); err != nil {
			t.Fatal(err)
		}
		alice, bob := h.user("alice"), h.user("bob")
		h.grant(x.ProjectID, alice.UserID, "ids=*;type=target;actions=list,read,authorize-session")
		at := h.token(dbtest.Login(t, h.store, h.authID, "alice", "alice-password-1"))
		auth := h.call(at, http.MethodPost, "/targets/"+x.TargetID+"/authorize-session", map[string]string{"host_id": x.HostID})
		want(t, "authorize", auth, http.StatusCreated)
		var started struct {
			Session     struct{ ID string }
			Credentials []struct{ ID, Type, Username, Password string }
		}
		_ = json.Unmarshal(auth.body, &started)
		var roleID, role, rolePassword string
		for _, c := range started.Credentials {
			if c.Type == models.CredentialPostgresRole && c.Password != "" {
				roleID, role, rolePassword = c.ID, c.Username, c.Password
			}
		}
		if roleID == "" || !strings.HasPrefix(role, pg.Prefix+"_alice_") {
			t.Fatalf("no minted role: %s", auth.body)
		}
		want(t, "cancel", h.call(at, http.MethodPost, "/sessions/"+started.Session.ID+"/cancel", nil), http.StatusOK)

		type brokered struct {
			CredentialID string `json:"credential_id"`
			Source       string `json:"source"`
			LibraryID    string `json:"library_id"`
			Revocation   *struct {
				State     string  `json:"state"`
				RevokedAt *string `json:"revoked_at"`
			} `json:"revocation"`
		}
		minted := func(a answer) brokered {
			t.Helper()
			var d struct{ Brokered []brokered }
			_ = json.Unmarshal(a.body, &d)
			for _, b := range d.Brokered {
				if b.CredentialID == roleID {
					return b
				}
			}
			t.Fatalf("the minted role is not listed: %s", a.body)
			return brokered{}
		}
		path := "/sessions/" + started.Session.ID
		got := h.call(h.adminTok, http.MethodGet, path, nil)
		want(t, "read", got, http.StatusOK)
		if b := minted(got); b.Source != models.LibraryPostgres || b.LibraryID != lib.ID || b.Revocation == nil || b.Revocation.State != models.RevocationPending {
			t.Errorf("before the queue ran: %+v", b)
		}
		if strings.Contains(string(got.body), rolePassword) {
			t.Error("the ended session's read shows a secret")
		}
		retry := path + "/revocations/" + roleID + "/retry"
		want(t, "bob retries", h.call(h.token(bob), http.MethodPost, retry, nil), http.StatusNotFound)
		if a := h.call(at, http.MethodPost, retry, nil); a.status != http.StatusForbidden && a.status != http.StatusNotFound {
			t.Errorf("the session's user retries: %d (only who may cancel the project's sessions may)", a.status)
		}
		a := h.call(h.adminTok, http.MethodPost, retry, nil)
		want(t, "retry", a, http.StatusOK)
		if b := minted(a); b.Revocation == nil || b.Revocation.State != models.RevocationPending {
			t.Errorf("after retry: %+v", b)
		}
		if _, err := h.store.WorkRevocations(t.Context()); err != nil {
			t.Fatal(err)
		}
		got = h.call(h.adminTok, http.MethodGet, path, nil)
		if b := minted(got); b.Revocation == nil || b.Revocation.State != models.RevocationRevoked || b.Revocation.RevokedAt == nil {
			t.Errorf("after the queue ran: %+v", b)
		}
		a = h.call(h.adminTok, http.MethodPost, retry, nil)
		want(t, "retry a revoked one", a, http.StatusUnprocessableEntity)
		if p := a.problem(t); p.Errors["revocation"] == "" {
			t.Errorf("retry revoked: %+v", p)
		}
		want(t, "retry on an unknown session", h.call(h.adminTok, http.MethodPost, "/sessions/s_nope/revocations/"+roleID+"/retry", nil), http.StatusNotFound)
	})
}
