package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// changeLog records the live-page notifications.
type changeLog struct {
	mu      sync.Mutex
	changes []models.SessionChange
}

func (l *changeLog) SessionsChanged(c []models.SessionChange) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, c...)
}

func (l *changeLog) count(sessionID string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.changes {
		if c.SessionID == sessionID {
			n++
		}
	}
	return n
}

// TestAdmissionRecordsEveryConnection: the first connection of a session
// (pending → active) and the later ones (one statement on Postgres) are
// recorded alike, in the operational rows and the warehouse, with the
// worker's instance, and each admission and connect is announced to the
// live pages; the connect is recorded once (idempotent) in both places.
func TestAdmissionRecordsEveryConnection(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			log := &changeLog{}
			f := newSessionFixture(t, d, models.SessionOptions{InstanceID: "inst-a", Notifier: log})
			ctx := context.Background()
			must(t, f.store.DB().Exec("UPDATE targets SET session_connection_limit = 3 WHERE id = ?", f.target).Error)
			st := f.start(t)
			before := log.count(st.Session.ID)
			var ids []string
			for i := 0; i < 3; i++ {
				adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: st.Token, ClientAddr: "127.0.0.1:4000", UserIP: "192.0.2.7"})
				if err != nil {
					t.Fatalf("admit %d: %v", i, err)
				}
				if adm.Session.ID != st.Session.ID || adm.Session.ConnectionCount != i+1 || adm.Session.OpenConnections != i+1 ||
					adm.Session.State != models.StateActive || adm.Connection.EndpointAddr != adm.Session.Endpoint || adm.Session.Endpoint == "" {
					t.Fatalf("admission %d: %+v", i, adm)
				}
				ids = append(ids, adm.Connection.ID)
			}
			if _, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: st.Token}); err != models.ErrLimitReached {
				t.Fatalf("fourth admission on a limit of 3: %v", err)
			}
			if got := log.count(st.Session.ID) - before; got != 3 {
				t.Fatalf("%d notifications for 3 admissions", got)
			}
			for i := 0; i < 2; i++ { // the second time changes nothing
				must(t, f.store.ConnectionConnected(ctx, ids[1], "10.0.0.1:5432"))
			}
			dt := f.get(t, st.Session.ID)
			checkHistory(t, dt)
			if len(dt.History) != 2 || dt.ConnectionCount != 3 || len(dt.Connections) != 3 {
				t.Fatalf("session %+v, %d history rows, %d connections", dt.Session, len(dt.History), len(dt.Connections))
			}
			for _, c := range dt.Connections {
				connected := c.ID == ids[1]
				if c.InstanceID == nil || *c.InstanceID != "inst-a" || c.UserIP != "192.0.2.7" || c.ClientAddr != "127.0.0.1:4000" ||
					(c.ConnectedAt != nil) != connected || (connected && c.EndpointAddr != "10.0.0.1:5432") || (!connected && c.EndpointAddr != dt.Endpoint) {
					t.Fatalf("connection row %+v", c)
				}
			}
			var wh []struct {
				ConnectionID, EndpointAddr, UserIP string
				Connected                          bool
			}
			must(t, f.store.DB().Raw(`SELECT connection_id, endpoint_addr, user_ip, connected_at IS NOT NULL AS connected
				FROM warehouse_connections WHERE session_id = ? ORDER BY authorized_at, connection_id`, st.Session.ID).Scan(&wh).Error)
			var count int
			must(t, f.store.DB().Raw(`SELECT connection_count FROM warehouse_sessions WHERE session_id = ?`, st.Session.ID).Scan(&count).Error)
			if len(wh) != 3 || count != 3 {
				t.Fatalf("warehouse: %d connections, count %d", len(wh), count)
			}
			for _, w := range wh {
				// The warehouse keeps the session's endpoint it saw first.
				if w.UserIP != "192.0.2.7" || w.EndpointAddr != dt.Endpoint || w.Connected != (w.ConnectionID == ids[1]) {
					t.Fatalf("warehouse row %+v", w)
				}
			}
			if got := log.count(st.Session.ID) - before; got != 4 {
				t.Fatalf("%d notifications for 3 admissions and one connect", got)
			}
		})
	}
}

// TestAdmitBatchOnActiveSession: 40 admissions at once on a session that is
// already active (the group-commit path) admit exactly min(40, limit − 1)
// more, each recorded once in the operational rows and the warehouse, with
// the session's counts and the warehouse totals in agreement, on both
// databases and for several limits.
func TestAdmitBatchOnActiveSession(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		const n = 40
		for _, limit := range []int{2, 7, 30, -1} {
			must(t, f.store.DB().Exec("UPDATE targets SET session_connection_limit = ? WHERE id = ?", limit, f.target).Error)
			st := f.start(t)
			if _, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: st.Token, ClientAddr: "127.0.0.1:39999"}); err != nil {
				t.Fatal(err)
			}
			want := n
			if limit > 0 {
				want = min(n, limit-1)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			ids := map[string]bool{}
			refused := 0
			gate := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-gate
					adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: st.Token, ClientAddr: "127.0.0.1:40000", UserIP: "192.0.2.9"})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil && adm.Session.ID == st.Session.ID && adm.Connection.SessionID == st.Session.ID && !ids[adm.Connection.ID]:
						ids[adm.Connection.ID] = true
					case errors.Is(err, models.ErrLimitReached):
						refused++
					default:
						t.Errorf("admission %d: %+v, %v", i, adm, err)
					}
				}()
			}
			close(gate)
			wg.Wait()
			if len(ids) != want || refused != n-want {
				t.Fatalf("limit %d: admitted %d refused %d, want %d admitted", limit, len(ids), refused, want)
			}
			d := f.get(t, st.Session.ID)
			if d.State != models.StateActive || d.ConnectionCount != want+1 || d.OpenConnections != want+1 || len(d.Connections) != want+1 {
				t.Fatalf("limit %d: session %+v, %d connections", limit, d.Session, len(d.Connections))
			}
			for _, c := range d.Connections {
				if c.ClientAddr != "127.0.0.1:39999" && !ids[c.ID] {
					t.Fatalf("limit %d: connection %s recorded but not admitted", limit, c.ID)
				}
			}
			var w struct{ ConnectionCount, Rows int }
			must(t, f.store.DB().Raw(`SELECT ws.connection_count,
				(SELECT count(*) FROM warehouse_connections c WHERE c.session_id = ws.session_id) AS rows
				FROM warehouse_sessions ws WHERE ws.session_id = ?`, st.Session.ID).Scan(&w).Error)
			if w.ConnectionCount != want+1 || w.Rows != want+1 {
				t.Fatalf("limit %d: warehouse %+v, want %d", limit, w, want+1)
			}
		}
	})
}

// TestConnectsAtOnce: 30 connects recorded at once (the group-commit path)
// each set the connection's connected time and endpoint in the
// operational row and the warehouse; a connect of a closed connection and
// a repeated one change nothing.
func TestConnectsAtOnce(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		must(t, f.store.DB().Exec("UPDATE targets SET session_connection_limit = -1 WHERE id = ?", f.target).Error)
		ids := f.admitN(t, f.start(t).Token, 31)
		closed := ids[30]
		must(t, f.store.ConnectionClosed(ctx, closed, 0, 0, "closed by end-user"))
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := f.store.ConnectionConnected(ctx, id, fmt.Sprintf("127.0.0.1:%d", 7000+i)); err != nil {
					t.Errorf("connected %s: %v", id, err)
				}
			}()
		}
		wg.Wait()
		must(t, f.store.ConnectionConnected(ctx, ids[0], "127.0.0.1:9"))
		for i, id := range ids {
			var row struct {
				EndpointAddr, WEndpoint string
				Connected, WConnected   bool
			}
			must(t, f.store.DB().Raw(`SELECT c.endpoint_addr, w.endpoint_addr AS w_endpoint,
				c.connected_at IS NOT NULL AS connected, w.connected_at IS NOT NULL AS w_connected
				FROM session_connections c JOIN warehouse_connections w ON w.connection_id = c.id WHERE c.id = ?`, id).Scan(&row).Error)
			want := fmt.Sprintf("127.0.0.1:%d", 7000+i)
			if id == closed {
				if row.Connected || row.WConnected {
					t.Errorf("closed connection %s recorded connected: %+v", id, row)
				}
				continue
			}
			if !row.Connected || !row.WConnected || row.EndpointAddr != want || row.WEndpoint == "" {
				t.Errorf("connection %d: %+v, want endpoint %s", i, row, want)
			}
		}
	})
}
