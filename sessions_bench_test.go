package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/live"
	"gatehouse/migrations"
	"gatehouse/models"
	"gatehouse/web"
)

// BenchmarkSessions measures the session figures of issue 5 on both
// databases, with 100,000 sessions of which 5,000 live:
//
//	go test -run '^$' -bench BenchmarkSessions -benchtime 1x -timeout 30m .
//
// Server times are measured around the web server's ServeHTTP (cookie,
// login lookup, roles, use case, rendering), without the network.
func BenchmarkSessions(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchSessions(b, d)
			}
		})
	}
}

type benchWorld struct {
	store   *models.Store
	srv     http.Handler
	alice   []*http.Cookie
	admin   []*http.Cookie
	targets []string
	project string
}

func benchSessions(b *testing.B, d models.Dialect) {
	ctx := context.Background()
	w := newBenchWorld(b, d)
	t0 := time.Now()
	seedBenchSessions(b, w, 100_000, 5_000)
	// What autovacuum (Postgres; off on the test server) or a periodic
	// ANALYZE (SQLite) keeps current: statistics and, on Postgres, the
	// visibility map that lets index-only scans skip the table.
	maintain := "ANALYZE"
	if d == models.Postgres {
		maintain = "VACUUM ANALYZE"
	}
	if err := w.store.DB().Exec(maintain).Error; err != nil {
		b.Fatal(err)
	}
	fmt.Printf("%s: seeded 100,000 sessions in %v\n", d, time.Since(t0).Round(time.Millisecond))

	// Start session: sequential p50/p99, then 16 concurrent callers.
	start := func(i int) time.Duration {
		form := url.Values{}
		req := httptest.NewRequest(http.MethodPost, "/targets/"+w.targets[i%len(w.targets)]+"/sessions", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range w.alice {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		t := time.Now()
		w.srv.ServeHTTP(rec, req)
		el := time.Since(t)
		if rec.Code != http.StatusCreated {
			b.Fatalf("start: %d %s", rec.Code, rec.Body.String())
		}
		return el
	}
	for i := 0; i < 20; i++ { // warm up
		start(i)
	}
	var seq []time.Duration
	for i := 0; i < 300; i++ {
		seq = append(seq, start(i))
	}
	p50, p99 := pct(seq, 50), pct(seq, 99)
	const callers, each = 16, 100
	var wg sync.WaitGroup
	t1 := time.Now()
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				start(c*each + i)
			}
		}()
	}
	wg.Wait()
	rate := float64(callers*each) / time.Since(t1).Seconds()

	// Pages.
	page := func(cookies []*http.Cookie, u string) time.Duration {
		req := httptest.NewRequest(http.MethodGet, u, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		t := time.Now()
		w.srv.ServeHTTP(rec, req)
		el := time.Since(t)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", u, rec.Code)
		}
		return el
	}
	measure := func(cookies []*http.Cookie, urls ...string) (time.Duration, time.Duration) {
		var ds []time.Duration
		per := map[string][]time.Duration{}
		for i := 0; i < 40*len(urls); i++ {
			u := urls[i%len(urls)]
			el := page(cookies, u)
			ds = append(ds, el)
			per[u] = append(per[u], el)
		}
		for _, u := range urls {
			fmt.Printf("%s: GET %s p50 %.2f ms p99 %.2f ms\n", d, u, ms(pct(per[u], 50)), ms(pct(per[u], 99)))
		}
		return pct(ds, 50), pct(ds, 99)
	}
	myP50, myP99 := measure(w.alice, "/sessions", "/sessions?page=2", "/sessions?page=4")
	allP50, allP99 := measure(w.admin, "/admin/sessions", "/admin/sessions?page=40", "/admin/sessions?state=active",
		"/admin/sessions?reason=timed+out&sort=user", "/admin/sessions?user=user+1", "/admin/sessions?target=db-3&sort=-expires",
		"/admin/sessions?project=lab&from=2026-01-01T00:00")

	// Expiry: 10,000 sessions expiring in the same second, swept by the
	// loop run owns (1 s interval), measured from that second.
	// Seeded far ahead, then moved to one second that is still to come.
	far := time.Now().Add(24 * time.Hour).Truncate(time.Second)
	seedExpiring(b, w, 10_000, far)
	expiry := time.Now().Truncate(time.Second).Add(2 * time.Second)
	if err := w.store.DB().Exec("UPDATE sessions SET expires_at = ? WHERE expires_at = ?", expiry, far).Error; err != nil {
		b.Fatal(err)
	}
	if time.Now().After(expiry) {
		b.Fatal("moving the expiry took too long")
	}
	lctx, stop := context.WithCancel(ctx)
	go sessionLoop(lctx, w.store, time.Second, nil, slog.New(slog.DiscardHandler))
	var done time.Duration
	for {
		var left int64
		w.store.DB().Raw("SELECT count(*) FROM sessions WHERE state IN ('pending', 'active') AND expires_at = ?", expiry).Scan(&left)
		if left == 0 && time.Now().After(expiry) {
			done = time.Since(expiry)
			break
		}
		if time.Since(expiry) > 30*time.Second {
			b.Fatalf("%d sessions still live 30 s after expiry", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	// One sweep's own duration, with the injected clock of a fresh batch.
	expiry2 := time.Now().Add(time.Hour).Truncate(time.Second)
	seedExpiring(b, w, 10_000, expiry2)
	sweeper := models.NewStore(w.store.DB(), d, models.Options{Now: func() time.Time { return expiry2 }})
	t2 := time.Now()
	r, err := sweeper.SweepSessions(ctx)
	if err != nil || r.TimedOut != 10_000 {
		b.Fatalf("sweep: %v %+v", err, r)
	}
	sweepDur := time.Since(t2)

	b.ReportMetric(ms(p50), "start-p50-ms")
	b.ReportMetric(ms(p99), "start-p99-ms")
	b.ReportMetric(rate, "starts/s@16")
	b.ReportMetric(ms(myP99), "my-p99-ms")
	b.ReportMetric(ms(allP99), "all-p99-ms")
	b.ReportMetric(done.Seconds(), "expiry-10k-s")
	fmt.Printf("%s: start p50 %.2f ms p99 %.2f ms; %.0f starts/s with %d callers; My sessions p50 %.2f p99 %.2f ms; All sessions p50 %.2f p99 %.2f ms; 10,000 expired sessions terminated %.2f s after their second (one sweep statement set: %.2f s)",
		d, ms(p50), ms(p99), rate, callers, ms(myP50), ms(myP99), ms(allP50), ms(allP99), done.Seconds(), sweepDur.Seconds())
	fmt.Println()
}

// placeholders turns ? into $n on Postgres (database/sql, no GORM).
func (w *benchWorld) placeholders(q string) string { return models.Placeholders(w.store.Dialect(), q) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

func newBenchWorld(b *testing.B, d models.Dialect, tune ...func(*models.Options)) *benchWorld {
	ctx := context.Background()
	dbURL := b.TempDir() + "/bench.db"
	if d == models.Postgres {
		dbURL = dbtest.NewDatabaseURL(b, d)
	}
	db, dialect, err := models.OpenDB(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	sqlDB, _ := db.DB()
	b.Cleanup(func() { sqlDB.Close() })
	if _, err := migrations.Up(ctx, sqlDB, string(dialect)); err != nil {
		b.Fatal(err)
	}
	crypter, _ := models.NewCrypter(randomKey(32))
	p := dbtest.FastPasswords
	broker := live.New()
	opts := models.Options{Crypter: crypter, PasswordParams: &p,
		Sessions: models.SessionOptions{Notifier: broker, InstanceID: "bench"}}
	for _, f := range tune {
		f(&opts)
	}
	// SQLite: a read pool beside the single writer, as serve opens it.
	reads, err := models.OpenReadPool(ctx, dbURL, sqliteReaders())
	if err != nil {
		b.Fatal(err)
	}
	if reads != nil {
		rdb, _ := reads.DB()
		b.Cleanup(func() { rdb.Close() })
		opts.Reads = reads
	}
	store := models.NewStore(db, dialect, opts)
	boot, err := store.Bootstrap(ctx, models.BootstrapOptions{AdminLoginName: "admin", AdminPassword: "password"})
	if err != nil {
		b.Fatal(err)
	}
	admin := dbtest.Login(b, store, boot.AuthMethodID, "admin", "password")
	alice, err := store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "alice", LoginName: "alice", Password: "alice-password"})
	if err != nil {
		b.Fatal(err)
	}
	org, _ := store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: "Acme"})
	proj, err := store.CreateScope(ctx, admin, org.ID, models.ScopeInput{Name: "Lab"})
	if err != nil {
		b.Fatal(err)
	}
	w := &benchWorld{store: store, project: proj.ID}
	for i := 0; i < 10; i++ {
		t, err := store.CreateTarget(ctx, admin, proj.ID, models.TargetInput{Name: fmt.Sprintf("db-%d", i), DefaultPort: 5432,
			Address: fmt.Sprintf("10.0.0.%d", i+1), SessionMaxSeconds: 28800, SessionConnectionLimit: models.UnlimitedConnections})
		if err != nil {
			b.Fatal(err)
		}
		w.targets = append(w.targets, t.ID)
	}
	role, _ := store.CreateRole(ctx, admin, proj.ID, models.RoleInput{Name: "connect"})
	if err := store.SetRoleGrants(ctx, admin, role.ID, role.Version, []string{"ids=*;type=target;actions=read,authorize-session"}); err != nil {
		b.Fatal(err)
	}
	if err := store.AddRolePrincipals(ctx, admin, role.ID, []string{alice.ID}); err != nil {
		b.Fatal(err)
	}
	srv, err := web.NewServer(web.Config{ExternalURL: &url.URL{Scheme: "http", Host: "bench"}, CookieHashKey: randomKey(64),
		CookieBlockKey: randomKey(32), Live: broker}, store, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	w.srv = srv
	w.alice = benchLogin(b, srv, boot.AuthMethodID, "alice", "alice-password")
	w.admin = benchLogin(b, srv, boot.AuthMethodID, "admin", "password")
	return w
}

func benchLogin(b *testing.B, srv http.Handler, method, name, password string) []*http.Cookie {
	form := url.Values{"auth_method_id": {method}, "login_name": {name}, "password": {password}}
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		b.Fatalf("login %s: %d", name, rec.Code)
	}
	return rec.Result().Cookies()
}

const benchCols = "(id, user_id, user_name, org_id, org_name, project_id, project_name, target_id, target_name, endpoint, token_hash, " +
	"state, previous_state, termination_reason, expires_at, connection_limit, connection_count, created_at, updated_at, ended_at)"

// insertSessions writes sessions and their history in multi-row INSERTs.
func insertSessions(b *testing.B, w *benchWorld, n int, row func(i int) []any, hist func(i int) [][]any) {
	ctx := context.Background()
	const batch = 500
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		var vals []string
		var args []any
		var hvals []string
		var hargs []any
		for i := lo; i < hi; i++ {
			vals = append(vals, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, row(i)...)
			for _, h := range hist(i) {
				hvals = append(hvals, "(?, ?, ?, ?, ?)")
				hargs = append(hargs, h...)
			}
		}
		sqlDB, err := w.store.DB().DB()
		if err != nil {
			b.Fatal(err)
		}
		tx, err := sqlDB.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, err = tx.ExecContext(ctx, w.placeholders("INSERT INTO sessions "+benchCols+" VALUES "+strings.Join(vals, ", ")), args...)
		if err == nil {
			_, err = tx.ExecContext(ctx, w.placeholders("INSERT INTO session_states (session_id, state, previous_state, termination_reason, at) VALUES "+
				strings.Join(hvals, ", ")), hargs...)
		}
		if err == nil {
			err = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// seedBenchSessions writes total sessions over the last 30 days for 1,000
// users (alice among them), live of them pending or active.
func seedBenchSessions(b *testing.B, w *benchWorld, total, live int) {
	var aliceID string
	w.store.DB().Raw("SELECT id FROM users WHERE name = 'alice'").Scan(&aliceID)
	now := time.Now().UTC().Truncate(time.Microsecond)
	reasons := []string{"timed out", "canceled", "connection limit", "closed by end-user", "system error"}
	sess := func(i int) (id, user, state string, created time.Time) {
		id = fmt.Sprintf("s_b%011d", i)
		user = fmt.Sprintf("u_b%04d", i%1000)
		if i%1000 == 0 {
			user = aliceID
		}
		created = now.Add(-time.Duration(total-i) * 25 * time.Second)
		state = "terminated"
		if i >= total-live {
			state = []string{"pending", "active"}[i%2]
		}
		return
	}
	insertSessions(b, w, total, func(i int) []any {
		id, user, state, created := sess(i)
		t := w.targets[i%len(w.targets)]
		var prev, reason any
		var ended any
		expires, count := created.Add(8*time.Hour), 0
		switch state {
		case "terminated":
			prev, reason, ended = "pending", reasons[i%len(reasons)], created.Add(time.Minute)
		case "active":
			prev, count, expires = "pending", 1, now.Add(8*time.Hour)
		default:
			expires = now.Add(8 * time.Hour)
		}
		return []any{id, user, fmt.Sprintf("user %d", i%1000), "o_bench", "Acme", w.project, "Lab", t, fmt.Sprintf("db-%d", i%len(w.targets)),
			"10.0.0.1:5432", fmt.Sprintf("h%d", i), state, prev, reason, expires, -1, count, created, created, ended}
	}, func(i int) [][]any {
		id, _, state, created := sess(i)
		h := [][]any{{id, "pending", nil, nil, created}}
		switch state {
		case "terminated":
			h = append(h, []any{id, "terminated", "pending", reasons[i%len(reasons)], created.Add(time.Minute)})
		case "active":
			h = append(h, []any{id, "active", "pending", nil, created.Add(time.Second)})
		}
		return h
	})
}

// seedExpiring writes n pending sessions that all expire at the given time.
func seedExpiring(b *testing.B, w *benchWorld, n int, at time.Time) {
	created := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
	tag := at.Unix()
	insertSessions(b, w, n, func(i int) []any {
		return []any{fmt.Sprintf("s_x%d_%d", tag, i), "u_exp", "expiring", "o_bench", "Acme", w.project, "Lab", w.targets[0], "db-0",
			"10.0.0.1:5432", fmt.Sprintf("x%d_%d", tag, i), "pending", nil, nil, at, -1, 0, created, created, nil}
	}, func(i int) [][]any {
		return [][]any{{fmt.Sprintf("s_x%d_%d", tag, i), "pending", nil, nil, created}}
	})
}
