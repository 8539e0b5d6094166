package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"gatehouse/models"
)

// A search of 50,001 characters answered 500 on SQLite ("LIKE or GLOB
// pattern too complex"). Every list cuts it to models.MaxSearchLength and
// says so next to the search field (issue 11, finding 5).
func TestLongSearchIsBoundedOnEveryList(t *testing.T) {
	a := newApp(t)
	org, projects := orgWithProjects(t, a.store, a.admin, "Prod")
	p := projects[0]
	cat, err := a.store.CreateHostCatalog(context.Background(), a.admin, p.ID, models.HostCatalogInput{Name: "Servers"})
	if err != nil {
		t.Fatal(err)
	}
	c := a.login("admin", "password")
	q := "?q=" + strings.Repeat("a", 50_001)
	for _, path := range []string{
		"/users", "/groups", "/roles", "/auth-methods", "/targets", "/scopes/global", "/scopes/" + org.ID,
		"/scopes/" + p.ID + "/targets", "/scopes/" + p.ID + "/host-catalogs", "/scopes/" + p.ID + "/credential-stores",
		"/host-catalogs/" + cat.ID, "/host-catalogs/" + cat.ID + "/host-sets",
	} {
		st, doc := c.get(path + q)
		if st != http.StatusOK {
			t.Errorf("%s with a 50,001-character search: %d", path, st)
			continue
		}
		if got, want := testIDText(doc, "q-error"), "Search text is limited to 200 characters: only the first 200 were searched."; got != want {
			t.Errorf("%s: search message %q, want %q", path, got, want)
		}
	}
	// A search of ordinary length says nothing.
	if st, doc := c.get("/users?q=adm"); st != http.StatusOK || byTestID(doc, "q-error") != nil {
		t.Errorf("/users?q=adm: %d, message %q", st, testIDText(doc, "q-error"))
	}
}
