package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

func tcp(name string, port int, address string) models.TargetInput {
	return models.TargetInput{Name: name, DefaultPort: port, Address: address,
		SessionMaxSeconds: models.DefaultSessionMaxSeconds, SessionConnectionLimit: models.UnlimitedConnections}
}

func TestTargetLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		p := project(t, store, admin, "Acme", "Prod")
		tg, err := store.CreateTarget(ctx, admin, p.ID, models.TargetInput{Name: " echo ", Description: "d", DefaultPort: 9201,
			Address: "127.0.0.1", SessionMaxSeconds: 3600, SessionConnectionLimit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if tg.Name != "echo" || tg.Type != "tcp" || tg.DefaultPort != 9201 || tg.AddressText() != "127.0.0.1" || tg.SessionMaxSeconds != 3600 ||
			tg.SessionConnectionLimit != 3 || tg.ScopeID != p.ID || tg.Version != 1 || !strings.HasPrefix(tg.ID, "ttcp_") {
			t.Fatalf("target = %+v", tg)
		}
		if _, err := store.CreateTarget(ctx, admin, p.ID, tcp("ECHO", 22, "")); models.FieldErrors(err)["name"] == "" {
			t.Fatalf("duplicate name: %v", err)
		}
		other := project(t, store, admin, "Acme", "Dev")
		if _, err := store.CreateTarget(ctx, admin, other.ID, tcp("echo", 22, "")); err != nil {
			t.Fatalf("same name in another project: %v", err)
		}
		list, err := store.ListTargets(ctx, admin, p.ID, models.ListOptions{Search: "127.0"})
		if err != nil || list.Total != 1 || list.Items[0].ID != tg.ID || list.Items[0].HostSources != 0 || !list.Items[0].Actions[models.ActionDelete] {
			t.Fatalf("list = %+v, %v", list, err)
		}
		up, err := store.UpdateTarget(ctx, admin, tg.ID, tg.Version, tcp("echo2", 22, ""))
		if err != nil || up.Name != "echo2" || up.Address != nil || up.DefaultPort != 22 || up.SessionMaxSeconds != 28800 || up.SessionConnectionLimit != -1 || up.Version != 2 {
			t.Fatalf("update = %+v, %v", up, err)
		}
		if _, err := store.UpdateTarget(ctx, admin, tg.ID, tg.Version, tcp("echo3", 22, "")); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("stale version: %v", err)
		}
		d, err := store.GetTarget(ctx, admin, tg.ID)
		if err != nil || d.ProjectName != "Prod" || !d.Actions[models.ActionAuthorizeSession] || !d.Actions[models.ActionAddHostSources] {
			t.Fatalf("get = %+v, %v", d, err)
		}
		if err := store.DeleteTarget(ctx, admin, tg.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := store.GetTarget(ctx, admin, tg.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("deleted target: %v", err)
		}
	})
}

func TestTargetBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		p := project(t, store, admin, "Acme", "Prod")
		with := func(f func(*models.TargetInput)) models.TargetInput {
			in := tcp("t", 22, "")
			f(&in)
			return in
		}
		cases := []struct {
			name  string
			in    models.TargetInput
			field string
			want  string
		}{
			{"empty name", with(func(in *models.TargetInput) { in.Name = " " }), "name", "Name is required."},
			{"long name", with(func(in *models.TargetInput) { in.Name = strings.Repeat("n", 129) }), "name", "Name must be at most 128 characters."},
			{"long description", with(func(in *models.TargetInput) { in.Description = strings.Repeat("d", 1025) }), "description", "Description must be at most 1024 characters."},
			{"port 0", with(func(in *models.TargetInput) { in.DefaultPort = 0 }), "default_port", "Default port must be a number between 1 and 65535."},
			{"port 65536", with(func(in *models.TargetInput) { in.DefaultPort = 65536 }), "default_port", "Default port must be a number between 1 and 65535."},
			{"port -1", with(func(in *models.TargetInput) { in.DefaultPort = -1 }), "default_port", "Default port must be a number between 1 and 65535."},
			{"bad address", with(func(in *models.TargetInput) { in.Address = "db:22" }), "address", "Address must be a host name or IP address, without a scheme or port."},
			{"bad host name", with(func(in *models.TargetInput) { in.Address = "a b" }), "address", "Address must be a host name (like db.example.com) or an IP address."},
			{"max seconds 0", with(func(in *models.TargetInput) { in.SessionMaxSeconds = 0 }), "session_max_seconds", "Maximum session length must be longer than 0."},
			{"max seconds -5", with(func(in *models.TargetInput) { in.SessionMaxSeconds = -5 }), "session_max_seconds", "Maximum session length must be longer than 0."},
			{"limit 0", with(func(in *models.TargetInput) { in.SessionConnectionLimit = 0 }), "session_connection_limit", "Choose Unlimited, or a connection limit of at least 1."},
			{"limit -2", with(func(in *models.TargetInput) { in.SessionConnectionLimit = -2 }), "session_connection_limit", "Choose Unlimited, or a connection limit of at least 1."},
		}
		for _, tc := range cases {
			_, err := store.CreateTarget(ctx, admin, p.ID, tc.in)
			if got := models.FieldErrors(err)[tc.field]; got != tc.want {
				t.Errorf("%s: %s = %q, want %q (err %v)", tc.name, tc.field, got, tc.want, err)
			}
		}
		if n := count(t, store, "targets", ""); n != 0 {
			t.Fatalf("bad input wrote %d targets", n)
		}
		if _, err := store.CreateTarget(ctx, admin, *p.ParentID, tcp("t", 22, "")); models.FieldErrors(err)["scope"] == "" {
			t.Fatalf("target in an org: %v", err)
		}
		if _, err := store.CreateTarget(ctx, models.Anonymous, p.ID, tcp("t", 22, "")); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("anonymous: %v", err)
		}
		// The database holds the same ranges.
		good, err := store.CreateTarget(ctx, admin, p.ID, tcp("good", 22, ""))
		if err != nil {
			t.Fatal(err)
		}
		for _, set := range []string{"default_port = 0", "default_port = 65536", "session_max_seconds = 0", "session_connection_limit = 0",
			"session_connection_limit = -2", "type = 'ssh'", "name = ''"} {
			if err := store.DB().Exec("UPDATE targets SET "+set+" WHERE id = ?", good.ID).Error; err == nil {
				t.Errorf("database accepted %s", set)
			}
		}
	})
}

func TestTargetHostSources(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		p := project(t, store, admin, "Acme", "Prod")
		q := project(t, store, admin, "Acme", "Other")
		c, _ := store.CreateHostCatalog(ctx, admin, p.ID, models.HostCatalogInput{Name: "Servers"})
		h, _ := store.CreateHost(ctx, admin, c.ID, models.HostInput{Name: "db1", Address: "10.0.0.1"})
		hs, err := store.CreateHostSet(ctx, admin, c.ID, models.HostSetInput{Name: "dbs"}, []string{h.ID})
		if err != nil {
			t.Fatal(err)
		}
		qc, _ := store.CreateHostCatalog(ctx, admin, q.ID, models.HostCatalogInput{Name: "Elsewhere"})
		qhs, _ := store.CreateHostSet(ctx, admin, qc.ID, models.HostSetInput{Name: "far"}, nil)

		direct, _ := store.CreateTarget(ctx, admin, p.ID, tcp("direct", 22, "10.1.1.1"))
		if err := store.AddTargetHostSources(ctx, admin, direct.ID, []string{hs.ID}); models.FieldErrors(err)["host_set_ids"] == "" {
			t.Fatalf("address + host sources: %v", err)
		}
		tg, _ := store.CreateTarget(ctx, admin, p.ID, tcp("pg", 5432, ""))
		if err := store.AddTargetHostSources(ctx, admin, tg.ID, nil); models.FieldErrors(err)["host_set_ids"] == "" {
			t.Fatalf("no host sets: %v", err)
		}
		if err := store.AddTargetHostSources(ctx, admin, tg.ID, []string{hs.ID, qhs.ID}); models.FieldErrors(err)["host_set_ids"] == "" {
			t.Fatalf("cross-project host source: %v", err)
		}
		if n := count(t, store, "target_host_sources", ""); n != 0 {
			t.Fatalf("failed add left %d host sources", n)
		}
		if err := store.AddTargetHostSources(ctx, admin, tg.ID, []string{hs.ID}); err != nil {
			t.Fatal(err)
		}
		if err := store.AddTargetHostSources(ctx, admin, tg.ID, []string{hs.ID}); err != nil {
			t.Fatalf("adding again: %v", err)
		}
		if _, err := store.UpdateTarget(ctx, admin, tg.ID, tg.Version, tcp("pg", 5432, "10.0.0.9")); models.FieldErrors(err)["address"] == "" {
			t.Fatalf("address on a target with host sources: %v", err)
		}
		// The database refuses both as well.
		if err := store.DB().Exec("UPDATE targets SET address = '10.0.0.9' WHERE id = ?", tg.ID).Error; err == nil {
			t.Fatal("database accepted an address on a target with host sources")
		}
		if err := store.DB().Exec("INSERT INTO target_host_sources (target_id, host_set_id, scope_id, created_at) VALUES (?, ?, ?, ?)",
			direct.ID, hs.ID, p.ID, store.Now()).Error; err == nil {
			t.Fatal("database accepted host sources on a target with an address")
		}
		if err := store.DB().Exec("INSERT INTO target_host_sources (target_id, host_set_id, scope_id, created_at) VALUES (?, ?, ?, ?)",
			tg.ID, qhs.ID, p.ID, store.Now()).Error; err == nil {
			t.Fatal("database accepted a host set of another project")
		}
		d, err := store.GetTarget(ctx, admin, tg.ID)
		if err != nil || len(d.HostSources) != 1 || d.HostSources[0].HostSetName != "dbs" || d.HostSources[0].CatalogName != "Servers" || d.HostSources[0].Hosts != 1 {
			t.Fatalf("target = %+v, %v", d, err)
		}
		st, err := store.TargetForSession(ctx, admin, tg.ID)
		if err != nil || len(st.Hosts) != 1 || st.Hosts[0].Address != "10.0.0.1" || st.Hosts[0].HostName != "db1" || st.Hosts[0].HostSetID != hs.ID ||
			st.Hosts[0].CatalogName != "Servers" || st.ProjectName != "Prod" || st.OrgName != "Acme" {
			t.Fatalf("session target = %+v, %v", st, err)
		}
		if err := store.RemoveTargetHostSource(ctx, admin, tg.ID, hs.ID); err != nil {
			t.Fatal(err)
		}
		if err := store.RemoveTargetHostSource(ctx, admin, tg.ID, hs.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("remove twice: %v", err)
		}
		if _, err := store.UpdateTarget(ctx, admin, tg.ID, tg.Version, tcp("pg", 5432, "10.0.0.9")); err != nil {
			t.Fatalf("address once host sources are gone: %v", err)
		}
		// Deleting a host set removes it from targets.
		tg2, _ := store.CreateTarget(ctx, admin, p.ID, tcp("pg2", 5432, ""))
		if err := store.AddTargetHostSources(ctx, admin, tg2.ID, []string{hs.ID}); err != nil {
			t.Fatal(err)
		}
		if err := store.DeleteHostSet(ctx, admin, hs.ID); err != nil {
			t.Fatal(err)
		}
		if n := count(t, store, "target_host_sources", "target_id = ?", tg2.ID); n != 0 {
			t.Fatalf("deleted host set still a source")
		}
	})
}

func TestDeleteProjectRemovesInfrastructure(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		p := project(t, store, admin, "Acme", "Prod")
		seedSmallProject(t, store, admin, p.ID)
		if err := store.DeleteScope(ctx, admin, p.ID); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"host_catalogs", "hosts", "host_sets", "host_set_members", "targets", "target_host_sources",
			"credential_stores", "credentials", "target_credential_sources"} {
			if n := count(t, store, table, ""); n != 0 {
				t.Errorf("%s keeps %d rows after its project was deleted", table, n)
			}
		}
	})
}

// seedSmallProject makes a catalog with a host in a host set, a store with a
// credential, and two targets (one direct, one through the host set, with
// the credential brokered).
func seedSmallProject(t *testing.T, store *models.Store, admin models.Actor, projectID string) (direct, viaSet *models.Target) {
	t.Helper()
	ctx := context.Background()
	c, err := store.CreateHostCatalog(ctx, admin, projectID, models.HostCatalogInput{Name: "Servers"})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := store.CreateHost(ctx, admin, c.ID, models.HostInput{Name: "db1", Address: "10.0.0.1"})
	hs, _ := store.CreateHostSet(ctx, admin, c.ID, models.HostSetInput{Name: "dbs"}, []string{h.ID})
	cs, _ := store.CreateCredentialStore(ctx, admin, projectID, models.CredentialStoreInput{Name: "Vault"})
	cred, err := store.CreateCredential(ctx, admin, cs.ID, models.CredentialInput{Type: models.CredentialUsernamePassword, Name: "pg admin", Username: "postgres", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	direct, _ = store.CreateTarget(ctx, admin, projectID, tcp("echo", 9201, "127.0.0.1"))
	viaSet, _ = store.CreateTarget(ctx, admin, projectID, tcp("postgres", 5432, ""))
	if err := store.AddTargetHostSources(ctx, admin, viaSet.ID, []string{hs.ID}); err != nil {
		t.Fatal(err)
	}
	if err := store.AddTargetCredentialSources(ctx, admin, viaSet.ID, []string{cred.ID}); err != nil {
		t.Fatal(err)
	}
	return direct, viaSet
}

func TestMyTargets(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		p := project(t, store, admin, "Acme", "Prod")
		q := project(t, store, admin, "Beta", "Stage")
		direct, viaSet := seedSmallProject(t, store, admin, p.ID)
		if _, err := store.CreateTarget(ctx, admin, q.ID, models.TargetInput{Name: "web", DefaultPort: 443, Address: "web.example.com",
			SessionMaxSeconds: 90, SessionConnectionLimit: 2}); err != nil {
			t.Fatal(err)
		}
		page, err := store.ListMyTargets(ctx, admin, models.MyTargetsOptions{})
		if err != nil || page.Total != 3 || len(page.Items) != 3 || len(page.Projects) != 2 {
			t.Fatalf("my targets = %+v, %v", page, err)
		}
		if page.Projects[0].Name != "Prod" || page.Projects[0].OrgName != "Acme" || page.Projects[1].Name != "Stage" {
			t.Fatalf("projects = %+v", page.Projects)
		}
		byName := map[string]models.MyTarget{}
		for _, it := range page.Items {
			byName[it.Name] = it
		}
		e := byName["echo"]
		if e.ID != direct.ID || e.AddressText() != "127.0.0.1" || e.DefaultPort != 9201 || e.ProjectName != "Prod" || e.OrgName != "Acme" ||
			len(e.HostNames) != 0 || len(e.Credentials) != 0 || !e.Actions[models.ActionAuthorizeSession] {
			t.Fatalf("echo = %+v", e)
		}
		pg := byName["postgres"]
		if pg.ID != viaSet.ID || pg.Address != nil || strings.Join(pg.HostNames, ",") != "db1" || strings.Join(pg.Credentials, ",") != "pg admin" {
			t.Fatalf("postgres = %+v", pg)
		}
		w := byName["web"]
		if w.SessionMaxSeconds != 90 || w.SessionConnectionLimit != 2 || w.ProjectName != "Stage" || w.OrgName != "Beta" {
			t.Fatalf("web = %+v", w)
		}
		if page, _ := store.ListMyTargets(ctx, admin, models.MyTargetsOptions{ProjectID: q.ID}); page.Total != 1 || page.Items[0].Name != "web" {
			t.Fatalf("project filter = %+v", page)
		}
		if page, _ := store.ListMyTargets(ctx, admin, models.MyTargetsOptions{ListOptions: models.ListOptions{Search: "POST"}}); page.Total != 1 || page.Items[0].Name != "postgres" {
			t.Fatalf("search = %+v", page)
		}
		p2, _ := store.ListMyTargets(ctx, admin, models.MyTargetsOptions{ListOptions: models.ListOptions{Page: 2, PerPage: 2}})
		if p2.Total != 3 || len(p2.Items) != 1 || p2.Items[0].Name != "web" || p2.Pages() != 2 {
			t.Fatalf("page 2 = %+v", p2)
		}
		// A user without grants sees nothing and gets 404s (the stub policy;
		// the RBAC branch tests the full matrix).
		bob := plainUser(t, store, admin, "bob")
		if page, err := store.ListMyTargets(ctx, bob, models.MyTargetsOptions{}); err != nil || page.Total != 0 || len(page.Items) != 0 || len(page.Projects) != 0 {
			t.Fatalf("bob's targets = %+v, %v", page, err)
		}
		if _, err := store.GetTarget(ctx, bob, direct.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("bob reads a target: %v", err)
		}
		if _, err := store.TargetForSession(ctx, bob, direct.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("bob authorizes a session: %v", err)
		}
		if _, err := store.ListMyTargets(ctx, models.Anonymous, models.MyTargetsOptions{}); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("anonymous: %v", err)
		}
	})
}
