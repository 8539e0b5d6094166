package devseed

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

func TestSeedDevInfrastructureIsIdempotent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store) // the bootstrap admin, login name "admin"
		for run := 0; run < 2; run++ {
			if _, err := infrastructure(ctx, store, admin); err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
		}
		page, err := store.ListMyTargets(ctx, admin, models.MyTargetsOptions{})
		if err != nil || page.Total != 2 || len(page.Projects) != 1 {
			t.Fatalf("targets after two runs = %+v, %v", page, err)
		}
		if p := page.Projects[0]; p.Name != devProjectName || p.OrgName != devOrgName {
			t.Fatalf("project = %+v", p)
		}
		echo, pg := page.Items[0], page.Items[1]
		if echo.Name != devEchoTarget || echo.AddressText() != "127.0.0.1" || echo.DefaultPort != EchoPort || echo.SessionMaxSeconds != 28800 || echo.SessionConnectionLimit != -1 {
			t.Fatalf("echo = %+v", echo)
		}
		if pg.Name != devPGTarget || pg.Address != nil || pg.DefaultPort != 5432 || strings.Join(pg.HostNames, ",") != devHostName {
			t.Fatalf("postgres-local = %+v", pg)
		}
		st, err := store.TargetForSession(ctx, admin, pg.ID)
		if err != nil || len(st.Hosts) != 1 || st.Hosts[0].Address != "127.0.0.1" || st.Hosts[0].HostSetName != devHostSetName || st.Hosts[0].CatalogName != devCatalogName {
			t.Fatalf("postgres-local hosts = %+v, %v", st, err)
		}
	})
}

func TestSeedIsIdempotentAndGivesTheSREGroupARole(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		ext, _ := url.Parse("http://127.0.0.1:9200")
		for run := 0; run < 2; run++ {
			mounts := map[string]http.Handler{}
			if err := Seed(ctx, store, ext, mounts, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
			if mounts[devIdPPath] == nil {
				t.Fatalf("run %d: the dev provider is not mounted: %v", run, mounts)
			}
		}
		page, err := store.ListMyTargets(ctx, admin, models.MyTargetsOptions{})
		if err != nil || len(page.Projects) != 1 {
			t.Fatalf("projects = %+v, %v", page, err)
		}
		roles, err := store.ListRoles(ctx, admin, page.Projects[0].ID, models.ListOptions{Search: devAccessRoleName})
		if err != nil || len(roles.Items) != 1 || roles.Items[0].Name != devAccessRoleName {
			t.Fatalf("roles after two runs = %+v, %v", roles.Items, err)
		}
	})
}
