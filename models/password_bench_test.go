package models_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// BenchmarkConcurrentPasswordGuesses sends 40 wrong logins at once (the
// issue's figure: 161 MB → 1.0 GB without a bound) with the real argon2id
// cost (64 MiB a hash) and reports the peak Go heap in use while they run,
// bounded by the default limiter and, for comparison, unbounded.
//
//	go test ./models -run '^$' -bench ConcurrentPasswordGuesses -benchtime 3x
func BenchmarkConcurrentPasswordGuesses(b *testing.B) {
	for _, c := range []struct {
		name    string
		limiter *models.PasswordHashLimiter
	}{
		{"bounded-4", models.NewPasswordHashLimiter(models.DefaultPasswordHashSlots, models.DefaultPasswordHashWait)},
		{"unbounded", models.NewPasswordHashLimiter(1000, time.Minute)},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := models.DefaultPasswordParams
			store := dbtest.Open(b, models.SQLite, models.Options{PasswordParams: &p, PasswordHashes: c.limiter})
			boot, err := store.Bootstrap(context.Background(), models.BootstrapOptions{AdminPassword: "password"})
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			var peak atomic.Uint64
			done := make(chan struct{})
			sampled := make(chan struct{})
			go func() { // sample the heap every millisecond
				defer close(sampled)
				var ms runtime.MemStats
				for {
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak.Load() {
						peak.Store(ms.HeapInuse)
					}
					select {
					case <-done:
						return
					case <-time.After(time.Millisecond):
					}
				}
			}()
			var busy, checked atomic.Int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var wg sync.WaitGroup
				for g := 0; g < 40; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := store.AuthenticatePassword(context.Background(), models.PasswordLogin{AuthMethodID: boot.AuthMethodID,
							LoginName: fmt.Sprintf("guess%d", g), Password: "wrong", ClientIP: fmt.Sprintf("10.%d.%d.1", i%250, g)})
						switch {
						case errors.Is(err, models.ErrBusy):
							busy.Add(1)
						case errors.Is(err, models.ErrBadCredentials):
							checked.Add(1)
						default:
							b.Errorf("guess: %v", err)
						}
					}()
				}
				wg.Wait()
			}
			b.StopTimer()
			close(done)
			<-sampled
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(busy.Load())/float64(b.N), "busy/op")
			b.ReportMetric(float64(checked.Load())/float64(b.N), "checked/op")
		})
	}
}
