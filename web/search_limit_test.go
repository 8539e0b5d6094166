package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"

	"golang.org/x/net/html"
)

// A search of 50,001 characters answered 500 on SQLite ("LIKE or GLOB
// pattern too complex"). Every list cuts it to models.MaxSearchLength and
// says so next to the search field (issue 11, finding 5).
func TestLongSearchIsBoundedOnEveryList(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) { longSearchIsBounded(t, newAppOn(t, dbtest.Open(t, d, models.Options{}))) })
	}
}

func longSearchIsBounded(t *testing.T, a *app) {
	org, projects := orgWithProjects(t, a.store, a.admin, "Prod")
	p := projects[0]
	cat, err := a.store.CreateHostCatalog(context.Background(), a.admin, p.ID, models.HostCatalogInput{Name: "Servers"})
	if err != nil {
		t.Fatal(err)
	}
	grp, err := a.store.CreateGroup(context.Background(), a.admin, org.ID, models.GroupInput{Name: "Operators"})
	if err != nil {
		t.Fatal(err)
	}
	role, err := a.store.CreateRole(context.Background(), a.admin, org.ID, models.RoleInput{Name: "Readers"})
	if err != nil {
		t.Fatal(err)
	}
	c := a.login("admin", "password")
	q := "?q=" + strings.Repeat("a", 50_001)
	for _, path := range []string{
		"/users", "/groups", "/roles", "/auth-methods", "/targets", "/scopes/global", "/scopes/" + org.ID,
		"/scopes/" + p.ID + "/targets", "/scopes/" + p.ID + "/host-catalogs", "/scopes/" + p.ID + "/credential-stores",
		"/host-catalogs/" + cat.ID, "/host-catalogs/" + cat.ID + "/host-sets",
		// The member search on a group's page and the principal search
		// of a role (audit of issue 11, gap 6).
		"/groups/" + grp.ID, "/roles/" + role.ID + "/principals",
	} {
		st, doc := c.get(path + q)
		if st != http.StatusOK {
			t.Errorf("%s with a 50,001-character search: %d", path, st)
			continue
		}
		if got, want := testIDText(doc, "q-error"), "Search text is limited to 200 characters: only the first 200 were searched."; got != want {
			t.Errorf("%s: search message %q, want %q", path, got, want)
		}
		// The field itself is bounded and points at the message.
		if f := searchField(doc); f == nil || len(attr(f, "value")) != models.MaxSearchLength || attr(f, "maxlength") != "200" || attr(f, "aria-describedby") != "q-error" {
			t.Errorf("%s: search field %s", path, render(f))
		}
	}
	// A search of ordinary length says nothing.
	if st, doc := c.get("/users?q=adm"); st != http.StatusOK || byTestID(doc, "q-error") != nil {
		t.Errorf("/users?q=adm: %d, message %q", st, testIDText(doc, "q-error"))
	}
}

// searchField is the input named q of a page.
func searchField(n *html.Node) *html.Node {
	if n == nil {
		return nil
	}
	if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") == "q" {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := searchField(c); f != nil {
			return f
		}
	}
	return nil
}
