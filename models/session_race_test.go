package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
	"gatehouse/models/acl"
)

// countingLibrary counts Revoke calls per session.
type countingLibrary struct {
	mu      sync.Mutex
	revoked map[string]int
}

func (l *countingLibrary) Issue(ctx context.Context, tx *models.Store, src models.CredentialSource) (*models.IssuedCredential, error) {
	return models.StaticLibrary.Issue(ctx, tx, src)
}

func (l *countingLibrary) Revoke(ctx context.Context, tx *models.Store, c models.SessionCredentialRow) error {
	l.mu.Lock()
	l.revoked[c.SessionID]++
	l.mu.Unlock()
	return nil
}

// TestSessionRaces runs cancel (twice, by two people), expiry, the deletion
// cancel and connection closing at once, many times: every session ends
// terminated with a truthful reason, its history is one row per real move,
// all legal, and each credential is revoked exactly once.
func TestSessionRaces(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			lib := &countingLibrary{revoked: map[string]int{}}
			f := newSessionFixture(t, d, models.SessionOptions{CredentialLibraries: map[string]models.CredentialLibrary{models.SourceStatic: lib}})
			ctx := context.Background()
			rounds := 40
			if testing.Short() {
				rounds = 10
			}
			for i := 0; i < rounds; i++ {
				st := f.start(t)
				var conn string
				withConn := i%2 == 1
				if withConn {
					adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: st.Token})
					if err != nil {
						t.Fatal(err)
					}
					conn = adm.Connection.ID
				}
				expire := i%3 != 0
				if expire {
					f.clock.Add(2 * time.Hour)
				}
				var wg sync.WaitGroup
				errs := make(chan error, 8)
				run := func(fn func() error) {
					wg.Add(1)
					go func() { defer wg.Done(); errs <- fn() }()
				}
				run(func() error { _, err := f.store.CancelSession(ctx, f.alice, st.Session.ID); return err })
				run(func() error { _, err := f.store.CancelSession(ctx, f.admin, st.Session.ID); return err })
				run(func() error { _, err := f.store.SweepSessions(ctx); return err })
				run(func() error {
					return f.store.Transact(ctx, func(tx *models.Store) error {
						_, err := tx.CancelSessionsOf(ctx, acl.Resource{Type: "target", ID: f.target})
						return err
					})
				})
				if withConn {
					run(func() error { return f.store.ConnectionClosed(ctx, conn, 1, 2, "closed by end-user") })
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Fatalf("round %d: %v", i, err)
					}
				}
				if _, err := f.store.SweepSessions(ctx); err != nil {
					t.Fatal(err)
				}
				dd := f.get(t, st.Session.ID)
				checkHistory(t, dd)
				if dd.State != models.StateTerminated {
					t.Fatalf("round %d: state %s", i, dd.State)
				}
				if r := dd.ReasonText(); r != "canceled" && !(expire && r == "timed out") {
					t.Fatalf("round %d: reason %q", i, r)
				}
				if lib.revoked[st.Session.ID] != 1 {
					t.Fatalf("round %d: revoked %d times", i, lib.revoked[st.Session.ID])
				}
			}
		})
	}
}

// TestAdmitRace: N concurrent attempts on a limit of L admit exactly
// min(N, L), and the session moves pending → active once.
func TestAdmitRace(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		for _, limit := range []int{1, 3, 10} {
			if err := f.store.DB().Exec("UPDATE targets SET session_connection_limit = ? WHERE id = ?", limit, f.target).Error; err != nil {
				t.Fatal(err)
			}
			st := f.start(t)
			const n = 8
			var wg sync.WaitGroup
			var mu sync.Mutex
			admitted := 0
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: st.Token})
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						admitted++
					} else if !errors.Is(err, models.ErrLimitReached) {
						t.Errorf("admit: %v", err)
					}
				}()
			}
			wg.Wait()
			if admitted != min(n, limit) {
				t.Fatalf("limit %d: admitted %d", limit, admitted)
			}
			d := f.get(t, st.Session.ID)
			checkHistory(t, d)
			if d.State != models.StateActive || len(d.History) != 2 || d.ConnectionCount != admitted || len(d.Connections) != admitted {
				t.Fatalf("limit %d: %+v", limit, d.Session)
			}
		}
	})
}
