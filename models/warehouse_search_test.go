package models_test

import (
	"context"
	"errors"
	"testing"

	"gatehouse/models"
)

// TestWarehouseSearchRowsAtCommit: the warehouse's free-text search finds
// every session a transaction started, alone or in a grouped transaction,
// and nothing of a start rolled back to its savepoint. On SQLite the search
// rows are written by one statement just before the commit (migration
// 00022 dropped the trigger that wrote them one by one): exactly one per
// warehouse session.
func TestWarehouseSearchRowsAtCommit(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		if _, err := f.store.StartSession(ctx, f.alice, models.StartSessionInput{TargetID: f.target, UserAgent: "lone-agent/1"}); err != nil {
			t.Fatal(err)
		}
		errs := f.store.StartGroupedForTest(ctx, f.alice, []models.StartSessionInput{
			{TargetID: f.target, UserAgent: "grouped-agent/1"},
			{TargetID: f.target, HostID: "h_nosuch", UserAgent: "grouped-agent/1"}, // refused: undone alone
			{TargetID: f.direct, UserAgent: "grouped-agent/1"},
		})
		if errs[0] != nil || !errors.Is(errs[1], models.ErrInvalid) || errs[2] != nil {
			t.Fatalf("grouped starts: %v; want nil, invalid host, nil", errs)
		}
		found := func(text string) int {
			t.Helper()
			page, err := f.store.HistorySessions(ctx, f.admin, models.HistoryPageRequest{Filter: models.HistoryFilter{Text: text}, PerPage: 500})
			if err != nil {
				t.Fatal(err)
			}
			return len(page.Rows)
		}
		if n := found("lone-agent"); n != 1 {
			t.Errorf("search lone-agent found %d sessions, want 1", n)
		}
		if n := found("GROUPED-agent/1"); n != 2 {
			t.Errorf("search grouped-agent found %d sessions, want 2", n)
		}
		if f.store.Dialect() != models.SQLite {
			return
		}
		var rows, sessions int64
		f.store.DB().Raw("SELECT count(*) FROM warehouse_sessions_search").Scan(&rows)
		f.store.DB().Raw("SELECT count(*) FROM warehouse_sessions").Scan(&sessions)
		if rows != sessions || sessions != 3 {
			t.Fatalf("%d search rows for %d warehouse sessions, want 3 and 3", rows, sessions)
		}
	})
}
