package models_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

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
			w := dbtest.SeedInfraBench(b, store, dbtest.DefaultInfraBench)
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

// BenchmarkMyTargetsHeavyUser is issue 4's figure: My targets for a user
// holding 200 roles through groups and managed groups
// (dbtest.SeedHeavyUser) over 10,000 targets in 100 projects, on both
// databases. One request is what the web layer does: LoginByToken (loads
// the roles, builds the ACL, computes the navigation) then ListMyTargets.
// The "evaluator" case reports the authorization part of one request
// separately: loading the roles and building the ACL, the navigation
// capabilities, and the list condition.
func BenchmarkMyTargetsHeavyUser(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			store := dbtest.Open(b, d, models.Options{})
			start := time.Now()
			w := dbtest.SeedInfraBench(b, store, dbtest.DefaultInfraBench)
			h := dbtest.SeedHeavyUser(b, store, w)
			b.Logf("%s: seeded %d targets, a user with %d roles, in %s", d, len(w.TargetIDs), h.Roles, time.Since(start).Round(time.Millisecond))
			a, _, err := store.LoginByToken(ctx, h.Token)
			if err != nil {
				b.Fatal(err)
			}
			first, err := store.ListMyTargets(ctx, a, models.MyTargetsOptions{})
			if err != nil || first.Total != h.SessionTargets || len(first.Projects) != h.SessionProjects {
				b.Fatalf("heavy user's my targets: total %d in %d projects (want %d in %d), %v", first.Total, len(first.Projects), h.SessionTargets, h.SessionProjects, err)
			}
			cases := []struct {
				name string
				opt  models.MyTargetsOptions
			}{
				{"first-page", models.MyTargetsOptions{}},
				{"page-200", models.MyTargetsOptions{ListOptions: models.ListOptions{Page: 200}}},
				{"search", models.MyTargetsOptions{ListOptions: models.ListOptions{Search: "target-042"}}},
				{"project", models.MyTargetsOptions{ProjectID: w.ProjectIDs[7]}},
				{"project-named-ids", models.MyTargetsOptions{ProjectID: w.ProjectIDs[77]}},
			}
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					times := make([]time.Duration, 0, b.N)
					for b.Loop() {
						t0 := time.Now()
						a, _, err := store.LoginByToken(ctx, h.Token)
						if err != nil {
							b.Fatal(err)
						}
						page, err := store.ListMyTargets(ctx, a, c.opt)
						times = append(times, time.Since(t0))
						if err != nil || len(page.Items) == 0 {
							b.Fatalf("my targets: %d items, %v", len(page.Items), err)
						}
					}
					reportPercentiles(b, times)
				})
			}
			b.Run("evaluator", func(b *testing.B) {
				var load, caps, cond []time.Duration
				for b.Loop() {
					fresh := a.WithFreshACL()
					t0 := time.Now()
					if err := store.LoadACLForBench(ctx, fresh); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					store.CapabilitiesForBench(ctx, fresh)
					t2 := time.Now()
					if _, _, err := store.ListConditionForBench(ctx, fresh); err != nil {
						b.Fatal(err)
					}
					t3 := time.Now()
					load, caps, cond = append(load, t1.Sub(t0)), append(caps, t2.Sub(t1)), append(cond, t3.Sub(t2))
				}
				mean := func(ds []time.Duration) float64 {
					var sum time.Duration
					for _, d := range ds {
						sum += d
					}
					return float64(sum.Microseconds()) / float64(len(ds)) / 1000
				}
				b.ReportMetric(mean(load), "load-acl-ms")
				b.ReportMetric(mean(caps), "capabilities-ms")
				b.ReportMetric(mean(cond), "list-cond-ms")
				b.ReportMetric(mean(load)+mean(caps)+mean(cond), "evaluator-ms")
			})
		})
	}
}

// reportPercentiles reports p50 and p99 of times in milliseconds.
func reportPercentiles(b *testing.B, times []time.Duration) {
	slices.Sort(times)
	pct := func(p float64) float64 {
		return float64(times[min(len(times)-1, int(float64(len(times))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
