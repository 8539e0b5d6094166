package models_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// seedHistory writes n sessions an hour apart from whT0; session i has user
// u_i%3, target i%4, project/org i%2, auth method i%2, client IP i%5, and
// every third is terminated ("timed out" or "canceled" alternately).
func seedHistory(t *testing.T, store *models.Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	mustNil(t, store.Transact(ctx, func(tx *models.Store) error {
		for i := range n {
			s := whSnapshot(fmt.Sprintf("s_h%04d", i), whT0.Add(time.Duration(i)*time.Hour))
			s.UserID, s.UserName = fmt.Sprintf("u_%d", i%3), fmt.Sprintf("User%d", i%3)
			s.TargetID, s.TargetName = fmt.Sprintf("ttcp_%d", i%4), fmt.Sprintf("target-%d", i%4)
			s.ProjectID, s.ProjectName = fmt.Sprintf("p_%d", i%2), fmt.Sprintf("Project %d", i%2)
			s.OrgID, s.OrgName = fmt.Sprintf("o_%d", i%2), fmt.Sprintf("Org %d", i%2)
			s.AuthMethodID, s.AuthMethodName = fmt.Sprintf("amoidc_%d", i%2), fmt.Sprintf("Method %d", i%2)
			s.ClientIP = fmt.Sprintf("192.0.2.%d", i%5)
			s.UserAgent = fmt.Sprintf("agent/%d", i)
			ids[i] = s.SessionID
			if err := tx.WarehouseSessionCreated(ctx, s); err != nil {
				return err
			}
			if i%3 == 0 {
				reason := []string{"timed out", "canceled"}[(i/3)%2]
				if err := tx.WarehouseSessionsState(ctx, []string{s.SessionID}, "terminated", reason, s.CreatedAt.Add(time.Minute)); err != nil {
					return err
				}
			}
		}
		return nil
	}))
	return ids
}

func TestHistoryFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		const n = 60
		seedHistory(t, store, n)
		// want lists the indexes a filter should return (newest first).
		want := func(keep func(i int) bool) []string {
			var out []string
			for i := n - 1; i >= 0; i-- {
				if keep(i) {
					out = append(out, fmt.Sprintf("s_h%04d", i))
				}
			}
			return out
		}
		cases := []struct {
			name string
			f    models.HistoryFilter
			keep func(i int) bool
		}{
			{"all", models.HistoryFilter{}, func(int) bool { return true }},
			{"from", models.HistoryFilter{From: whT0.Add(50 * time.Hour)}, func(i int) bool { return i >= 50 }},
			{"to", models.HistoryFilter{To: whT0.Add(5 * time.Hour)}, func(i int) bool { return i < 5 }},
			{"range", models.HistoryFilter{From: whT0.Add(10 * time.Hour), To: whT0.Add(12 * time.Hour)}, func(i int) bool { return i == 10 || i == 11 }},
			{"user id", models.HistoryFilter{User: "u_1"}, func(i int) bool { return i%3 == 1 }},
			{"user name", models.HistoryFilter{User: "user2"}, func(i int) bool { return i%3 == 2 }},
			{"target id", models.HistoryFilter{Target: "ttcp_3"}, func(i int) bool { return i%4 == 3 }},
			{"target name", models.HistoryFilter{Target: "TARGET-0"}, func(i int) bool { return i%4 == 0 }},
			{"project id", models.HistoryFilter{Project: "p_1"}, func(i int) bool { return i%2 == 1 }},
			{"project name", models.HistoryFilter{Project: "project 0"}, func(i int) bool { return i%2 == 0 }},
			{"org id", models.HistoryFilter{Org: "o_0"}, func(i int) bool { return i%2 == 0 }},
			{"org name", models.HistoryFilter{Org: "Org 1"}, func(i int) bool { return i%2 == 1 }},
			{"auth method id", models.HistoryFilter{AuthMethod: "amoidc_1"}, func(i int) bool { return i%2 == 1 }},
			{"auth method name", models.HistoryFilter{AuthMethod: "method 0"}, func(i int) bool { return i%2 == 0 }},
			{"reason", models.HistoryFilter{Reason: "canceled"}, func(i int) bool { return i%3 == 0 && (i/3)%2 == 1 }},
			{"live", models.HistoryFilter{Reason: "live"}, func(i int) bool { return i%3 != 0 }},
			{"client ip", models.HistoryFilter{ClientIP: "192.0.2.4"}, func(i int) bool { return i%5 == 4 }},
			{"text", models.HistoryFilter{Text: "AGENT/1"}, func(i int) bool { return i == 1 || (i >= 10 && i < 20) }},
			{"text is literal", models.HistoryFilter{Text: "agent_%"}, func(int) bool { return false }},
			{"combined", models.HistoryFilter{User: "u_0", Target: "ttcp_0", Reason: "timed out"}, func(i int) bool { return i%12 == 0 && (i/3)%2 == 0 }},
			{"unknown", models.HistoryFilter{User: "nobody"}, func(int) bool { return false }},
		}
		for _, c := range cases {
			page, err := store.HistorySessions(ctx, admin, models.HistoryPageRequest{Filter: c.f, PerPage: 500})
			mustNil(t, err)
			got := rowIDs(page.Rows)
			if w := want(c.keep); fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("%s: got %v, want %v", c.name, got, w)
			}
			// The export applies the same filter.
			var exp []string
			mustNil(t, store.ExportHistory(ctx, admin, c.f, func(r *models.HistoryRow) error {
				exp = append(exp, r.SessionID)
				return nil
			}))
			if fmt.Sprint(exp) != fmt.Sprint(got) {
				t.Errorf("%s export: got %v, want %v", c.name, exp, got)
			}
		}
		// A common word fills a small page (SQLite: from the bounded window),
		// and its next page continues in order.
		p1, err := store.HistorySessions(ctx, admin, models.HistoryPageRequest{Filter: models.HistoryFilter{Text: "AGENT/"}, PerPage: 10})
		mustNil(t, err)
		after, _ := models.ParseHistoryCursor(p1.Next)
		p2, err := store.HistorySessions(ctx, admin, models.HistoryPageRequest{Filter: models.HistoryFilter{Text: "AGENT/"}, PerPage: 10, After: after})
		mustNil(t, err)
		if got := fmt.Sprint(append(rowIDs(p1.Rows), rowIDs(p2.Rows)...)); got != fmt.Sprint(want(func(i int) bool { return i >= 40 })) {
			t.Fatalf("common word pages: %s", got)
		}
		// A row carries every field.
		page, err := store.HistorySessions(ctx, admin, models.HistoryPageRequest{Filter: models.HistoryFilter{Target: "ttcp_0", User: "u_0"}, PerPage: 1})
		mustNil(t, err)
		r := page.Rows[0] // s_h0048: terminated, timed out
		wantRow := models.HistoryRow{SessionID: "s_h0048", CreatedAt: whT0.Add(48 * time.Hour), ExpiresAt: whT0.Add(56 * time.Hour),
			State: "terminated", TerminationReason: "timed out", UserID: "u_0", UserName: "User0", UserEmail: "alice@example.com",
			AuthMethodID: "amoidc_0", AuthMethodName: "Method 0", TargetID: "ttcp_0", TargetName: "target-0", HostID: "hst_db1",
			HostName: "db1", HostAddress: "10.0.0.5", ProjectID: "p_0", ProjectName: "Project 0", OrgID: "o_0", OrgName: "Org 0",
			ClientIP: "192.0.2.3"}
		if r.TerminatedAt == nil || !r.TerminatedAt.Equal(whT0.Add(48*time.Hour+time.Minute)) {
			t.Fatalf("terminated at %v", r.TerminatedAt)
		}
		r.TerminatedAt = nil
		if r != wantRow {
			t.Fatalf("row:\n got %+v\nwant %+v", r, wantRow)
		}
	})
}

func rowIDs(rows []models.HistoryRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.SessionID)
	}
	return out
}

func TestHistoryKeysetPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		seedHistory(t, store, 25)
		for _, oldest := range []bool{false, true} {
			f := models.HistoryFilter{Oldest: oldest}
			var seen []string
			var pages []*models.HistoryPage
			req := models.HistoryPageRequest{Filter: f, PerPage: 10}
			for {
				p, err := store.HistorySessions(ctx, admin, req)
				mustNil(t, err)
				pages = append(pages, p)
				seen = append(seen, rowIDs(p.Rows)...)
				if p.Next == "" {
					break
				}
				req.After, err = models.ParseHistoryCursor(p.Next)
				mustNil(t, err)
			}
			if len(pages) != 3 || len(seen) != 25 || pages[0].Prev != "" || len(pages[2].Rows) != 5 {
				t.Fatalf("oldest=%v: %d pages, %d rows, first prev %q", oldest, len(pages), len(seen), pages[0].Prev)
			}
			first := "s_h0024"
			if oldest {
				first = "s_h0000"
			}
			if seen[0] != first {
				t.Fatalf("oldest=%v starts with %s", oldest, seen[0])
			}
			// Going back from the last page returns the middle page.
			after, err := models.ParseHistoryCursor(pages[2].Prev)
			mustNil(t, err)
			back, err := store.HistorySessions(ctx, admin, models.HistoryPageRequest{Filter: f, PerPage: 10, After: after, Back: true})
			mustNil(t, err)
			if fmt.Sprint(rowIDs(back.Rows)) != fmt.Sprint(rowIDs(pages[1].Rows)) || back.Prev == "" || back.Next == "" {
				t.Fatalf("back: %v (prev %q next %q), want %v", rowIDs(back.Rows), back.Prev, back.Next, rowIDs(pages[1].Rows))
			}
		}
		if _, err := models.ParseHistoryCursor("garbage"); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}

func TestHistoryVisibility(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		seedHistory(t, store, 3)
		if _, err := store.HistorySessions(ctx, models.Anonymous, models.HistoryPageRequest{}); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("anonymous: %v", err)
		}
		if err := store.ExportHistory(ctx, models.Anonymous, models.HistoryFilter{}, nil); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("anonymous export: %v", err)
		}
		p, err := store.HistorySessions(ctx, models.Actor{UserID: "u_nobody"}, models.HistoryPageRequest{})
		mustNil(t, err)
		if len(p.Rows) != 0 {
			t.Fatalf("non-auditor sees %v", rowIDs(p.Rows))
		}
	})
}

func TestExportHistoryStreamsInBatches(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		store = store.WithExportBatch(7)
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		seedHistory(t, store, 30)
		var got []string
		mustNil(t, store.ExportHistory(ctx, admin, models.HistoryFilter{Oldest: true}, func(r *models.HistoryRow) error {
			got = append(got, r.SessionID)
			return nil
		}))
		if len(got) != 30 || got[0] != "s_h0000" || got[29] != "s_h0029" {
			t.Fatalf("export: %v", got)
		}
		stop := errors.New("stop")
		n := 0
		err := store.ExportHistory(ctx, admin, models.HistoryFilter{}, func(*models.HistoryRow) error {
			if n++; n == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 3 {
			t.Fatalf("stop: %v after %d", err, n)
		}
	})
}

func TestHistoryStats(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		seedHistory(t, store, 48) // two days of hourly sessions
		mustNil(t, store.WarehouseConnection(ctx, &models.WarehouseConnection{ConnectionID: "sc_1", SessionID: "s_h0001", AuthorizedAt: whT0, BytesUp: 10, BytesDown: 20}))
		st, err := store.HistoryStats(ctx, admin, models.HistoryFilter{From: whT0, To: whT0.Add(72 * time.Hour)})
		mustNil(t, err)
		// whT0 is 09:00, so the first day has 15 sessions; the range's last
		// (partial) day is drawn with zero.
		if len(st.PerDay) != 4 || st.PerDay[0] != (models.DayCount{Day: "2026-03-01", Sessions: 15, BytesUp: 10, BytesDown: 20}) ||
			st.PerDay[1] != (models.DayCount{Day: "2026-03-02", Sessions: 24}) || st.PerDay[2] != (models.DayCount{Day: "2026-03-03", Sessions: 9}) ||
			st.PerDay[3] != (models.DayCount{Day: "2026-03-04"}) {
			t.Fatalf("per day: %+v", st.PerDay)
		}
		wantReasons := []models.LabelCount{{Label: "live", Count: 32}, {Label: "timed out", Count: 8}, {Label: "canceled", Count: 8}}
		if fmt.Sprint(st.Reasons) != fmt.Sprint([]models.LabelCount{wantReasons[0], wantReasons[2], wantReasons[1]}) {
			t.Fatalf("reasons: %+v", st.Reasons)
		}
		if len(st.TopTargets) != 4 || st.TopTargets[0] != (models.LabelCount{Label: "target-0", Count: 12}) {
			t.Fatalf("targets: %+v", st.TopTargets)
		}
		if len(st.TopUsers) != 3 || st.TopUsers[0] != (models.LabelCount{Label: "User0", Count: 16}) {
			t.Fatalf("users: %+v", st.TopUsers)
		}
	})
}

// TestHistoryStatsFiltered checks every figure of the charts exactly with a
// user filter: days cut at UTC midnight (a session at 00:00:00 and one just
// before midnight), a day without sessions between others, the range's end
// excluded, a target renamed (its greatest name labels it) and bytes only
// of the filtered sessions.
func TestHistoryStatsFiltered(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		seedHistory(t, store, 48) // 2026-03-01 09:00 to 03-03 08:00, hourly; u_1 is i%3 == 1
		day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
		extra := []struct {
			id, user, target, targetName string
			at                           time.Time
		}{
			{"s_x1", "0", "ttcp_9", "target-9", day(4).Add(12 * time.Hour)}, // the only session of 03-04
			{"s_x2", "1", "ttcp_9", "target-9", day(5)},
			{"s_x3", "1", "ttcp_1", "target-1b", day(6).Add(-500 * time.Millisecond)},
			{"s_x4", "1", "ttcp_1", "target-1", day(6)}, // at the range's end: out
		}
		for _, x := range extra {
			s := whSnapshot(x.id, x.at)
			s.UserID, s.UserName = "u_"+x.user, "User"+x.user
			s.TargetID, s.TargetName = x.target, x.targetName
			mustNil(t, store.WarehouseSessionCreated(ctx, s))
		}
		mustNil(t, store.WarehouseSessionsState(ctx, []string{"s_x2"}, "terminated", "canceled", day(5).Add(time.Minute)))
		for i, c := range []struct {
			session  string
			up, down int64
		}{{"s_h0001", 10, 20}, {"s_h0016", 5, 7}, {"s_h0002", 100, 200}, {"s_x3", 1, 2}, {"s_x4", 1000, 2000}} {
			mustNil(t, store.WarehouseConnection(ctx, &models.WarehouseConnection{ConnectionID: fmt.Sprintf("sc_%d", i),
				SessionID: c.session, AuthorizedAt: whT0, BytesUp: c.up, BytesDown: c.down}))
		}
		check := func(f models.HistoryFilter, perDay []models.DayCount, reasons, targets, users []models.LabelCount) {
			t.Helper()
			f.From, f.To = day(1), day(6)
			st, err := store.HistoryStats(ctx, admin, f)
			mustNil(t, err)
			if fmt.Sprint(st.PerDay) != fmt.Sprint(perDay) {
				t.Errorf("%+v per day:\n got %+v\nwant %+v", f, st.PerDay, perDay)
			}
			for _, c := range []struct {
				name      string
				got, want []models.LabelCount
			}{{"reasons", st.Reasons, reasons}, {"targets", st.TopTargets, targets}, {"users", st.TopUsers, users}} {
				if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
					t.Errorf("%+v %s:\n got %+v\nwant %+v", f, c.name, c.got, c.want)
				}
			}
		}
		d := func(day string, n, up, down int64) models.DayCount {
			return models.DayCount{Day: day, Sessions: n, BytesUp: up, BytesDown: down}
		}
		l := func(label string, n int64) models.LabelCount { return models.LabelCount{Label: label, Count: n} }
		check(models.HistoryFilter{User: "u_1"},
			[]models.DayCount{d("2026-03-01", 5, 10, 20), d("2026-03-02", 8, 5, 7), d("2026-03-03", 3, 0, 0), d("2026-03-04", 0, 0, 0), d("2026-03-05", 2, 1, 2)},
			[]models.LabelCount{l("live", 17), l("canceled", 1)},
			[]models.LabelCount{l("target-1b", 5), l("target-0", 4), l("target-2", 4), l("target-3", 4), l("target-9", 1)},
			[]models.LabelCount{l("User1", 18)})
		check(models.HistoryFilter{},
			[]models.DayCount{d("2026-03-01", 15, 110, 220), d("2026-03-02", 24, 5, 7), d("2026-03-03", 9, 0, 0), d("2026-03-04", 1, 0, 0), d("2026-03-05", 2, 1, 2)},
			[]models.LabelCount{l("live", 34), l("canceled", 9), l("timed out", 8)},
			[]models.LabelCount{l("target-1b", 13), l("target-0", 12), l("target-2", 12), l("target-3", 12), l("target-9", 2)},
			[]models.LabelCount{l("User1", 18), l("User0", 17), l("User2", 16)})
	})
}
