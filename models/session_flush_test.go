package models_test

import (
	"context"
	"strings"
	"testing"

	"gatehouse/models"
)

// TestFlushConnectionsBytesBatch: one flush records running totals of
// connections of two sessions, with a connection given twice (its last
// totals count), one closed before (left as it is), one flushed before
// (only what is new is added to its session) and an unknown id (skipped);
// a flush of more than one transaction's batch records them all. Each
// session's totals then equal the sum of its connection rows, and the
// warehouse's equal its connection rows', on both databases.
func TestFlushConnectionsBytesBatch(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		must(t, f.store.DB().Exec("UPDATE targets SET session_connection_limit = -1 WHERE id = ?", f.target).Error)
		a, b := f.start(t), f.start(t)
		ca, cb := f.admitN(t, a.Token, 3), f.admitN(t, b.Token, 3)
		must(t, f.store.FlushConnectionsBytes(ctx, []models.ConnectionBytes{{ConnectionID: ca[0], BytesUp: 100, BytesDown: 1000}}))
		must(t, f.store.ConnectionClosed(ctx, cb[0], 7, 70, "closed by end-user"))
		must(t, f.store.FlushConnectionsBytes(ctx, []models.ConnectionBytes{
			{ConnectionID: ca[0], BytesUp: 150, BytesDown: 1500},
			{ConnectionID: ca[1], BytesUp: 1, BytesDown: 2},
			{ConnectionID: ca[1], BytesUp: 3, BytesDown: 4},
			{ConnectionID: cb[0], BytesUp: 8, BytesDown: 80},
			{ConnectionID: cb[1], BytesUp: 5, BytesDown: 50},
			{ConnectionID: "sc_unknown0000", BytesUp: 9, BytesDown: 9},
		}))
		want := map[string][2]int64{ca[0]: {150, 1500}, ca[1]: {3, 4}, ca[2]: {0, 0}, cb[0]: {7, 70}, cb[1]: {5, 50}, cb[2]: {0, 0}}
		check := func(when string, want map[string][2]int64) {
			t.Helper()
			for _, st := range []*models.StartedSession{a, b} {
				d := f.get(t, st.Session.ID)
				var up, down int64
				for _, c := range d.Connections {
					up, down = up+c.BytesUp, down+c.BytesDown
					if w := want[c.ID]; c.BytesUp != w[0] || c.BytesDown != w[1] {
						t.Errorf("%s: connection %s bytes %d/%d, want %v", when, c.ID, c.BytesUp, c.BytesDown, w)
					}
				}
				if d.BytesUp != up || d.BytesDown != down {
					t.Errorf("%s: session %s bytes %d/%d, its connections %d/%d", when, d.ID, d.BytesUp, d.BytesDown, up, down)
				}
				var w struct{ BytesUp, BytesDown, RowsUp, RowsDown int64 }
				must(t, f.store.DB().Raw(`SELECT ws.bytes_up, ws.bytes_down,
					(SELECT SUM(bytes_up) FROM warehouse_connections WHERE session_id = ws.session_id) AS rows_up,
					(SELECT SUM(bytes_down) FROM warehouse_connections WHERE session_id = ws.session_id) AS rows_down
					FROM warehouse_sessions ws WHERE ws.session_id = ?`, st.Session.ID).Scan(&w).Error)
				if w.BytesUp != up || w.BytesDown != down || w.RowsUp != up || w.RowsDown != down {
					t.Errorf("%s: warehouse of %s %+v, want %d/%d", when, st.Session.ID, w, up, down)
				}
			}
		}
		check("first flush", want)

		// More than one transaction's batch (100): all are recorded.
		more := f.admitN(t, a.Token, 250)
		var totals []models.ConnectionBytes
		for i, id := range more {
			totals = append(totals, models.ConnectionBytes{ConnectionID: id, BytesUp: int64(i + 1), BytesDown: 2})
			want[id] = [2]int64{int64(i + 1), 2}
		}
		must(t, f.store.FlushConnectionsBytes(ctx, totals))
		check("second flush", want)
		if d := f.get(t, a.Session.ID); d.BytesUp != 153+250*251/2 {
			t.Errorf("session a bytes up %d, want %d", d.BytesUp, 153+250*251/2)
		}
		// Nothing to record: no error, nothing changes.
		must(t, f.store.FlushConnectionsBytes(ctx, nil))
		must(t, f.store.FlushConnectionsBytes(ctx, []models.ConnectionBytes{{ConnectionID: "sc_none", BytesUp: 1}}))
		check("empty flushes", want)
	})
}

// TestConnectionBatchesPlannedEachTime: on Postgres the batch statements
// of a connection's records (connect, running bytes, the sessions' lock,
// the warehouse's sync, close) are unnamed prepared statements, planned at
// each execution, never kept as a generic plan made while the tables were
// small; the admission's statement stays a cached prepared statement. With
// the pool at one connection, pg_prepared_statements shows that
// connection's cached statements.
func TestConnectionBatchesPlannedEachTime(t *testing.T) {
	f := newSessionFixture(t, models.Postgres, models.SessionOptions{})
	ctx := context.Background()
	sqlDB, err := f.store.DB().DB()
	must(t, err)
	models.SetPostgresConns(sqlDB, 1)
	must(t, f.store.DB().Exec("UPDATE targets SET session_connection_limit = -1 WHERE id = ?", f.target).Error)
	st := f.start(t)
	for round := range 8 {
		ids := f.admitN(t, st.Token, 3)
		var totals []models.ConnectionBytes
		var ends []models.ConnectionEnd
		for _, id := range ids {
			must(t, f.store.ConnectionConnected(ctx, id, "10.0.0.1:5432"))
			totals = append(totals, models.ConnectionBytes{ConnectionID: id, BytesUp: int64(round + 1), BytesDown: 1})
			ends = append(ends, models.ConnectionEnd{ConnectionID: id, BytesUp: int64(round + 2), BytesDown: 2, Reason: "closed by end-user"})
		}
		must(t, f.store.FlushConnectionsBytes(ctx, totals))
		if _, err := f.store.ConnectionsClosed(ctx, ends); err != nil {
			t.Fatal(err)
		}
	}
	var cached []string
	must(t, f.store.DB().Raw("SELECT statement FROM pg_prepared_statements").Scan(&cached).Error)
	text := strings.Join(cached, "\n----\n")
	if !strings.Contains(text, "connection_count = connection_count +") {
		t.Fatalf("the admission's statement is not among the cached ones (the check sees nothing):\n%s", text)
	}
	for what, marker := range map[string]string{
		"connect":         "AS n(id text, ep text, at timestamptz)",
		"running bytes":   "AS e(id text, up bigint, down bigint)",
		"close":           "AS e(id text, up bigint, down bigint, reason text, at timestamptz)",
		"sessions' lock":  "WHERE id IN (SELECT session_id FROM session_connections WHERE",
		"warehouse state": "w.connection_id IS NULL AS missing",
		"warehouse sync":  "UPDATE warehouse_connections SET bytes_up",
	} {
		if strings.Contains(text, marker) {
			t.Errorf("the %s statement is a cached prepared statement (%q):\n%s", what, marker, text)
		}
	}
}
