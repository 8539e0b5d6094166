package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

func TestHostCatalogLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		p := project(t, store, admin, "Acme", "Prod")
		c, err := store.CreateHostCatalog(ctx, admin, p.ID, models.HostCatalogInput{Name: " Servers ", Description: "all of them"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != "Servers" || c.Type != models.HostCatalogStatic || c.ScopeID != p.ID || !strings.HasPrefix(c.ID, "hcst_") || c.Version != 1 {
			t.Fatalf("catalog = %+v", c)
		}
		if _, err := store.CreateHostCatalog(ctx, admin, p.ID, models.HostCatalogInput{Name: "SERVERS"}); models.FieldErrors(err)["name"] == "" {
			t.Fatalf("duplicate name: %v", err)
		}
		org, _ := store.GetScope(ctx, admin, *p.ParentID)
		if _, err := store.CreateHostCatalog(ctx, admin, org.ID, models.HostCatalogInput{Name: "x"}); models.FieldErrors(err)["scope"] == "" {
			t.Fatalf("catalog in an org: %v", err)
		}
		h, err := store.CreateHost(ctx, admin, c.ID, models.HostInput{Name: "db1", Address: "DB1.Example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if h.Address != "db1.example.com" || h.CatalogID != c.ID || h.ScopeID != p.ID || !strings.HasPrefix(h.ID, "hst_") {
			t.Fatalf("host = %+v", h)
		}
		if _, err := store.CreateHost(ctx, admin, c.ID, models.HostInput{Name: "DB1", Address: "10.0.0.1"}); models.FieldErrors(err)["name"] == "" {
			t.Fatalf("duplicate host name: %v", err)
		}
		page, err := store.ListHostCatalogs(ctx, admin, p.ID, models.ListOptions{Search: "serv"})
		if err != nil || page.Total != 1 || page.Items[0].Name != "Servers" || page.Items[0].Hosts != 1 || page.Items[0].HostSets != 0 ||
			!page.Items[0].Actions[models.ActionUpdate] || !page.Items[0].Actions[models.ActionDelete] || !page.Items[0].Actions[models.ActionRead] {
			t.Fatalf("list = %+v, %v", page, err)
		}
		if page, _ := store.ListHostCatalogs(ctx, admin, p.ID, models.ListOptions{Search: "nothing"}); page.Total != 0 {
			t.Fatalf("search matched %d", page.Total)
		}
		if _, err := store.UpdateHostCatalog(ctx, admin, c.ID, c.Version+1, models.HostCatalogInput{Name: "X"}); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("stale version: %v", err)
		}
		up, err := store.UpdateHostCatalog(ctx, admin, c.ID, c.Version, models.HostCatalogInput{Name: "Servers 2"})
		if err != nil || up.Name != "Servers 2" || up.Version != 2 {
			t.Fatalf("update = %+v, %v", up, err)
		}
		got, err := store.GetHostCatalog(ctx, admin, c.ID)
		if err != nil || got.Hosts != 1 || !got.Actions[models.ActionCreate] {
			t.Fatalf("get = %+v, %v", got, err)
		}
		hp, err := store.ListHosts(ctx, admin, c.ID, models.ListOptions{Search: "example"})
		if err != nil || hp.Total != 1 || hp.Items[0].ID != h.ID || hp.Items[0].Address != "db1.example.com" {
			t.Fatalf("hosts = %+v, %v", hp, err)
		}
		uh, err := store.UpdateHost(ctx, admin, h.ID, h.Version, models.HostInput{Name: "db1", Address: "::1"})
		if err != nil || uh.Address != "::1" || uh.Version != 2 {
			t.Fatalf("update host = %+v, %v", uh, err)
		}
		if err := store.DeleteHostCatalog(ctx, admin, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := store.GetHost(ctx, admin, h.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("host survived its catalog: %v", err)
		}
		if _, err := store.GetHostCatalog(ctx, admin, "hcst_missing"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown catalog: %v", err)
		}
	})
}

func TestHostBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		p := project(t, store, admin, "Acme", "Prod")
		c, err := store.CreateHostCatalog(ctx, admin, p.ID, models.HostCatalogInput{Name: "Servers"})
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			in    models.HostInput
			field string
			want  string
		}{
			{models.HostInput{Name: "", Address: "a.example"}, "name", "Name is required."},
			{models.HostInput{Name: strings.Repeat("n", 129), Address: "a.example"}, "name", "Name must be at most 128 characters."},
			{models.HostInput{Name: "ok", Address: ""}, "address", "Address is required."},
			{models.HostInput{Name: "ok", Address: "db:5432"}, "address", "Address must be a host name or IP address, without a scheme or port."},
			{models.HostInput{Name: "ok", Address: "http://db"}, "address", "Address must be a host name or IP address, without a scheme or port."},
			{models.HostInput{Name: "ok", Address: "[::1]"}, "address", "Address must be a host name or IP address, without a scheme or port."},
			{models.HostInput{Name: "ok", Address: "bad_name.example"}, "address", "Address must be a host name (like db.example.com) or an IP address."},
			{models.HostInput{Name: "ok", Address: "999.1.1.1"}, "address", "Address must be a host name (like db.example.com) or an IP address."},
			{models.HostInput{Name: "ok", Address: "-db.example"}, "address", "Address must be a host name (like db.example.com) or an IP address."},
			{models.HostInput{Name: "ok", Address: strings.Repeat("a", 254)}, "address", "Address must be at most 253 characters."},
			{models.HostInput{Name: "ok", Address: "fe80::1%eth0"}, "address", "Address must not have a zone."},
			{models.HostInput{Name: "ok", Address: "a.example", Description: strings.Repeat("d", 1025)}, "description", "Description must be at most 1024 characters."},
		}
		for _, tc := range cases {
			_, err := store.CreateHost(ctx, admin, c.ID, tc.in)
			if got := models.FieldErrors(err)[tc.field]; got != tc.want {
				t.Errorf("%+v: %s = %q, want %q (err %v)", tc.in, tc.field, got, tc.want, err)
			}
		}
		if n := count(t, store, "hosts", ""); n != 0 {
			t.Fatalf("bad input wrote %d hosts", n)
		}
		for _, good := range []string{"127.0.0.1", "db", "db-1.internal.example.com", "2001:db8::1"} {
			if _, err := store.CreateHost(ctx, admin, c.ID, models.HostInput{Name: "h " + good, Address: good}); err != nil {
				t.Errorf("address %q refused: %v", good, err)
			}
		}
		if _, err := store.CreateHost(ctx, admin, "hcst_missing", models.HostInput{Name: "x", Address: "x"}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown catalog: %v", err)
		}
	})
}

func TestHostSetMembers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		p := project(t, store, admin, "Acme", "Prod")
		c1, _ := store.CreateHostCatalog(ctx, admin, p.ID, models.HostCatalogInput{Name: "One"})
		c2, _ := store.CreateHostCatalog(ctx, admin, p.ID, models.HostCatalogInput{Name: "Two"})
		h1, _ := store.CreateHost(ctx, admin, c1.ID, models.HostInput{Name: "b-host", Address: "10.0.0.1"})
		h2, _ := store.CreateHost(ctx, admin, c1.ID, models.HostInput{Name: "a-host", Address: "10.0.0.2"})
		other, _ := store.CreateHost(ctx, admin, c2.ID, models.HostInput{Name: "other", Address: "10.0.0.3"})

		if _, err := store.CreateHostSet(ctx, admin, c1.ID, models.HostSetInput{Name: "bad"}, []string{h1.ID, other.ID}); models.FieldErrors(err)["host_ids"] == "" {
			t.Fatalf("cross-catalog member: %v", err)
		}
		if n := count(t, store, "host_sets", ""); n != 0 {
			t.Fatalf("failed create left %d host sets", n)
		}
		hs, err := store.CreateHostSet(ctx, admin, c1.ID, models.HostSetInput{Name: "web"}, []string{h1.ID, h1.ID})
		if err != nil || !strings.HasPrefix(hs.ID, "hsst_") || hs.ScopeID != p.ID {
			t.Fatalf("create host set = %+v, %v", hs, err)
		}
		if _, err := store.CreateHostSet(ctx, admin, c1.ID, models.HostSetInput{Name: "WEB"}, nil); models.FieldErrors(err)["name"] == "" {
			t.Fatalf("duplicate host set: %v", err)
		}
		if _, err := store.CreateHostSet(ctx, admin, c1.ID, models.HostSetInput{Name: ""}, nil); models.FieldErrors(err)["name"] != "Name is required." {
			t.Fatalf("empty name: %v", err)
		}
		if err := store.AddHostSetMembers(ctx, admin, hs.ID, nil); models.FieldErrors(err)["host_ids"] == "" {
			t.Fatalf("no hosts: %v", err)
		}
		if err := store.AddHostSetMembers(ctx, admin, hs.ID, []string{other.ID}); models.FieldErrors(err)["host_ids"] == "" {
			t.Fatalf("cross-catalog add: %v", err)
		}
		if err := store.AddHostSetMembers(ctx, admin, hs.ID, []string{h1.ID, h2.ID}); err != nil {
			t.Fatal(err)
		}
		got, err := store.GetHostSet(ctx, admin, hs.ID)
		if err != nil || got.Members != 2 || got.Hosts[0].Name != "a-host" || got.Hosts[1].Name != "b-host" || !got.Actions[models.ActionAddHosts] {
			t.Fatalf("host set = %+v, %v", got, err)
		}
		list, err := store.ListHostSets(ctx, admin, c1.ID, models.ListOptions{})
		if err != nil || list.Total != 1 || list.Items[0].Members != 2 || list.Items[0].Name != "web" {
			t.Fatalf("list = %+v, %v", list, err)
		}
		// The database refuses a member from another catalog too.
		err = store.DB().Exec("INSERT INTO host_set_members (host_set_id, host_id, catalog_id, created_at) VALUES (?, ?, ?, ?)",
			hs.ID, other.ID, c1.ID, store.Now()).Error
		if err == nil {
			t.Fatal("database accepted a host of another catalog")
		}
		if err := store.RemoveHostSetMember(ctx, admin, hs.ID, h1.ID); err != nil {
			t.Fatal(err)
		}
		if err := store.RemoveHostSetMember(ctx, admin, hs.ID, h1.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("remove twice: %v", err)
		}
		if err := store.DeleteHost(ctx, admin, h2.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := store.GetHostSet(ctx, admin, hs.ID); got.Members != 0 {
			t.Fatalf("deleted host still a member: %+v", got)
		}
		up, err := store.UpdateHostSet(ctx, admin, hs.ID, hs.Version, models.HostSetInput{Name: "web2", Description: "d"})
		if err != nil || up.Name != "web2" || up.Version != 2 {
			t.Fatalf("update = %+v, %v", up, err)
		}
		if err := store.DeleteHostSet(ctx, admin, hs.ID); err != nil {
			t.Fatal(err)
		}
		if err := store.DeleteHostSet(ctx, admin, hs.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
	})
}
