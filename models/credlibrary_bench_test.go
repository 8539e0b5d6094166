package models_test

import (
	"context"
	"testing"
	"time"

	"gatehouse/credlib"
	"gatehouse/dbtest"
	"gatehouse/models"
	"gatehouse/models/acl"
)

// BenchmarkStartSessionLibrary measures session starts on Postgres with no
// library and with a Postgres library (a role created on the real server
// per start); it reports p50 and p99 of each, the added latency being the
// difference.
//
//	go test ./models -run '^$' -bench StartSessionLibrary -benchtime 200x
func BenchmarkStartSessionLibrary(b *testing.B) {
	ctx := context.Background()
	for _, withLib := range []bool{false, true} {
		name := "none"
		if withLib {
			name = "postgres-library"
		}
		b.Run(name, func(b *testing.B) {
			f := newSessionFixture(b, models.Postgres, models.SessionOptions{})
			if withLib {
				pg := dbtest.NewPGTarget(b)
				f.attachLibrary(b, pgLibraryInput(pg, "bench"))
			}
			f.start(b) // warm up (pools, caches)
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				if _, err := f.store.StartSession(ctx, f.alice, models.StartSessionInput{TargetID: f.target}); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(t0))
			}
			b.StopTimer()
			reportPercentiles(b, times)
		})
	}
}

// BenchmarkRevokeBurst: 1,000 sessions holding Postgres roles end in the
// same second (one deletion cancel); it measures the time until every role
// is dropped by one instance and by two working the queue at once (two
// Stores on one database, as two `serve` instances).
//
//	go test ./models -run '^$' -bench RevokeBurst -benchtime 1x
func BenchmarkRevokeBurst(b *testing.B) {
	ctx := context.Background()
	const n = 1000
	for _, instances := range []int{1, 2} {
		b.Run(map[int]string{1: "one-instance", 2: "two-instances"}[instances], func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				f := newSessionFixture(b, models.Postgres, models.SessionOptions{})
				pg := dbtest.NewPGTarget(b)
				f.attachLibrary(b, pgLibraryInput(pg, "burst"))
				if err := f.store.DB().Exec("UPDATE targets SET session_connection_limit = -1").Error; err != nil {
					b.Fatal(err)
				}
				for range n {
					f.start(b)
				}
				if err := f.store.Transact(ctx, func(tx *models.Store) error {
					_, err := tx.CancelSessionsOf(ctx, acl.Resource{Type: "target", ID: f.target})
					return err
				}); err != nil {
					b.Fatal(err)
				}
				stores := make([]*models.Store, instances)
				for i := range stores {
					be := credlib.New()
					defer be.Close()
					stores[i] = models.NewStore(f.store.DB(), models.Postgres, models.Options{Now: f.clock.Now, Crypter: f.crypter,
						CredentialBackend: be})
				}
				b.StartTimer()
				t0 := time.Now()
				drainRevocations(b, stores...)
				d := time.Since(t0)
				b.StopTimer()
				if left := pg.Roles(b); len(left) != 0 {
					b.Fatalf("%d roles left", len(left))
				}
				b.ReportMetric(d.Seconds(), "s-all-dropped")
				b.ReportMetric(float64(n)/d.Seconds(), "roles/s")
			}
		})
	}
}
