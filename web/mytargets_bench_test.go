package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// BenchmarkMyTargetsPage measures the server time of the whole My targets
// request (session cookie, LoginByToken, the evaluator, ListMyTargets,
// rendering) through web.NewServer, for a user holding 200 roles through
// groups and managed groups over 10,000 targets in 100 projects
// (dbtest.SeedInfraBench + dbtest.SeedHeavyUser), on both databases, and
// reports p50 and p99 per request. The handler is called directly, so no
// network time is included.
func BenchmarkMyTargetsPage(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			store := dbtest.Open(b, d, models.Options{})
			w := dbtest.SeedInfraBench(b, store, dbtest.DefaultInfraBench)
			h := dbtest.SeedHeavyUser(b, store, w)
			srv, method := newHandler(b, store, "http://gatehouse.test")
			form := url.Values{"auth_method_id": {method}, "login_name": {h.LoginName}, "password": {h.Password}}
			req := httptest.NewRequest(http.MethodPost, "http://gatehouse.test/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			cookies := rec.Result().Cookies()
			if rec.Code != http.StatusSeeOther || len(cookies) == 0 {
				b.Fatalf("login: %d %v", rec.Code, rec.Header())
			}
			cases := []struct{ name, query string }{
				{"first-page", ""},
				{"page-200", "?page=200"},
				{"search", "?q=target-042"},
				{"project", "?project=" + w.ProjectIDs[7]},
				{"htmx-fragment", "?page=2"},
			}
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					times := make([]time.Duration, 0, b.N)
					for b.Loop() {
						req := httptest.NewRequest(http.MethodGet, "http://gatehouse.test/targets"+c.query, nil)
						for _, ck := range cookies {
							req.AddCookie(ck)
						}
						if c.name == "htmx-fragment" {
							req.Header.Set("HX-Request", "true")
						}
						rec := httptest.NewRecorder()
						t0 := time.Now()
						srv.ServeHTTP(rec, req)
						times = append(times, time.Since(t0))
						if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `data-testid="my-target-row-`) {
							b.Fatalf("GET /targets%s: %d", c.query, rec.Code)
						}
					}
					slices.Sort(times)
					pct := func(p float64) float64 {
						return float64(times[min(len(times)-1, int(float64(len(times))*p))].Microseconds()) / 1000
					}
					b.ReportMetric(pct(0.50), "p50-ms")
					b.ReportMetric(pct(0.99), "p99-ms")
				})
			}
		})
	}
}
