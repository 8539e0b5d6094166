package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestFormShowsUniquenessWithOtherErrors: a host form with a missing
// address and a name the catalog already has answers 422 with both
// messages next to their fields at once, on both databases.
func TestFormShowsUniquenessWithOtherErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		a := newAppOn(t, store)
		ctx := context.Background()
		org, err := store.CreateScope(ctx, a.admin, models.GlobalScopeID, models.ScopeInput{Name: "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		p, err := store.CreateScope(ctx, a.admin, org.ID, models.ScopeInput{Name: "Prod"})
		if err != nil {
			t.Fatal(err)
		}
		cat, err := store.CreateHostCatalog(ctx, a.admin, p.ID, models.HostCatalogInput{Name: "lab"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.CreateHost(ctx, a.admin, cat.ID, models.HostInput{Name: "db1", Address: "10.0.0.1"}); err != nil {
			t.Fatal(err)
		}
		c := a.login("admin", "password")
		st, _, doc := c.post("/host-catalogs/"+cat.ID+"/hosts/new", url.Values{"name": {"DB1"}, "address": {""}})
		if st != http.StatusUnprocessableEntity {
			t.Fatalf("status %d\n%s", st, render(doc))
		}
		name, addr := byTestID(doc, "name-error"), byTestID(doc, "address-error")
		if name == nil || addr == nil || !strings.Contains(render(name), "already has a host named") {
			t.Fatalf("want both messages:\n%s", render(doc))
		}
	})
}
