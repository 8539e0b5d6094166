package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/models"
)

// expectFieldError asserts a 422 re-render with the field's message.
func expectFieldError(t *testing.T, c *appClient, path string, form url.Values, field, want string) {
	t.Helper()
	st, _, doc := c.post(path, form)
	if st != http.StatusUnprocessableEntity {
		t.Errorf("POST %s %v: status %d, want 422", path, form, st)
		return
	}
	if got := testIDText(doc, field+"-error"); got != want {
		t.Errorf("POST %s %v: %s-error = %q, want %q", path, form, field, got, want)
	}
	if got := testIDText(doc, "form-error"); got == "<missing>" {
		t.Errorf("POST %s: no form-error summary", path)
	}
}

// created posts a form that must redirect (303) and returns the new id.
func created(t *testing.T, c *appClient, path string, form url.Values, prefix string) string {
	t.Helper()
	st, loc, doc := c.post(path, form)
	if st != http.StatusSeeOther || !strings.Contains(loc, "/"+prefix) {
		t.Fatalf("POST %s %v: %d %q\n%s", path, form, st, loc, text(doc))
	}
	return idFrom(loc)
}

func TestInfrastructurePages(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	org, err := a.store.CreateScope(ctx, a.admin, models.GlobalScopeID, models.ScopeInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := a.store.CreateScope(ctx, a.admin, org.ID, models.ScopeInput{Name: "Prod"})
	c := a.login("admin", "password")

	// The project page links its tabs.
	if st, doc := c.get("/scopes/" + p.ID); st != 200 || testIDText(doc, "tab-targets") != "Targets" || testIDText(doc, "tab-host-catalogs") != "Host catalogs" ||
		testIDText(doc, "tab-credential-stores") != "Credential stores" {
		t.Fatalf("project page: %d", st)
	}

	// Host catalog.
	expectFieldError(t, c, "/scopes/"+p.ID+"/host-catalogs/new", url.Values{"name": {""}}, "name", "Name is required.")
	cat := created(t, c, "/scopes/"+p.ID+"/host-catalogs/new", url.Values{"name": {"Servers"}, "description": {"racks"}}, "host-catalogs/hcst_")
	expectFieldError(t, c, "/scopes/"+p.ID+"/host-catalogs/new", url.Values{"name": {"servers"}}, "name", `Prod already has a host catalog named "servers".`)
	if st, doc := c.get("/scopes/" + p.ID + "/host-catalogs"); st != 200 || !strings.Contains(testIDText(doc, "host-catalog-row-"+cat), "Servers static racks 0 hosts 0 host sets") {
		t.Fatalf("catalog list: %d %q", st, testIDText(doc, "host-catalog-row-"+cat))
	}

	// Host: bad then good address.
	expectFieldError(t, c, "/host-catalogs/"+cat+"/hosts/new", url.Values{"name": {"db1"}, "address": {"db1:5432"}}, "address",
		"Address must be a host name or IP address, without a scheme or port.")
	expectFieldError(t, c, "/host-catalogs/"+cat+"/hosts/new", url.Values{"name": {"db1"}, "address": {""}}, "address", "Address is required.")
	host := created(t, c, "/host-catalogs/"+cat+"/hosts/new", url.Values{"name": {"db1"}, "address": {"10.0.0.5"}}, "hosts/hst_")
	if st, doc := c.get("/hosts/" + host); st != 200 || testIDText(doc, "host-name") != "db1" || testIDText(doc, "host-address") != "10.0.0.5" {
		t.Fatalf("host page: %d", st)
	}
	if _, doc := c.get("/host-catalogs/" + cat + "?q=10.0"); testIDText(doc, "host-row-"+host) != "db1 10.0.0.5 Edit Delete" {
		t.Fatalf("host row = %q", testIDText(doc, "host-row-"+host))
	}

	// Host set with the host.
	set := created(t, c, "/host-catalogs/"+cat+"/host-sets/new", url.Values{"name": {"dbs"}, "host_ids": {host}}, "host-sets/hsst_")
	if _, doc := c.get("/host-sets/" + set); testIDText(doc, "member-row-"+host) != "db1 10.0.0.5 Remove" {
		t.Fatalf("member row = %q", testIDText(doc, "member-row-"+host))
	}

	if st, doc := c.get("/host-catalogs/" + cat + "/host-sets"); st != 200 || testIDText(doc, "host-set-row-"+set) != "dbs 1 host Edit Delete" {
		t.Fatalf("host set tab: %d %q", st, testIDText(doc, "host-set-row-"+set))
	}
	expectFieldError(t, c, "/host-catalogs/"+cat+"/host-sets/new", url.Values{"name": {"DBS"}}, "name", `Servers already has a host set named "DBS".`)

	// Target: each bad field, then good.
	tp := "/scopes/" + p.ID + "/targets/new"
	good := url.Values{"name": {"pg"}, "default_port": {"5432"}, "session_max_seconds": {""}, "session_connection_limit": {""}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		f.Set(k, v)
		return f
	}
	expectFieldError(t, c, tp, with("name", ""), "name", "Name is required.")
	expectFieldError(t, c, tp, with("default_port", "abc"), "default_port", "Default port must be a number between 1 and 65535.")
	expectFieldError(t, c, tp, with("default_port", "70000"), "default_port", "Default port must be a number between 1 and 65535.")
	expectFieldError(t, c, tp, with("address", "http://x"), "address", "Address must be a host name or IP address, without a scheme or port.")
	expectFieldError(t, c, tp, with("session_max_seconds", "0"), "session_max_seconds", "Maximum session length must be longer than 0.")
	expectFieldError(t, c, tp, with("session_connection_limit", "0"), "session_connection_limit", "Choose Unlimited, or a connection limit of at least 1.")
	expectFieldError(t, c, tp, with("session_connection_limit", "-3"), "session_connection_limit", "Choose Unlimited, or a connection limit of at least 1.")
	target := created(t, c, tp, good, "targets/ttcp_")
	direct := created(t, c, tp, url.Values{"name": {"echo"}, "default_port": {"9201"}, "address": {"127.0.0.1"},
		"session_max_seconds": {"5400"}, "session_connection_limit": {"2"}}, "targets/ttcp_")
	st, doc := c.get("/targets/" + direct)
	if st != 200 || testIDText(doc, "target-name") != "echo tcp target" || testIDText(doc, "target-address") != "127.0.0.1" || testIDText(doc, "target-port") != "9201" ||
		testIDText(doc, "target-max") != "1 hour 30 minutes" || testIDText(doc, "target-limit") != "2" {
		t.Fatalf("target page: %d %q %q %q", st, testIDText(doc, "target-name"), testIDText(doc, "target-max"), testIDText(doc, "target-limit"))
	}
	// Address and host sources never together.
	expectSourceError := func(path string, form url.Values, field, want string) {
		t.Helper()
		st, _, doc := c.post(path, form)
		if st != http.StatusUnprocessableEntity || testIDText(doc, field+"-error") != want {
			t.Errorf("POST %s: %d %q, want 422 %q", path, st, testIDText(doc, field+"-error"), want)
		}
	}
	expectSourceError("/targets/"+direct+"/host-sources", url.Values{"host_set_ids": {set}}, "host_set_ids",
		"This target has a direct address: remove it before adding host sources.")
	if st, loc, _ := c.post("/targets/"+target+"/host-sources", url.Values{"host_set_ids": {set}}); st != http.StatusSeeOther || loc != "/targets/"+target+"?done=saved" {
		t.Fatalf("add host source: %d %s", st, loc)
	}
	expectFieldError(t, c, "/targets/"+target+"/edit", url.Values{"name": {"pg"}, "default_port": {"5432"}, "address": {"10.0.0.1"}, "version": {"1"}},
		"address", "This target has host sources: remove them before giving it a direct address.")
	if _, doc := c.get("/targets/" + target); testIDText(doc, "host-source-row-"+set) != "dbs Servers 1 host Remove" {
		t.Fatalf("host source row = %q", testIDText(doc, "host-source-row-"+set))
	}

	// Credentials: write-only secrets.
	store := created(t, c, "/scopes/"+p.ID+"/credential-stores/new", url.Values{"name": {"Static"}}, "credential-stores/csst_")
	cp := "/credential-stores/" + store + "/credentials/new"
	expectFieldError(t, c, cp, url.Values{"type": {"json"}, "name": {"api"}, "json": {"[1]"}}, "json", `JSON must be one object, like {"key": "value"}.`)
	expectFieldError(t, c, cp, url.Values{"type": {"ssh_private_key"}, "name": {"k"}, "username": {"u"}, "private_key": {"nope"}}, "private_key",
		"Private key must be an SSH private key in OpenSSH or PEM format.")
	expectFieldError(t, c, cp, url.Values{"type": {"username_password"}, "name": {"pg"}, "username": {"postgres"}}, "password", "Password is required.")
	st, _, doc = c.post(cp, url.Values{"type": {"username_password"}, "name": {"pg"}, "password": {"s3cret-value"}})
	if st != 422 || strings.Contains(render(doc), "s3cret-value") {
		t.Fatalf("a refused form echoed the secret back (status %d)", st)
	}
	cred := created(t, c, cp, url.Values{"type": {"username_password"}, "name": {"pg admin"}, "username": {"postgres"}, "password": {"s3cret-value"}}, "credentials/credup_")
	for _, path := range []string{"/credentials/" + cred, "/credentials/" + cred + "/edit", "/credential-stores/" + store} {
		st, doc := c.get(path)
		if st != 200 || strings.Contains(render(doc), "s3cret-value") {
			t.Fatalf("%s shows the secret (status %d)", path, st)
		}
	}
	if _, doc := c.get("/credentials/" + cred); testIDText(doc, "credential-type") != "Username & password" || testIDText(doc, "credential-username") != "postgres" {
		t.Fatalf("credential page: %q %q", testIDText(doc, "credential-type"), testIDText(doc, "credential-username"))
	}
	// Editing with an empty password keeps it.
	if st, loc, _ := c.post("/credentials/"+cred+"/edit", url.Values{"name": {"pg admin"}, "username": {"root"}, "password": {""}, "version": {"1"}}); st != 303 {
		t.Fatalf("edit credential: %d %s", st, loc)
	}
	bc, err := a.store.BrokeredCredentials(ctx, a.admin, target)
	if err != nil || len(bc) != 0 {
		t.Fatalf("brokered before adding: %v %v", bc, err)
	}
	if st, _, _ := c.post("/targets/"+target+"/credential-sources", url.Values{"credential_ids": {cred}}); st != 303 {
		t.Fatalf("add credential source: %d", st)
	}
	if bc, _ := a.store.BrokeredCredentials(ctx, a.admin, target); len(bc) != 1 || bc[0].Secret.Password != "s3cret-value" || bc[0].Username != "root" {
		t.Fatalf("secret after edit = %+v", bc)
	}

	// My targets shows both targets with every column.
	st, doc = c.get("/targets")
	row := byTestID(doc, "my-target-row-"+target)
	if st != 200 || row == nil {
		t.Fatalf("my targets: %d", st)
	}
	for id, want := range map[string]string{"col-name": "pg", "col-project": "Acme / Prod", "col-address": "db1", "col-port": "5432",
		"col-max": "8 hours", "col-limit": "Unlimited", "col-credentials": "pg admin"} {
		if got := testIDText(row, id); got != want {
			t.Errorf("pg %s = %q, want %q", id, got, want)
		}
	}
	row = byTestID(doc, "my-target-row-"+direct)
	for id, want := range map[string]string{"col-name": "echo", "col-address": "127.0.0.1", "col-port": "9201", "col-max": "1 hour 30 minutes", "col-limit": "2", "col-credentials": "—"} {
		if got := testIDText(row, id); got != want {
			t.Errorf("echo %s = %q, want %q", id, got, want)
		}
	}
	if _, doc := c.get("/targets?q=echo"); byTestID(doc, "my-target-row-"+target) != nil || byTestID(doc, "my-target-row-"+direct) == nil || testIDText(doc, "total") != "1 item" {
		t.Fatalf("search: total %q", testIDText(doc, "total"))
	}

	// htmx asks for the #results fragment only.
	req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/targets?q=pg", nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Target", "results")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	frag, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(string(frag), "<html") || !strings.Contains(string(frag), `data-testid="my-target-row-`+target+`"`) {
		t.Fatalf("fragment: %d %.200s", resp.StatusCode, frag)
	}

	// Delete with confirmation.
	if st, doc := c.get("/targets/" + direct + "/delete"); st != 200 || byTestID(doc, "confirm-delete") == nil {
		t.Fatalf("confirm page: %d", st)
	}
	if st, loc, _ := c.post("/targets/"+direct+"/delete", nil); st != 303 || loc != "/scopes/"+p.ID+"/targets?done=deleted" {
		t.Fatalf("delete: %d %s", st, loc)
	}
	if st, _ := c.get("/targets/" + direct); st != http.StatusNotFound {
		t.Fatalf("deleted target: %d", st)
	}

	// A user without grants sees an empty My targets and 404s.
	if _, err := a.store.CreateUser(ctx, a.admin, models.GlobalScopeID, models.UserInput{Name: "bob", LoginName: "bob", Password: "password-bob"}); err != nil {
		t.Fatal(err)
	}
	bob := a.login("bob", "password-bob")
	if st, doc := bob.get("/targets"); st != 200 || byTestID(doc, "no-access") == nil || byTestID(doc, "my-target-list") != nil {
		t.Fatalf("bob's targets: %d", st)
	}
	for _, path := range []string{"/targets/" + target, "/host-catalogs/" + cat, "/credentials/" + cred, "/hosts/" + host, "/host-sets/" + set} {
		if st, _ := bob.get(path); st != http.StatusNotFound {
			t.Errorf("bob GET %s: %d, want 404", path, st)
		}
	}
	if st, _, _ := bob.post("/targets/"+target+"/delete", nil); st != http.StatusNotFound {
		t.Errorf("bob deletes a target: %d", st)
	}
}
