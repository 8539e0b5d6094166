package models_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// infraBenchConfig sizes the infrastructure a benchmark seeds.
type infraBenchConfig struct {
	Orgs               int // projects are spread evenly over the orgs
	Projects           int
	TargetsPerProject  int
	HostsPerProject    int // all in one host set per project
	CredentialsPerProj int // username/password, brokered by every host-source target
}

// defaultInfraBench is issue 4's figure: 10,000 targets in 100 projects.
var defaultInfraBench = infraBenchConfig{Orgs: 10, Projects: 100, TargetsPerProject: 100, HostsPerProject: 5, CredentialsPerProj: 1}

// infraBenchWorld is what seedInfraBench made, for later steps (the RBAC
// benchmark grants roles on these ids).
type infraBenchWorld struct {
	Admin      models.Actor
	OrgIDs     []string
	ProjectIDs []string
	TargetIDs  []string // in creation order, TargetsPerProject per project
	HostSetIDs []string // one per project
}

// seedInfraBench fills a store with orgs, projects, catalogs, hosts, host
// sets, credential stores, credentials and targets. Scopes and credentials
// go through the use cases; the bulk rows are inserted in batches through
// store.DB() (half the targets have a direct address, half the project's
// host set plus its brokered credentials). Reusable by any benchmark of
// package models_test.
func seedInfraBench(tb testing.TB, store *models.Store, cfg infraBenchConfig) infraBenchWorld {
	tb.Helper()
	ctx := context.Background()
	w := infraBenchWorld{Admin: dbtest.Admin(tb, store)}
	now := store.Now()
	for i := 0; i < cfg.Orgs; i++ {
		o, err := store.CreateScope(ctx, w.Admin, models.GlobalScopeID, models.ScopeInput{Name: fmt.Sprintf("org-%03d", i)})
		if err != nil {
			tb.Fatal(err)
		}
		w.OrgIDs = append(w.OrgIDs, o.ID)
	}
	var (
		catalogs []models.HostCatalog
		hosts    []models.Host
		sets     []models.HostSet
		members  []models.HostSetMember
		targets  []models.Target
		hsrc     []models.TargetHostSource
		csrc     []models.TargetCredentialSource
	)
	for pi := 0; pi < cfg.Projects; pi++ {
		p, err := store.CreateScope(ctx, w.Admin, w.OrgIDs[pi%cfg.Orgs], models.ScopeInput{Name: fmt.Sprintf("project-%03d", pi)})
		if err != nil {
			tb.Fatal(err)
		}
		w.ProjectIDs = append(w.ProjectIDs, p.ID)
		cat := models.HostCatalog{ID: models.NewID(models.PrefixHostCatalog), ScopeID: p.ID, Type: "static", Name: "catalog", CreatedAt: now, UpdatedAt: now, Version: 1}
		set := models.HostSet{ID: models.NewID(models.PrefixHostSet), CatalogID: cat.ID, ScopeID: p.ID, Name: "all", CreatedAt: now, UpdatedAt: now, Version: 1}
		catalogs, sets = append(catalogs, cat), append(sets, set)
		w.HostSetIDs = append(w.HostSetIDs, set.ID)
		for hi := 0; hi < cfg.HostsPerProject; hi++ {
			h := models.Host{ID: models.NewID(models.PrefixHost), CatalogID: cat.ID, ScopeID: p.ID, Name: fmt.Sprintf("host-%02d", hi),
				Address: fmt.Sprintf("10.%d.%d.%d", pi/250, pi%250, hi+1), CreatedAt: now, UpdatedAt: now, Version: 1}
			hosts = append(hosts, h)
			members = append(members, models.HostSetMember{HostSetID: set.ID, HostID: h.ID, CatalogID: cat.ID, CreatedAt: now})
		}
		var credIDs []string
		if cfg.CredentialsPerProj > 0 {
			cs, err := store.CreateCredentialStore(ctx, w.Admin, p.ID, models.CredentialStoreInput{Name: "store"})
			if err != nil {
				tb.Fatal(err)
			}
			for ci := 0; ci < cfg.CredentialsPerProj; ci++ {
				c, err := store.CreateCredential(ctx, w.Admin, cs.ID, models.CredentialInput{Type: models.CredentialUsernamePassword,
					Name: fmt.Sprintf("cred-%d", ci), Username: "svc", Password: "pw"})
				if err != nil {
					tb.Fatal(err)
				}
				credIDs = append(credIDs, c.ID)
			}
		}
		for ti := 0; ti < cfg.TargetsPerProject; ti++ {
			t := models.Target{ID: models.NewID(models.PrefixTarget), ScopeID: p.ID, Type: "tcp", Name: fmt.Sprintf("target-%03d-%03d", pi, ti),
				Description: "benchmark target", DefaultPort: 22, SessionMaxSeconds: models.DefaultSessionMaxSeconds,
				SessionConnectionLimit: models.UnlimitedConnections, CreatedAt: now, UpdatedAt: now, Version: 1}
			if ti%2 == 0 {
				addr := fmt.Sprintf("direct-%d.example.com", ti)
				t.Address = &addr
			} else {
				hsrc = append(hsrc, models.TargetHostSource{TargetID: t.ID, HostSetID: set.ID, ScopeID: p.ID, CreatedAt: now})
				for _, c := range credIDs {
					csrc = append(csrc, models.TargetCredentialSource{TargetID: t.ID, CredentialID: c, ScopeID: p.ID, Purpose: "brokered", CreatedAt: now})
				}
			}
			targets = append(targets, t)
			w.TargetIDs = append(w.TargetIDs, t.ID)
		}
	}
	db := store.DB().WithContext(ctx)
	for _, rows := range []any{&catalogs, &hosts, &sets, &members, &targets, &hsrc, &csrc} {
		if err := db.CreateInBatches(rows, 500).Error; err != nil {
			tb.Fatalf("seed %T: %v", rows, err)
		}
	}
	if store.Dialect() == models.Postgres {
		_ = db.Exec("ANALYZE").Error
	}
	return w
}

// BenchmarkMyTargets measures the My targets query (ListMyTargets, one page
// of 25 with its hosts, credentials and project filter) over 10,000 targets
// in 100 projects, on both databases, and reports p50/p99 per call. The
// actor is the administrator; the role-heavy variant (200 roles) is added
// with the RBAC evaluator.
func BenchmarkMyTargets(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			store := dbtest.Open(b, d, models.Options{})
			start := time.Now()
			w := seedInfraBench(b, store, defaultInfraBench)
			b.Logf("%s: seeded %d targets in %d projects in %s", d, len(w.TargetIDs), len(w.ProjectIDs), time.Since(start).Round(time.Millisecond))
			cases := []struct {
				name string
				opt  models.MyTargetsOptions
			}{
				{"first-page", models.MyTargetsOptions{}},
				{"page-200", models.MyTargetsOptions{ListOptions: models.ListOptions{Page: 200}}},
				{"search", models.MyTargetsOptions{ListOptions: models.ListOptions{Search: "target-042"}}},
				{"project", models.MyTargetsOptions{ProjectID: w.ProjectIDs[7]}},
			}
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					benchMyTargets(b, store, w.Admin, c.opt)
				})
			}
		})
	}
}

// benchMyTargets runs ListMyTargets b.N times and reports p50 and p99.
func benchMyTargets(b *testing.B, store *models.Store, a models.Actor, opt models.MyTargetsOptions) {
	ctx := context.Background()
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		page, err := store.ListMyTargets(ctx, a, opt)
		times = append(times, time.Since(t0))
		if err != nil || len(page.Items) == 0 {
			b.Fatalf("my targets: %d items, %v", len(page.Items), err)
		}
	}
	b.StopTimer()
	slices.Sort(times)
	pct := func(p float64) float64 {
		return float64(times[min(len(times)-1, int(float64(len(times))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
