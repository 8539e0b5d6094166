package models_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
)

// TestConnectionsClosedBatchTotals: one batch closes connections of two
// sessions, with a connection given twice (its last end counts), one
// already closed by an earlier call (its first reason stays, its bytes are
// set again), one whose bytes were flushed before (only what is new is
// added) and an unknown id (skipped). Afterwards each session's open count
// and byte totals equal what its connection rows say, and the warehouse's
// totals equal the sums of its connection rows, on both databases.
func TestConnectionsClosedBatchTotals(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		must(t, f.store.DB().Exec("UPDATE targets SET session_connection_limit = -1 WHERE id = ?", f.target).Error)
		a, b := f.start(t), f.start(t)
		admit := func(token string) string {
			t.Helper()
			adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: token, ClientAddr: "127.0.0.1:40000", UserIP: "192.0.2.9"})
			if err != nil {
				t.Fatalf("admit: %v", err)
			}
			must(t, f.store.ConnectionConnected(ctx, adm.Connection.ID, "127.0.0.1:7"))
			return adm.Connection.ID
		}
		var ca, cb []string
		for range 4 {
			ca = append(ca, admit(a.Token))
			cb = append(cb, admit(b.Token))
		}
		// Flushed, then closed in the batch with more bytes.
		must(t, f.store.FlushConnectionsBytes(ctx, []models.ConnectionBytes{{ConnectionID: ca[0], BytesUp: 100, BytesDown: 1000}}))
		must(t, f.store.FlushConnectionsBytes(ctx, []models.ConnectionBytes{{ConnectionID: ca[0], BytesUp: 150, BytesDown: 1500}}))
		// Closed before the batch.
		must(t, f.store.ConnectionClosed(ctx, cb[0], 7, 70, "closed by end-user"))
		n, err := f.store.ConnectionsClosed(ctx, []models.ConnectionEnd{
			{ConnectionID: ca[0], BytesUp: 200, BytesDown: 2000, Reason: "closed by end-user"},
			{ConnectionID: ca[1], BytesUp: 1, BytesDown: 2, Reason: "network error"},
			{ConnectionID: ca[1], BytesUp: 3, BytesDown: 4, Reason: "closed by end-user"},
			{ConnectionID: cb[0], BytesUp: 8, BytesDown: 80, Reason: "timed out"},
			{ConnectionID: cb[1], BytesUp: 5, BytesDown: 50, Reason: "closed by end-user"},
			{ConnectionID: "sc_unknown0000", BytesUp: 9, BytesDown: 9, Reason: "closed by end-user"},
		})
		if err != nil || n != 4 {
			t.Fatalf("ConnectionsClosed = %d, %v; want 4 known", n, err)
		}
		want := map[string]struct {
			up, down int64
			reason   string
		}{
			ca[0]: {200, 2000, "closed by end-user"}, ca[1]: {3, 4, "closed by end-user"},
			cb[0]: {8, 80, "closed by end-user"}, cb[1]: {5, 50, "closed by end-user"},
		}
		for _, st := range []*models.StartedSession{a, b} {
			d := f.get(t, st.Session.ID)
			var up, down int64
			open := 0
			for _, c := range d.Connections {
				up, down = up+c.BytesUp, down+c.BytesDown
				if c.ClosedAt == nil {
					open++
				}
				if w, ok := want[c.ID]; ok {
					if c.BytesUp != w.up || c.BytesDown != w.down || c.ClosedAt == nil || c.ClosedReason == nil || *c.ClosedReason != w.reason {
						t.Errorf("connection %s: bytes %d/%d closed %v reason %v, want %+v", c.ID, c.BytesUp, c.BytesDown, c.ClosedAt, c.ClosedReason, w)
					}
				} else if c.ClosedAt != nil {
					t.Errorf("connection %s closed, want open", c.ID)
				}
			}
			if d.State != models.StateActive || d.OpenConnections != open || open != 2 || d.ConnectionCount != 4 ||
				d.BytesUp != up || d.BytesDown != down {
				t.Errorf("session %s: state %s open %d (rows %d) count %d bytes %d/%d (rows %d/%d)", d.ID, d.State,
					d.OpenConnections, open, d.ConnectionCount, d.BytesUp, d.BytesDown, up, down)
			}
			var w struct {
				ConnectionCount    int
				BytesUp, BytesDown int64
				RowsUp, RowsDown   int64
				Rows, Closed       int
			}
			must(t, f.store.DB().Raw(`SELECT ws.connection_count, ws.bytes_up, ws.bytes_down,
				(SELECT SUM(bytes_up) FROM warehouse_connections WHERE session_id = ws.session_id) AS rows_up,
				(SELECT SUM(bytes_down) FROM warehouse_connections WHERE session_id = ws.session_id) AS rows_down,
				(SELECT count(*) FROM warehouse_connections WHERE session_id = ws.session_id) AS rows,
				(SELECT count(*) FROM warehouse_connections WHERE session_id = ws.session_id AND closed_at IS NOT NULL AND closed_reason <> '') AS closed
				FROM warehouse_sessions ws WHERE ws.session_id = ?`, st.Session.ID).Scan(&w).Error)
			if w.ConnectionCount != 4 || w.Rows != 4 || w.Closed != 2 || w.BytesUp != w.RowsUp || w.BytesDown != w.RowsDown || w.BytesUp != up || w.BytesDown != down {
				t.Errorf("warehouse of %s: %+v, want 4 connections, 2 closed, bytes %d/%d", st.Session.ID, w, up, down)
			}
		}
		// Closing the rest ends nothing (no limit, not canceling); a
		// second identical batch changes nothing.
		rest := []models.ConnectionEnd{}
		for _, id := range append(ca[2:], cb[2:]...) {
			rest = append(rest, models.ConnectionEnd{ConnectionID: id, BytesUp: 10, BytesDown: 10, Reason: "closed by end-user"})
		}
		for i := range 2 {
			if n, err := f.store.ConnectionsClosed(ctx, rest); err != nil || n != 4 {
				t.Fatalf("batch %d: %d, %v", i, n, err)
			}
			d := f.get(t, a.Session.ID)
			if d.OpenConnections != 0 || d.BytesUp != 223 || d.BytesDown != 2024 || d.State != models.StateActive {
				t.Fatalf("batch %d: session a open %d bytes %d/%d state %s", i, d.OpenConnections, d.BytesUp, d.BytesDown, d.State)
			}
		}
	})
}

// TestConnectionsClosedEndsCancelingSession: a canceling session whose last
// connections close in one batch terminates (canceled), once.
func TestConnectionsClosedEndsCancelingSession(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		must(t, f.store.DB().Exec("UPDATE targets SET session_connection_limit = -1 WHERE id = ?", f.target).Error)
		st := f.start(t)
		var ends []models.ConnectionEnd
		for i := range 3 {
			adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: st.Token, ClientAddr: fmt.Sprintf("127.0.0.1:%d", 40000+i)})
			if err != nil {
				t.Fatal(err)
			}
			ends = append(ends, models.ConnectionEnd{ConnectionID: adm.Connection.ID, BytesUp: 1, BytesDown: 1, Reason: "canceled"})
		}
		must(t, f.store.DB().Exec("UPDATE sessions SET state = 'canceling', previous_state = 'active', ending_reason = 'canceled' WHERE id = ?", st.Session.ID).Error)
		if _, err := f.store.ConnectionsClosed(ctx, ends[:1]); err != nil {
			t.Fatal(err)
		}
		if d := f.get(t, st.Session.ID); d.State != models.StateCanceling || d.OpenConnections != 2 {
			t.Fatalf("after one close: %s open %d", d.State, d.OpenConnections)
		}
		if _, err := f.store.ConnectionsClosed(ctx, ends[1:]); err != nil {
			t.Fatal(err)
		}
		d := f.get(t, st.Session.ID)
		if d.State != models.StateTerminated || d.ReasonText() != "canceled" || d.OpenConnections != 0 || d.BytesUp != 3 {
			t.Fatalf("after the last close: %s (%s) open %d bytes %d", d.State, d.ReasonText(), d.OpenConnections, d.BytesUp)
		}
	})
}

// TestConnectionEndKeepsItsTime: an end recorded after it happened (the
// worker records ends in batches, Config.CloseLinger) keeps its own time
// in the connection's row and the warehouse's, on both databases; an end
// without a time, or with one later than the recording, takes the time of
// recording.
func TestConnectionEndKeepsItsTime(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		must(t, f.store.DB().Exec("UPDATE targets SET session_connection_limit = -1 WHERE id = ?", f.target).Error)
		st := f.start(t)
		ids := f.admitN(t, st.Token, 3)
		var connectedAt []time.Time
		for _, id := range ids {
			f.clock.Add(3 * time.Millisecond)
			connectedAt = append(connectedAt, f.clock.Now().UTC())
			must(t, f.store.ConnectionConnected(ctx, id, "127.0.0.1:7"))
		}
		ended := f.clock.Now().UTC().Add(time.Millisecond + 234567*time.Nanosecond) // sub-microsecond part dropped
		f.clock.Add(40 * time.Millisecond)
		recorded := f.clock.Now().UTC()
		n, err := f.store.ConnectionsClosed(ctx, []models.ConnectionEnd{
			{ConnectionID: ids[0], Reason: "closed by end-user", At: ended},
			{ConnectionID: ids[1], Reason: "closed by end-user"},
			{ConnectionID: ids[2], Reason: "closed by end-user", At: recorded.Add(time.Hour)},
		})
		if err != nil || n != 3 {
			t.Fatalf("ConnectionsClosed = %d, %v", n, err)
		}
		want := []time.Time{ended.Truncate(time.Microsecond), recorded, recorded}
		for i, id := range ids {
			var row struct{ Connected, Closed, WConnected, WClosed time.Time }
			must(t, f.store.DB().Raw(`SELECT c.connected_at AS connected, c.closed_at AS closed,
				w.connected_at AS w_connected, w.closed_at AS w_closed
				FROM session_connections c JOIN warehouse_connections w ON w.connection_id = c.id WHERE c.id = ?`, id).Scan(&row).Error)
			if !row.Closed.Equal(want[i]) || !row.WClosed.Equal(want[i]) {
				t.Errorf("connection %d closed at %v (warehouse %v), want %v", i, row.Closed, row.WClosed, want[i])
			}
			if !row.Connected.Equal(connectedAt[i]) || !row.WConnected.Equal(connectedAt[i]) {
				t.Errorf("connection %d connected at %v (warehouse %v), want %v", i, row.Connected, row.WConnected, connectedAt[i])
			}
		}
		// The session's history orders them as they happened.
		d := f.get(t, st.Session.ID)
		for _, c := range d.Connections {
			if c.ClosedAt == nil || c.ConnectedAt == nil || c.ClosedAt.Before(*c.ConnectedAt) {
				t.Errorf("connection %s: connected %v closed %v", c.ID, c.ConnectedAt, c.ClosedAt)
			}
		}
	})
}

// TestConnectionBatchesFindRowsByIndex: on Postgres, the statements that
// admit, connect and close connections in batches, and the lock the close
// takes, find their rows by index among thousands, never by reading a
// whole table or every open connection. A join with a JSON row set is
// estimated at 100 rows, and with it Postgres read session_connections and
// warehouse_connections whole at every batch of a few thousand rows, and
// went through every open connection (a partial index) to record a batch
// of connects: the cost of each batch grew with the tables (issue 17).
// Nor does a row's lookup search the whole array of keys again (an ANY
// beside a join on the same key: a 500-value array searched 500 times).
func TestConnectionBatchesFindRowsByIndex(t *testing.T) {
	f := newSessionFixture(t, models.Postgres, models.SessionOptions{})
	ctx := context.Background()
	db := f.store.DB()
	must(t, db.Exec("UPDATE targets SET session_connection_limit = -1 WHERE id = ?", f.target).Error)
	st := f.start(t)
	ids := f.admitN(t, st.Token, 3)
	for _, id := range ids {
		must(t, f.store.ConnectionConnected(ctx, id, "10.0.0.1:5432"))
	}
	// 2,000 more sessions and 3,000 more connections (every other one
	// open), copies of these with new ids, in the operational tables and
	// the warehouse.
	copyRows := func(table, key, from, set string, n int) {
		t.Helper()
		must(t, db.Exec(fmt.Sprintf(`INSERT INTO %[1]s SELECT (jsonb_populate_record(r, jsonb_build_object(%[4]s))).*
			FROM %[1]s r CROSS JOIN generate_series(1, %[5]d) g WHERE r.%[2]s = ?`, table, key, from, set, n), from).Error)
	}
	copyRows("sessions", "id", st.Session.ID, "'id', 'ss_copy' || g, 'token_hash', 'copy' || g", 2000)
	copyRows("warehouse_sessions", "session_id", st.Session.ID, "'session_id', 'ss_copy' || g", 2000)
	open := func(reason string) string { // the warehouse keeps '' for no reason
		return "'closed_at', CASE WHEN g % 2 = 0 THEN NULL ELSE now() END, 'closed_reason', CASE WHEN g % 2 = 0 THEN " + reason + " ELSE 'closed by end-user' END"
	}
	copyRows("session_connections", "id", ids[0], "'id', 'sc_copy' || g, 'session_id', 'ss_copy' || (g % 2000 + 1), "+open("NULL"), 3000)
	copyRows("warehouse_connections", "connection_id", ids[0], "'connection_id', 'sc_copy' || g, 'session_id', 'ss_copy' || (g % 2000 + 1), "+open("''"), 3000)
	must(t, db.Exec("ANALYZE sessions, warehouse_sessions, session_connections, warehouse_connections").Error)

	for name, stmt := range f.store.ConnectionStatementsForTest(st.Token, ids, f.clock.Now()) {
		var plan []string
		must(t, db.Raw("EXPLAIN (COSTS OFF) "+stmt[0].(string), stmt[1:]...).Scan(&plan).Error)
		text := strings.Join(plan, "\n")
		for _, table := range []string{"sessions", "warehouse_sessions", "session_connections", "warehouse_connections"} {
			if strings.Contains(text, "Seq Scan on "+table+" ") {
				t.Errorf("%s reads %s whole:\n%s", name, table, text)
			}
		}
		if strings.Contains(text, "session_connections_instance_open") || strings.Contains(text, "session_connections_open ") {
			t.Errorf("%s goes through every open connection:\n%s", name, text)
		}
		for _, line := range plan {
			if strings.Contains(line, "Index Cond:") && strings.Contains(line, "ANY") && strings.Contains(line, " AND ") {
				t.Errorf("%s searches the whole array at each row's lookup: %s\n%s", name, line, text)
			}
		}
	}
}
