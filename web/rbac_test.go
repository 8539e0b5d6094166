package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

type rbacClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newClient(t *testing.T, base string) *rbacClient {
	jar, _ := cookiejar.New(nil)
	return &rbacClient{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *rbacClient) do(method, path string, form url.Values) (int, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusSeeOther {
		return res.StatusCode, res.Header.Get("Location")
	}
	return res.StatusCode, string(b)
}

func has(body, testid string) bool { return strings.Contains(body, `data-testid="`+testid+`"`) }

// TestRBACPages drives the group and role pages over HTTP as the admin and
// checks what a plain user's navigation offers.
func TestRBACPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		app := newAppOn(t, store)
		admin := app.admin
		bob, err := store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "bob", LoginName: "bob", Password: "bob-password-1"})
		if err != nil {
			t.Fatal(err)
		}
		login := func(name, pw string) *rbacClient {
			c := newClient(t, app.srv.URL)
			if code, loc := c.do("POST", "/login", url.Values{"auth_method_id": {app.method}, "login_name": {name}, "password": {pw}}); code != http.StatusSeeOther {
				t.Fatalf("login %s: %d %s", name, code, loc)
			}
			return c
		}
		ac := login("admin", "password")
		code, home := ac.do("GET", "/", nil)
		for _, l := range []string{`href="/groups"`, `href="/roles"`, `href="/users"`, `href="/scopes/global"`, `href="/explain"`} {
			if code != 200 || !strings.Contains(home, l) {
				t.Errorf("admin home lacks %s (%d)", l, code)
			}
		}
		// Group: create, add bob, list.
		code, loc := ac.do("POST", "/groups/new", url.Values{"scope_id": {"global"}, "name": {"ops"}})
		if code != http.StatusSeeOther {
			t.Fatalf("create group: %d %s", code, loc)
		}
		gid := strings.TrimPrefix(strings.Split(loc, "?")[0], "/groups/")
		if code, _ := ac.do("POST", "/groups/"+gid+"/members/add", url.Values{"user_id": {bob.ID}}); code != http.StatusSeeOther {
			t.Errorf("add member: %d", code)
		}
		if code, body := ac.do("GET", "/groups/"+gid, nil); code != 200 || !has(body, "member-"+bob.ID) {
			t.Errorf("group page: %d", code)
		}
		if code, body := ac.do("POST", "/groups/new", url.Values{"scope_id": {"global"}, "name": {""}}); code != 422 || !has(body, "name-error") {
			t.Errorf("empty group name: %d", code)
		}
		if code, body := ac.do("GET", "/groups", nil); code != 200 || !has(body, "group-row-"+gid) || !has(body, "edit") {
			t.Errorf("group list: %d", code)
		}
		// Role: create, bad grants, good grants, grant scopes, principal picker.
		code, loc = ac.do("POST", "/roles/new", url.Values{"scope_id": {"global"}, "name": {"readers"}})
		if code != http.StatusSeeOther {
			t.Fatalf("create role: %d %s", code, loc)
		}
		rid := strings.TrimPrefix(strings.Split(loc, "?")[0], "/roles/")
		code, body := ac.do("POST", "/roles/"+rid+"/grants", url.Values{"version": {"1"}, "grants": {"ids=*;type=role;actions=read\nids=*;type=rol;actions=read"}})
		if code != 422 || !has(body, "grant-error-2") || has(body, "grant-error-1") {
			t.Errorf("bad grants: %d", code)
		}
		if m := regexp.MustCompile(`data-testid="grant-error-2">(.*?)</li>`).FindStringSubmatch(body); m == nil || !strings.Contains(m[1], "rol") {
			t.Errorf("line 2 message: %v", m)
		}
		if code, _ := ac.do("POST", "/roles/"+rid+"/grants", url.Values{"version": {"1"}, "grants": {"ids=*;type=role;actions=read\n"}}); code != http.StatusSeeOther {
			t.Errorf("good grants: %d", code)
		}
		if code, body := ac.do("POST", "/roles/"+rid+"/grant-scopes", url.Values{"version": {"2"}, "grant_scope": {"children", "descendants"}}); code != 422 || !has(body, "grant_scopes-error") ||
			!strings.Contains(body, "ids=*;type=role;actions=read</textarea>") {
			t.Errorf("bad grant scopes: %d", code)
		}
		if code, _ := ac.do("POST", "/roles/"+rid+"/grant-scopes", url.Values{"version": {"2"}, "grant_scope": {"this", "descendants"}}); code != http.StatusSeeOther {
			t.Errorf("grant scopes: %d", code)
		}
		if code, body := ac.do("GET", "/roles/"+rid+"/principals?q=op", nil); code != 200 || !has(body, "candidate-"+gid) || has(body, "candidate-"+bob.ID) {
			t.Errorf("picker: %d", code)
		}
		if code, _ := ac.do("POST", "/roles/"+rid+"/principals/add", url.Values{"principal_id": {gid}}); code != http.StatusSeeOther {
			t.Errorf("add principal: %d", code)
		}
		if code, body := ac.do("GET", "/roles/"+rid, nil); code != 200 || !has(body, "principal-"+gid) || !has(body, "remove-principal") {
			t.Errorf("role page: %d", code)
		}
		// Bob: no admin links, read-only role page, no buttons in the list.
		bc := login("bob", "bob-password-1")
		_, home = bc.do("GET", "/", nil)
		for _, l := range []string{`href="/groups"`, `href="/roles"`, `href="/users"`, `href="/scopes/global"`} {
			if strings.Contains(home, l) {
				t.Errorf("bob's home shows %s", l)
			}
		}
		if code, body := bc.do("GET", "/roles/"+rid, nil); code != 200 || has(body, "grants-form") || has(body, "remove-principal") || !has(body, "grants") {
			t.Errorf("bob's role page: %d", code)
		}
		if code, body := bc.do("GET", "/account", nil); code != 200 || !has(body, "current-user") {
			t.Errorf("bob's account page: %d", code)
		}
		if code, _ := bc.do("GET", "/users/"+admin.UserID, nil); code != 404 {
			t.Errorf("bob reads admin: %d", code)
		}
		if code, _ := bc.do("GET", "/groups/"+gid, nil); code != 404 {
			t.Errorf("bob reads group: %d", code)
		}
		if code, _ := bc.do("POST", "/roles/"+rid+"/grants", url.Values{"version": {"3"}, "grants": {"ids=*;type=*;actions=*"}}); code != 403 {
			t.Errorf("bob sets grants: %d", code)
		}
	})
}
