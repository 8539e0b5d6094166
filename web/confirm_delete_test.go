package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestConfirmDeletePagesOfAdminResources: the confirm-delete pages of
// users, groups, roles, auth methods, managed groups, webhooks and scopes
// (one shared page, handlers.confirmDelete) ask with the resource's words
// and warning, post to …/delete, cancel back to the item, keep the
// navigation's section, show breadcrumbs only for scopes, and refuse a
// user without delete; posting the form deletes.
func TestConfirmDeletePagesOfAdminResources(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		app := newAppOn(t, store)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		u, err := store.CreateUser(ctx, app.admin, models.GlobalScopeID, models.UserInput{Name: "Carol", LoginName: "carol", Password: "carol-password-1"})
		must(err)
		g, err := store.CreateGroup(ctx, app.admin, models.GlobalScopeID, models.GroupInput{Name: "Ops"})
		must(err)
		r, err := store.CreateRole(ctx, app.admin, models.GlobalScopeID, models.RoleInput{Name: "Readers"})
		must(err)
		m, err := store.CreateOIDCMethod(ctx, app.admin, models.GlobalScopeID, models.OIDCMethodInput{Name: "Corp SSO",
			Issuer: "https://login.example.com/", ClientID: "gatehouse", ClientSecret: "s3cret-value", SigningAlgorithms: "RS256"})
		must(err)
		mg, err := store.CreateManagedGroup(ctx, app.admin, m.ID, models.ManagedGroupInput{Name: "SRE", Filter: `"sre" in "/token/groups"`})
		must(err)
		wh, _, err := store.CreateWebhook(ctx, app.admin, models.WebhookInput{Name: "Sink", URL: "https://sink.example.com/x", EventTypes: []string{"change.*"}})
		must(err)
		org, err := store.CreateScope(ctx, app.admin, models.GlobalScopeID, models.ScopeInput{Name: "Acme"})
		must(err)
		project, err := store.CreateScope(ctx, app.admin, org.ID, models.ScopeInput{Name: "Prod"})
		must(err)

		cases := []struct {
			href, heading, warning, nav string
			crumbs                      []string // breadcrumb labels; nil: no breadcrumbs
			done                        string   // where deleting redirects to (its path)
		}{
			{"/users/" + u.ID, "Delete user “Carol”?", "Its accounts are deleted and its logins end at once.", "users", nil, "/users"},
			{"/groups/" + g.ID, "Delete group “Ops”?", "Its members lose the roles they held through it.", "groups", nil, "/groups"},
			{"/roles/" + r.ID, "Delete role “Readers”?", "Its principals lose what it grants at their next request.", "roles", nil, "/roles"},
			{"/managed-groups/" + mg.ID, "Delete managed group “SRE”?", "Its members lose whatever roles the group gave them.", "auth-methods", nil, "/auth-methods/" + m.ID},
			{"/auth-methods/" + m.ID, "Delete auth method “Corp SSO”?", "Its accounts and managed groups are deleted and logins made through it end at once.", "auth-methods", nil, "/auth-methods"},
			{"/webhooks/" + wh.ID, "Delete webhook “Sink”?", "Its delivery log is deleted with it; events not yet delivered are dropped.", "webhooks", nil, "/webhooks"},
			{"/scopes/" + project.ID, "Delete project “Prod”?", "Everything in the project is deleted with it.", "scopes", []string{"Global", "Acme", "Prod"}, "/scopes/" + org.ID},
			{"/scopes/" + org.ID, "Delete organization “Acme”?", "Its 1 project, users, auth methods and everything in them are deleted with it.", "scopes", []string{"Global", "Acme"}, "/scopes/global"},
		}
		admin := app.adminClient()
		plain := app.client()
		if res := app.postLogin(plain, "carol", "carol-password-1"); res.status != http.StatusSeeOther {
			t.Fatalf("carol's login: %d", res.status)
		}
		for _, c := range cases {
			res := app.do(admin, "GET", c.href+"/delete", nil)
			if res.status != http.StatusOK {
				t.Fatalf("GET %s/delete: %d", c.href, res.status)
			}
			for _, want := range []string{"<h1>" + c.heading + "</h1>", c.warning, `action="` + c.href + `/delete"`, `href="` + c.href + `">Cancel</a>`} {
				if !strings.Contains(res.body, want) {
					t.Errorf("%s/delete lacks %q", c.href, want)
				}
			}
			if !strings.Contains(res.body, `aria-current="page">`) || !navCurrent(res.body, c.nav) {
				t.Errorf("%s/delete: navigation's current section is not %s", c.href, c.nav)
			}
			if got := crumbLabels(res.body); strings.Join(got, " › ") != strings.Join(c.crumbs, " › ") {
				t.Errorf("%s/delete breadcrumbs = %q, want %q", c.href, got, c.crumbs)
			}
			if res := app.do(plain, "GET", c.href+"/delete", nil); res.status != http.StatusForbidden && res.status != http.StatusNotFound {
				t.Errorf("carol GET %s/delete: %d", c.href, res.status)
			}
		}
		// Deleting, innermost first (the org's project before the org,
		// the managed group before its method, carol's login ends with her).
		for _, c := range cases {
			res := app.do(admin, "POST", c.href+"/delete", nil)
			if loc := res.header.Get("Location"); res.status != http.StatusSeeOther || !strings.HasPrefix(loc, c.done+"?") && loc != c.done {
				t.Errorf("POST %s/delete: %d %s, want a redirect to %s", c.href, res.status, loc, c.done)
			}
			if res := app.do(admin, "GET", c.href, nil); res.status != http.StatusNotFound {
				t.Errorf("GET %s after delete: %d", c.href, res.status)
			}
		}
	})
}

// navCurrent tells whether the navigation marks the link of section nav
// (its first path segment) as the current page.
func navCurrent(body, nav string) bool {
	return strings.Contains(body, `href="/`+nav+`" aria-current="page"`) ||
		strings.Contains(body, `href="/`+nav+`/global" aria-current="page"`)
}

// crumbLabels lists the texts of the breadcrumb trail, or nil without one.
func crumbLabels(body string) []string {
	_, nav, ok := strings.Cut(body, `<nav aria-label="Breadcrumb" class="breadcrumbs">`)
	if !ok {
		return nil
	}
	nav, _, _ = strings.Cut(nav, "</nav>")
	var out []string
	for _, li := range strings.Split(nav, "<li>")[1:] {
		li, _, _ = strings.Cut(li, "</li>")
		out = append(out, strings.TrimSpace(stripTags(li)))
	}
	return out
}

func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}
