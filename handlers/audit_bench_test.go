package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/handlers"
	"gatehouse/models"
)

// Benchmarks of Session history at scale. Opt-in: they seed
// GATEHOUSE_BENCH_ROWS warehouse sessions (e.g. 1000000) per database, so a
// plain `go test ./...` never pays for them:
//
//	GATEHOUSE_BENCH_ROWS=1000000 go test ./handlers -run '^$' -bench Audit -benchtime 200x -timeout 60m
//
// Each history sub-benchmark reports p50/p99 server time of the whole page
// (query + render); the export reports rows, seconds and peak RSS.

var benchT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// benchSeed fills the warehouse with n sessions two seconds apart from
// benchT0: 1,000 users, 200 targets, 500 hosts, 50 projects in 10 orgs,
// 3 auth methods, 5,000 client IPs; reasons cycle, with "system error" rare.
func benchSeed(b *testing.B, store *models.Store, n int) {
	b.Helper()
	// Column expressions over g (1..n) shared by both dialects; ts is the
	// dialect's created_at expression.
	cols := `session_id, created_at, expires_at, connection_limit, user_id, user_name, user_full_name, user_email,
		account_id, auth_method_id, auth_method_name, auth_method_type, groups_json, managed_groups_json, grants_json,
		target_id, target_name, target_type, target_description, target_port, target_session_max_seconds,
		target_connection_limit, host_id, host_name, host_address, host_set_id, host_set_name, host_catalog_id,
		host_catalog_name, endpoint, project_id, project_name, org_id, org_name, credentials_json, client_ip,
		user_agent, search_text, state, pending_at, terminated_at, termination_reason, connection_count, bytes_up, bytes_down`
	reason := `CASE WHEN g % 100 = 5 THEN 'system error' ELSE (CASE g % 5 WHEN 0 THEN '' WHEN 1 THEN 'timed out'
		WHEN 2 THEN 'canceled' WHEN 3 THEN 'connection limit' ELSE 'closed by end-user' END) END`
	var ts, plus func(string) string
	var lp func(string) string
	var src string
	if store.Dialect() == models.Postgres {
		ts = func(g string) string {
			return fmt.Sprintf("(timestamptz '%s' + (%s) * interval '2 seconds')", benchT0.Format(time.RFC3339), g)
		}
		plus = func(e string) string { return e + " + interval '8 hours'" }
		lp = func(g string) string { return "lpad((" + g + ")::text, 10, '0')" }
		src = fmt.Sprintf("FROM generate_series(1, %d) AS s(g)", n)
	} else {
		ts = func(g string) string {
			return fmt.Sprintf("(strftime('%%Y-%%m-%%d %%H:%%M:%%S', %d + (%s) * 2, 'unixepoch') || '+00:00')", benchT0.Unix(), g)
		}
		plus = func(e string) string {
			return "(strftime('%Y-%m-%d %H:%M:%S', " + e[1:strings.Index(e, " || ")] + ", '+8 hours') || '+00:00')"
		}
		lp = func(g string) string { return "printf('%010d', " + g + ")" }
		src = fmt.Sprintf("FROM (WITH RECURSIVE c(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM c WHERE g < %d) SELECT g FROM c) AS s", n)
	}
	term := "CASE WHEN r = '' THEN NULL ELSE " + ts("g + 300") + " END"
	sel := `SELECT 's_' || ` + lp("g") + `, ` + ts("g") + `, ` + plus(ts("g")) + `, -1,
		'u_' || (g % 1000), 'user' || (g % 1000), 'User ' || (g % 1000), 'user' || (g % 1000) || '@example.com',
		'acctpw_' || (g % 1000), 'ampw_' || (g % 3), 'Method ' || (g % 3), 'password', '[]', '[]', '[]',
		'ttcp_' || (g % 200), 'target-' || (g % 200), 'tcp', '', 22, 28800, -1,
		'hst_' || (g % 500), 'host-' || (g % 500), '10.1.' || (g % 500 / 250) || '.' || (g % 250), 'hsst_' || (g % 50), 'set-' || (g % 50),
		'hcst_' || (g % 50), 'catalog-' || (g % 50), '10.1.0.1:22', 'p_' || (g % 50), 'Project ' || (g % 50),
		'o_' || (g % 10), 'Org ' || (g % 10), '[]', '10.9.' || (g % 5000 / 250) || '.' || (g % 250), 'Mozilla/5.0 bench',
		lower('s_' || ` + lp("g") + ` || ' user' || (g % 1000) || ' target-' || (g % 200) || ' host-' || (g % 500) || ' project ' || (g % 50) || ' 10.9.' || (g % 5000 / 250) || '.' || (g % 250)),
		CASE WHEN r = '' THEN 'active' ELSE 'terminated' END, ` + ts("g") + `, ` + term + `, r, g % 4, (g % 4) * 1000, (g % 4) * 50000
		FROM (SELECT g, ` + reason + ` AS r ` + src + `) AS x`
	start := time.Now()
	if store.Dialect() == models.SQLite {
		// A big page cache for the one-statement seed only (indexes are
		// filled in random key order); the default is restored for the runs.
		_ = store.DB().Exec("PRAGMA cache_size = -1048576").Error
		defer store.DB().Exec("PRAGMA cache_size = -2000")
	}
	if err := store.DB().Exec("INSERT INTO warehouse_sessions (" + cols + ") " + sel).Error; err != nil {
		b.Fatalf("seed: %v", err)
	}
	if store.Dialect() == models.SQLite { // the Store writes a start's search row before its commit (models/audit.go)
		if err := store.DB().Exec("INSERT INTO warehouse_sessions_search (session_id, search_text) SELECT session_id, search_text FROM warehouse_sessions").Error; err != nil {
			b.Fatalf("seed search: %v", err)
		}
	}
	if store.Dialect() == models.Postgres {
		// What autovacuum (off on the test server) keeps current: the
		// statistics and the visibility map index-only scans need.
		_ = store.DB().Exec("VACUUM ANALYZE warehouse_sessions").Error
	} else {
		_ = store.DB().Exec("ANALYZE").Error
	}
	b.Logf("%s: seeded %d warehouse sessions in %s", store.Dialect(), n, time.Since(start).Round(time.Millisecond))
}

func benchRows(b *testing.B) int {
	n, _ := strconv.Atoi(os.Getenv("GATEHOUSE_BENCH_ROWS"))
	if n <= 0 {
		b.Skip("set GATEHOUSE_BENCH_ROWS (e.g. 1000000) to run the Session history benchmarks")
	}
	return n
}

func benchStore(b *testing.B, d models.Dialect, n int) (*models.Store, models.Actor) {
	store := dbtest.Open(b, d, models.Options{})
	admin := dbtest.Admin(b, store)
	benchSeed(b, store, n)
	return store, admin
}

// BenchmarkAudit seeds each database once, then measures the history page
// under each filter and the exports.
func BenchmarkAudit(b *testing.B) {
	n := benchRows(b)
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			store, admin := benchStore(b, d, n)
			h := handlers.Audit{Store: store}
			b.Run("history", func(b *testing.B) { benchHistory(b, h, admin, n) })
			b.Run("history-total", func(b *testing.B) { benchHistoryTotal(b, store, admin, n) })
			b.Run("export", func(b *testing.B) { benchExport(b, h, admin) })
			b.Run("charts", func(b *testing.B) { benchCharts(b, h, admin) })
		})
	}
}

// historyQueries are the filters the history benchmarks try, one at a time.
func historyQueries(n int) []struct{ name, q string } {
	mid := benchT0.Add(time.Duration(n) * time.Second) // the middle of the seeded range
	deep := models.HistoryCursor{CreatedAt: mid, SessionID: "s_" + fmt.Sprintf("%010d", n/2)}.String()
	return []struct{ name, q string }{
		{"none", ""},
		{"range", "from=" + mid.Format(time.DateOnly) + "&to=" + mid.Format(time.DateOnly)},
		{"user-id", "user=u_42"},
		{"user-name", "user=user42"},
		{"target", "target=target-17"},
		{"project", "project=p_7"},
		{"org", "org=Org+3"},
		{"auth-method", "auth_method=ampw_1"},
		{"reason-rare", "reason=system+error"},
		{"reason-live", "reason=live"},
		{"client-ip", "client_ip=10.9.3.17"},
		{"text-common", "q=target-17"},
		{"text-rare", "q=" + fmt.Sprintf("s_%010d", n/3)},
		{"oldest", "sort=oldest"},
		{"deep-page", "after=" + deep},
	}
}

func benchHistory(b *testing.B, h handlers.Audit, admin models.Actor, n int) {
	for _, qc := range historyQueries(n) {
		b.Run(qc.name, func(b *testing.B) {
			durs := make([]time.Duration, 0, b.N)
			rows := 0
			for i := 0; i < b.N; i++ {
				r := httptest.NewRequest(http.MethodGet, "/audit/sessions?"+qc.q, nil)
				r = r.WithContext(handlers.WithActor(r.Context(), admin))
				w := httptest.NewRecorder()
				t0 := time.Now()
				if err := h.History(w, r); err != nil || w.Code != http.StatusOK {
					b.Fatalf("%s: %v %d", qc.q, err, w.Code)
				}
				durs = append(durs, time.Since(t0))
				rows = strings.Count(w.Body.String(), `data-testid="history-row-`)
			}
			slices.Sort(durs)
			b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(durs[(len(durs)*99)/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(rows), "rows")
		})
	}
}

// countingWriter is a ResponseWriter that only counts bytes and flushes.
type countingWriter struct {
	h       http.Header
	n       int64
	flushes int
	code    int
}

func (c *countingWriter) Header() http.Header         { return c.h }
func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
func (c *countingWriter) WriteHeader(code int)        { c.code = code }
func (c *countingWriter) Flush()                      { c.flushes++ }

// benchExport runs one full export per format (whatever -benchtime says)
// and reports its time, size and the process's peak RSS during it.
func benchExport(b *testing.B, h handlers.Audit, admin models.Actor) {
	for _, format := range []string{"csv", "jsonl"} {
		b.Run(format, func(b *testing.B) {
			runtime.GC()
			before := vmKB("VmRSS")
			resetPeakRSS()
			r := httptest.NewRequest(http.MethodGet, "/audit/sessions."+format, nil)
			r = r.WithContext(handlers.WithActor(context.Background(), admin))
			w := &countingWriter{h: http.Header{}}
			t0 := time.Now()
			var err error
			if format == "csv" {
				err = h.ExportCSV(w, r)
			} else {
				err = h.ExportJSONL(w, r)
			}
			el := time.Since(t0)
			if err != nil || w.code != http.StatusOK {
				b.Fatalf("export: %v %d", err, w.code)
			}
			b.ReportMetric(el.Seconds(), "s/export")
			b.ReportMetric(float64(w.n)/1e6, "MB")
			b.ReportMetric(float64(w.flushes), "flushes")
			b.ReportMetric(float64(before)/1024, "rss-before-MiB")
			b.ReportMetric(float64(vmKB("VmHWM"))/1024, "peak-rss-MiB")
		})
	}
}

// benchCharts draws the charts page once over the whole seeded range
// (23 days at 1,000,000 rows), whatever -benchtime says.
func benchCharts(b *testing.B, h handlers.Audit, admin models.Actor) {
	to := benchT0.Add(30 * 24 * time.Hour).Format(time.DateOnly)
	r := httptest.NewRequest(http.MethodGet, "/audit/sessions/charts?from="+benchT0.Format(time.DateOnly)+"&to="+to, nil)
	r = r.WithContext(handlers.WithActor(r.Context(), admin))
	w := httptest.NewRecorder()
	t0 := time.Now()
	if err := h.Charts(w, r); err != nil || w.Code != http.StatusOK {
		b.Fatalf("charts: %v %d", err, w.Code)
	}
	b.ReportMetric(time.Since(t0).Seconds(), "s/page")
}

// resetPeakRSS resets VmHWM (Linux: writing 5 to clear_refs) so VmHWM then
// shows the peak of what follows.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// vmKB reads a kB field of /proc/self/status.
func vmKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return v
		}
	}
	return -1
}

// benchHistoryTotal measures what the API's history page adds to the
// page's query: the total of the filter (HistoryPageRequest.Count), as
// the Store use case alone without and with it.
func benchHistoryTotal(b *testing.B, store *models.Store, admin models.Actor, n int) {
	for _, qc := range historyQueries(n) {
		vals, _ := url.ParseQuery(qc.q)
		f, err := models.ParseHistoryFilter(vals.Get)
		if err != nil {
			b.Fatal(err)
		}
		after, err := models.ParseHistoryCursor(vals.Get("after"))
		if err != nil {
			b.Fatal(err)
		}
		for _, count := range []bool{false, true} {
			name := qc.name + "/page"
			if count {
				name = qc.name + "/page+total"
			}
			b.Run(name, func(b *testing.B) {
				durs := make([]time.Duration, 0, b.N)
				var total int64
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					p, err := store.HistorySessions(context.Background(), admin, models.HistoryPageRequest{Filter: f, After: after, PerPage: 50, Count: count})
					if err != nil {
						b.Fatal(err)
					}
					durs = append(durs, time.Since(t0))
					total = p.Total
				}
				slices.Sort(durs)
				b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(durs[(len(durs)*99)/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(total), "total")
			})
		}
	}
}
