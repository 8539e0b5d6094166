package web

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// adminBrowser logs the bootstrap administrator in with its password.
func (e *oidcEnv) adminBrowser() *browser {
	e.t.Helper()
	b := e.browser()
	methods, _ := e.store.PublicAuthMethods(b.e.t.Context())
	var pw string
	for _, m := range methods {
		if m.Type == models.AuthMethodPassword {
			pw = m.ID
		}
	}
	resp, err := b.c.PostForm(e.gh.URL+"/login", url.Values{"auth_method_id": {pw}, "login_name": {"admin"}, "password": {"password"}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/" {
		e.t.Fatalf("admin login ended at %s", resp.Request.URL)
	}
	return b
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.e.t.Helper()
	resp, err := b.c.PostForm(b.e.gh.URL+path, form)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestOIDCAdminPages(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			e := newOIDCEnv(t, d)
			b := e.adminBrowser()

			// List with search; names, not ids.
			resp, body := b.get(e.gh.URL + "/auth-methods?q=corp")
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, ">Corp SSO</a>") || strings.Contains(body, ">Password<") ||
				!strings.Contains(body, `data-testid="total">1 item`) {
				t.Errorf("search list: %d\n%s", resp.StatusCode, body)
			}
			resp, body = b.get(e.gh.URL + "/auth-methods")
			if !strings.Contains(body, `data-testid="total">2 items`) || !strings.Contains(body, "Global") {
				t.Errorf("full list: %d", resp.StatusCode)
			}

			// Create: bad input re-renders with messages and never echoes the secret.
			form := url.Values{"scope_id": {"global"}, "name": {"Other"}, "issuer": {"http://idp.example.com"}, "client_id": {""},
				"client_secret": {"topsecret"}, "signing_algorithms": {"HS256"}, "prompts": {"none login"}}
			resp, body = b.post("/auth-methods/new", form)
			for _, want := range []string{`data-testid="issuer-error"`, `data-testid="client_id-error"`, `data-testid="signing_algorithms-error"`, `data-testid="prompts-error"`} {
				if !strings.Contains(body, want) {
					t.Errorf("create with bad input: %d, missing %s", resp.StatusCode, want)
				}
			}
			if resp.StatusCode != http.StatusUnprocessableEntity || strings.Contains(body, "topsecret") {
				t.Errorf("create with bad input: status %d, secret echoed: %v", resp.StatusCode, strings.Contains(body, "topsecret"))
			}
			form.Set("issuer", "http://127.0.0.1:1/nowhere")
			form.Set("client_id", "x")
			form.Set("signing_algorithms", "RS256")
			form.Set("prompts", "")
			resp, body = b.post("/auth-methods/new", form)
			id := regexp.MustCompile(`/auth-methods/(amoidc_\w+)`).FindStringSubmatch(resp.Request.URL.Path)
			if resp.StatusCode != http.StatusOK || id == nil || !strings.Contains(body, "Created.") || strings.Contains(body, "topsecret") ||
				!strings.Contains(body, "stored (never shown)") || !strings.Contains(body, e.gh.URL+OIDCCallbackPath) {
				t.Fatalf("create: %d at %s", resp.StatusCode, resp.Request.URL)
			}

			// Activation is refused with the discovery check's exact message.
			resp, body = b.post("/auth-methods/"+id[1]+"/state", url.Values{"state": {"active-public"}, "version": {"1"}})
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="state-error">Unreachable issuer: could not fetch http://127.0.0.1:1/nowhere/.well-known/openid-configuration`) {
				t.Errorf("activate unreachable: %d\n%s", resp.StatusCode, body)
			}

			// Managed group with a filter that does not parse, then a good one.
			resp, body = b.post("/auth-methods/"+e.method.ID+"/managed-groups/new", url.Values{"name": {"SRE"}, "filter": {`"sre" in`}})
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="filter-error">The filter does not parse`) {
				t.Errorf("bad filter: %d", resp.StatusCode)
			}
			resp, body = b.post("/auth-methods/"+e.method.ID+"/managed-groups/new", url.Values{"name": {"SRE"}, "filter": {`"sre" in groups`}})
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="managed-group-name">SRE`) {
				t.Fatalf("create group: %d", resp.StatusCode)
			}
			groupPath := resp.Request.URL.Path
			resp, body = b.get(e.gh.URL + "/auth-methods/" + e.method.ID + "?q=sre")
			if !strings.Contains(body, `data-testid="managed-group-list"`) || !strings.Contains(body, ">SRE</a>") {
				t.Errorf("method page group list: %d", resp.StatusCode)
			}

			// Edit keeps the secret when left empty.
			resp, body = b.get(e.gh.URL + "/auth-methods/" + id[1] + "/edit")
			if resp.StatusCode != http.StatusOK || strings.Contains(body, "topsecret") || !strings.Contains(body, `value="x"`) {
				t.Errorf("edit form: %d", resp.StatusCode)
			}

			// Delete with confirmation.
			resp, body = b.get(e.gh.URL + groupPath + "/delete")
			if !strings.Contains(body, "Delete managed group “SRE”?") {
				t.Errorf("confirm group delete: %d", resp.StatusCode)
			}
			resp, _ = b.post(groupPath+"/delete", nil)
			if resp.Request.URL.Path != "/auth-methods/"+e.method.ID {
				t.Errorf("group delete ended at %s", resp.Request.URL)
			}
			resp, body = b.get(e.gh.URL + "/auth-methods/" + id[1] + "/delete")
			if !strings.Contains(body, "Delete auth method “Other”?") {
				t.Errorf("confirm delete: %d", resp.StatusCode)
			}
			resp, body = b.post("/auth-methods/"+id[1]+"/delete", nil)
			if resp.Request.URL.Path != "/auth-methods" || !strings.Contains(body, "Deleted.") || strings.Contains(body, ">Other</a>") {
				t.Errorf("delete ended at %s", resp.Request.URL)
			}

			// Someone who is not an administrator sees nothing.
			alice := e.browser()
			alice.get(alice.toCallback(e.method.ID, "alice"))
			if resp, _ := alice.get(e.gh.URL + "/auth-methods/" + e.method.ID); resp.StatusCode != http.StatusNotFound {
				t.Errorf("alice on the method page: %d", resp.StatusCode)
			}
			// Lists are filtered in SQL: alice gets an empty list, not the methods.
			if resp, body := alice.get(e.gh.URL + "/auth-methods"); resp.StatusCode != http.StatusOK || strings.Contains(body, e.method.ID) || !strings.Contains(body, "0 items") {
				t.Errorf("alice on the list: %d", resp.StatusCode)
			}
		})
	}
}
