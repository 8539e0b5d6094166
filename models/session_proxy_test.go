package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gatehouse/models"
)

// TestAdmitLimitRaceManyTimes: N concurrent admissions released at once on
// a limit of L admit exactly min(N, L), many times over, on both
// databases; the pending → active move is recorded once and never refuses a
// concurrent first connection; closing every connection concurrently then
// terminates a session whose limit is used up with "connection limit".
func TestAdmitLimitRaceManyTimes(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		const n, rounds = 12, 10
		for _, limit := range []int{1, 2, 5, 12, -1} {
			must(t, f.store.DB().Exec("UPDATE targets SET session_connection_limit = ? WHERE id = ?", limit, f.target).Error)
			want := n
			if limit > 0 {
				want = min(n, limit)
			}
			for round := 0; round < rounds; round++ {
				st := f.start(t)
				var wg sync.WaitGroup
				var mu sync.Mutex
				var conns []string
				gate := make(chan struct{})
				for i := 0; i < n; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-gate
						adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: st.Token, ClientAddr: fmt.Sprintf("127.0.0.1:%d", 40000+i), UserIP: "192.0.2.9"})
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil:
							conns = append(conns, adm.Connection.ID)
						case !errors.Is(err, models.ErrLimitReached):
							t.Errorf("admit: %v", err)
						}
					}()
				}
				close(gate)
				wg.Wait()
				if len(conns) != want {
					t.Fatalf("limit %d round %d: admitted %d, want %d", limit, round, len(conns), want)
				}
				d := f.get(t, st.Session.ID)
				checkHistory(t, d)
				if d.State != models.StateActive || len(d.History) != 2 || d.ConnectionCount != want || d.OpenConnections != want || len(d.Connections) != want {
					t.Fatalf("limit %d round %d: %+v (%d connections)", limit, round, d.Session, len(d.Connections))
				}
				for _, c := range d.Connections {
					if c.ClientAddr == "" || c.UserIP != "192.0.2.9" || c.EndpointAddr != d.Endpoint || c.ClosedAt != nil || c.ConnectedAt != nil {
						t.Fatalf("connection row %+v", c)
					}
				}
				if round > 1 {
					continue // close concurrently in the first rounds only: it is the slow part
				}
				for _, id := range conns {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := f.store.ConnectionClosed(ctx, id, 3, 4, "closed by end-user"); err != nil {
							t.Errorf("close: %v", err)
						}
					}()
				}
				wg.Wait()
				d = f.get(t, st.Session.ID)
				checkHistory(t, d)
				wantState, wantReason := models.StateActive, ""
				if limit > 0 {
					wantState, wantReason = models.StateTerminated, "connection limit"
				}
				if d.State != wantState || d.ReasonText() != wantReason || d.OpenConnections != 0 ||
					d.BytesUp != int64(3*want) || d.BytesDown != int64(4*want) {
					t.Fatalf("limit %d after closing: %+v", limit, d.Session)
				}
				for _, c := range d.Connections {
					if c.ClosedReason == nil || *c.ClosedReason != "closed by end-user" || c.BytesUp != 3 || c.BytesDown != 4 {
						t.Fatalf("closed connection %+v", c)
					}
				}
			}
		}
	})
}

// TestSessionEndsReachTheWorker: cancels (live → canceling, idle →
// terminated), deletions and expiry tell the Ended hook after commit with
// the connection closed reason; a rolled back cancel and a session ended by
// its connection limit tell nothing.
func TestSessionEndsReachTheWorker(t *testing.T) {
	for _, d := range []models.Dialect{models.SQLite, models.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			var mu sync.Mutex
			var got []models.SessionEnd
			f := newSessionFixture(t, d, models.SessionOptions{Ended: func(e []models.SessionEnd) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, e...)
			}, EndedChannel: "gatehouse_session_ended"})
			take := func() []models.SessionEnd {
				mu.Lock()
				defer mu.Unlock()
				out := got
				got = nil
				return out
			}
			ctx := context.Background()
			live, idle := f.start(t), f.start(t)
			adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: live.Token})
			must(t, err)
			take()
			_, err = f.store.CancelSession(ctx, f.alice, live.Session.ID)
			must(t, err)
			if e := take(); len(e) != 1 || e[0] != (models.SessionEnd{SessionID: live.Session.ID, Reason: "canceled"}) {
				t.Fatalf("cancel live: %+v", e)
			}
			if s := f.get(t, live.Session.ID); s.State != models.StateCanceling {
				t.Fatalf("live session after cancel: %s", s.State)
			}
			_, err = f.store.CancelSession(ctx, f.alice, idle.Session.ID)
			must(t, err)
			if e := take(); len(e) != 1 || e[0] != (models.SessionEnd{SessionID: idle.Session.ID, Reason: "canceled"}) {
				t.Fatalf("cancel idle: %+v", e)
			}
			// The worker closes the canceled connection: the session terminates,
			// and nothing more needs cutting.
			must(t, f.store.ConnectionClosed(ctx, adm.Connection.ID, 1, 2, "canceled"))
			if e := take(); len(e) != 0 {
				t.Fatalf("after the last close: %+v", e)
			}
			// A cancel rolled back tells nothing.
			rb := f.start(t)
			boom := errors.New("roll back")
			if err := f.store.Transact(ctx, func(tx *models.Store) error {
				if _, err := tx.CancelSession(ctx, f.alice, rb.Session.ID); err != nil {
					return err
				}
				return boom
			}); !errors.Is(err, boom) {
				t.Fatal(err)
			}
			if e := take(); len(e) != 0 {
				t.Fatalf("rolled back: %+v", e)
			}
			// Deleting the target cancels its sessions; expiry times out.
			exp := f.start(t)
			_, err = f.store.AdmitConnection(ctx, models.AdmitInput{Token: exp.Token})
			must(t, err)
			f.clock.Add(9 * time.Hour)
			_, err = f.store.SweepSessions(ctx)
			must(t, err)
			ends := map[string]string{}
			for _, e := range take() {
				ends[e.SessionID] = e.Reason
			}
			if ends[exp.Session.ID] != "timed out" || ends[rb.Session.ID] != "timed out" || len(ends) != 2 {
				t.Fatalf("expiry: %+v", ends)
			}
			f.clock.Add(-9 * time.Hour)
			del := f.start(t)
			_, err = f.store.AdmitConnection(ctx, models.AdmitInput{Token: del.Token})
			must(t, err)
			take()
			must(t, f.store.DeleteTarget(ctx, f.admin, f.target))
			if e := take(); len(e) != 1 || e[0] != (models.SessionEnd{SessionID: del.Session.ID, Reason: "canceled"}) {
				t.Fatalf("delete target: %+v", e)
			}
			// The reconciliation agrees.
			gone, err := f.store.EndedSessions(ctx, []string{del.Session.ID, exp.Session.ID, live.Session.ID, "s_purged"})
			must(t, err)
			want := map[string]string{del.Session.ID: "canceled", exp.Session.ID: "timed out", live.Session.ID: "canceled", "s_purged": "system error"}
			if fmt.Sprint(gone) != fmt.Sprint(want) {
				t.Fatalf("ended sessions = %v, want %v", gone, want)
			}
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkAdmitOneSession admits connections from 16 concurrent callers
// on one session (unlimited) and, for comparison, each caller on its own
// session: what the row lock of the atomic admission costs.
//
//	go test ./models/ -run '^$' -bench AdmitOneSession -benchtime=2000x
func BenchmarkAdmitOneSession(b *testing.B) {
	for _, d := range []models.Dialect{models.Postgres, models.SQLite} {
		for _, shared := range []bool{true, false} {
			name := map[bool]string{true: "one-session", false: "own-sessions"}[shared]
			b.Run(string(d)+"/"+name, func(b *testing.B) {
				f := newSessionFixture(b, d, models.SessionOptions{})
				must(b, f.store.DB().Exec("UPDATE targets SET session_connection_limit = -1, session_max_seconds = 86400 WHERE id = ?", f.target).Error)
				const callers = 16
				tokens := make([]string, callers)
				first := f.start(b).Token
				for i := range tokens {
					tokens[i] = first
					if !shared {
						tokens[i] = f.start(b).Token
					}
				}
				ctx := context.Background()
				var wg sync.WaitGroup
				per := b.N / callers
				b.ResetTimer()
				for i := 0; i < callers; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for j := 0; j < per; j++ {
							if _, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: tokens[i]}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(per*callers)/b.Elapsed().Seconds(), "admits/s")
			})
		}
	}
}
