//go:build load

// The load and soak program (issue 11): `go tool task load` runs it; it is
// not part of `go tool task test`. Loopback only, bounded in time and count.
//
//	GATEHOUSE_LOAD_USERS=200 GATEHOUSE_LOAD_DURATION=10m go test -tags load -run TestLoadAndSoak -timeout 40m -v .
//
// Besides the users, a producer starts short sessions nobody uses at
// GATEHOUSE_LOAD_EXPIRING_PER_MINUTE (default 1,000, the figure)
// and leaves them to expire; the report counts the expiries the database
// recorded per minute and the run fails below that rate.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gatehouse/connect"
	"gatehouse/models"
)

// loadReport is what the program prints (JSON).
type loadReport struct {
	Users, Instances      int
	Duration              string
	SessionTTLSeconds     int
	Requests              int64
	Status5xx             int64 // every 5xx, the login's by-design 503 included (see Failures)
	Unexpected5xx         int64 // 5xx that are not expectedFailures: the run fails on any
	Errors                int64
	Failures              map[string]int64              // "page: cause" → count (every failed request)
	ExpectedFailures      int64                         // of Errors, the kinds failureExpected allows (by design)
	UnexpectedFailures    int64                         // of Errors, the others: the run fails on any
	PagesMillis           map[string]map[string]float64 // page → p50, p99, count
	SessionsStarted       int64
	SessionsCanceled      int64
	SessionsLeftToExpire  int64
	ProducerStarted       int64   // short sessions the producer started, left to expire
	ProducerSkipped       int64   // producer ticks dropped: every producer was busy
	ExpiringTarget        int     // sessions expiring per minute asked for
	ExpiredPerMinute      float64 // sessions the database recorded timed out, per minute of the steady window
	ExpiredWindow         string  // that window: from the first possible expiry to the end of the run
	TunnelsRelayed        int64
	BytesRelayed          int64
	SessionsStuck         int // not terminated at the end
	SessionsWithoutReason int // terminated without a termination reason
	WarehouseRowsMissing  int // started sessions absent from the warehouse
	WarehouseConnsMissing int // connections absent from the warehouse
	RSSStartMB, RSSEndMB  []float64
	// HeapStartMB, HeapEndMB: the live Go heap right after a forced
	// garbage collection (pprof's heap?gc=1, then go_memstats_heap_alloc_bytes),
	// idle, at the start and at the end: the leak signal. RSS at the end
	// still holds memory the runtime has not yet given back to the system,
	// and heap in use (HeapInuseStartMB, HeapInuseEndMB) the spans that
	// still hold any live object (fragmentation).
	HeapStartMB, HeapEndMB           []float64
	HeapInuseStartMB, HeapInuseEndMB []float64
	GoroutinesIdleStart              []int
	GoroutinesIdleEnd                []int
}

var goroutinesMetric = regexp.MustCompile(`(?m)^go_goroutines (\d+)`)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// TestLoadAndSoak: two `serve` instances (child processes) on one Postgres,
// N users each logging in, browsing My targets and My sessions, starting a
// session, relaying bytes through a tunnel (on the other instance), then
// canceling it or leaving it to expire; then every started session must end
// terminated with a reason and be in the warehouse, and the instances'
// memory and goroutines must come back to their idle levels.
func TestLoadAndSoak(t *testing.T) {
	users := envInt("GATEHOUSE_LOAD_USERS", 200)
	duration, err := time.ParseDuration(cmp.Or(os.Getenv("GATEHOUSE_LOAD_DURATION"), "10m"))
	if err != nil {
		t.Fatal(err)
	}
	ttl := envInt("GATEHOUSE_LOAD_SESSION_TTL", 30)
	expiring := envInt("GATEHOUSE_LOAD_EXPIRING_PER_MINUTE", 1000)
	producers := envInt("GATEHOUSE_LOAD_PRODUCERS", 40)
	w := newProxyWorld(t, models.Postgres, 0)
	// Each simulated person has an address of its own (X-Forwarded-For
	// from loopback, trusted), as behind a load balancer: without it all of
	// them share 127.0.0.1 and its per-address login throttle (20 attempts
	// in flight or failed) answers most of 240 logins at once 429.
	w.Env["GATEHOUSE_TRUSTED_PROXIES"] = "127.0.0.1/32"
	w.exec(t, "UPDATE targets SET session_max_seconds = ? WHERE name = 'echo'", ttl)
	// users load0…loadN-1 like alice (her password, her role), made in
	// three statements; the producers are the next ones.
	simulated := users
	users += producers
	w.exec(t, `INSERT INTO users (id, scope_id, name, created_at, updated_at)
		SELECT 'u_load' || g, u.scope_id, 'load' || g, u.created_at, u.updated_at FROM users u, generate_series(0, ? - 1) g WHERE u.name = 'alice'`, users)
	w.exec(t, `INSERT INTO accounts (id, auth_method_id, user_id, login_name, password_hash, created_at, updated_at)
		SELECT 'acctpw_load' || g, a.auth_method_id, 'u_load' || g, 'load' || g, a.password_hash, a.created_at, a.updated_at
		FROM accounts a, generate_series(0, ? - 1) g WHERE a.login_name = 'alice'`, users)
	w.exec(t, `INSERT INTO role_principals (role_id, principal_type, principal_id, user_id, created_at)
		SELECT p.role_id, 'user', 'u_load' || g, 'u_load' || g, p.created_at
		FROM role_principals p, generate_series(0, ? - 1) g WHERE p.principal_id = (SELECT id FROM users WHERE name = 'alice')`, users)
	var bases, pprofs []string
	var pids []int
	for range 2 {
		env := maps.Clone(w.Env)
		pprofAddr := freeLoopbackAddr(t)
		env["GATEHOUSE_PPROF_LISTEN"] = pprofAddr
		child, u := startChildServe(t, env)
		bases = append(bases, u)
		pprofs = append(pprofs, "http://"+pprofAddr)
		pids = append(pids, child.Process.Pid)
	}
	users = simulated
	rep := loadReport{Users: users, Instances: 2, Duration: duration.String(), SessionTTLSeconds: ttl, ExpiringTarget: expiring,
		PagesMillis: map[string]map[string]float64{}, Failures: map[string]int64{}}
	time.Sleep(3 * time.Second) // idle
	for i := range bases {
		live, inuse := heapAfterGCMB(t, pprofs[i], bases[i])
		rep.HeapStartMB, rep.HeapInuseStartMB = append(rep.HeapStartMB, live), append(rep.HeapInuseStartMB, inuse)
		rep.RSSStartMB = append(rep.RSSStartMB, rssMB(t, pids[i]))
		rep.GoroutinesIdleStart = append(rep.GoroutinesIdleStart, goroutines(t, bases[i]))
	}

	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	var started []string
	var requests, fiveXX, errs, canceled, left, relayed, bytes, produced, skipped atomic.Int64
	// fail counts one failed request by page and cause.
	fail := func(page, cause string) {
		errs.Add(1)
		mu.Lock()
		rep.Failures[page+": "+cause]++
		mu.Unlock()
	}
	timed := func(page string, do func() (int, error)) (int, bool) {
		t0 := time.Now()
		st, err := do()
		d := time.Since(t0)
		requests.Add(1)
		mu.Lock()
		lat[page] = append(lat[page], d)
		mu.Unlock()
		if st >= 500 {
			fiveXX.Add(1)
		}
		switch {
		case err != nil:
			fail(page, failureCause(err))
			return st, false
		case st >= 400:
			fail(page, "status "+strconv.Itoa(st))
			return st, false
		}
		return st, true
	}
	runStart := time.Now()
	deadline := runStart.Add(duration)
	// client is one simulated browser on base: do sends a request (a form
	// when form is set, htmx's header when hx) and returns the status and body.
	client := func(base string, person int) func(method, path string, form url.Values, hx bool) (int, string, error) {
		addr := fmt.Sprintf("10.0.%d.%d", person/250, person%250+1)
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		return func(method, path string, form url.Values, hx bool) (int, string, error) {
			var body io.Reader
			if form != nil {
				body = strings.NewReader(form.Encode())
			}
			req, _ := http.NewRequest(method, base+path, body)
			if form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if hx {
				req.Header.Set("HX-Request", "true")
			}
			req.Header.Set("X-Forwarded-For", addr)
			resp, err := c.Do(req)
			if err != nil {
				return 0, "", err
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
				b = []byte("retry-after:" + resp.Header.Get("Retry-After"))
			}
			return resp.StatusCode, string(b), nil
		}
	}
	// login logs user in with do; a login answered 503 (the password hash
	// bound is busy) or 429 is tried again after its Retry-After, as a
	// person would (both by design, issue 11 finding 2 and 7).
	login := func(do func(string, string, url.Values, bool) (int, string, error), user int) bool {
		lp, body, err := do("GET", "/login", nil, false)
		m := passwordMethodPattern.FindStringSubmatch(body)
		if err != nil || lp != 200 || m == nil {
			fail("login_page", cmp.Or(failureCause(err), "status "+strconv.Itoa(lp)))
			return false
		}
		for range 60 {
			var retry string
			st, ok := timed("login", func() (int, error) {
				st, b, err := do("POST", "/login", url.Values{"auth_method_id": {m[1]}, "login_name": {fmt.Sprintf("load%d", user)}, "password": {"alice-password"}}, false)
				retry, _ = strings.CutPrefix(b, "retry-after:")
				if st == http.StatusSeeOther {
					st = 200
				}
				return st, err
			})
			if ok {
				return true
			}
			if st != http.StatusServiceUnavailable && st != http.StatusTooManyRequests {
				return false
			}
			secs, _ := strconv.Atoi(retry)
			time.Sleep(time.Duration(max(secs, 1)) * time.Second)
		}
		fail("login", "gave up after 60 busy answers")
		return false
	}

	// The producer: sessions started at `expiring` a minute by `producers`
	// users, never used, left to expire.
	var pwg sync.WaitGroup
	ticks := make(chan struct{}, producers)
	pwg.Go(func() {
		defer close(ticks)
		every := time.NewTicker(time.Minute / time.Duration(expiring))
		defer every.Stop()
		for now := range every.C {
			if now.After(deadline) {
				return
			}
			select {
			case ticks <- struct{}{}:
			default:
				skipped.Add(1)
			}
		}
	})
	for k := range producers {
		pwg.Go(func() {
			do := client(bases[k%2], simulated+k)
			if !login(do, simulated+k) {
				for range ticks {
					skipped.Add(1)
				}
				return
			}
			var start string
			for start == "" && time.Now().Before(deadline) {
				var targets string
				timed("my_targets", func() (int, error) { st, b, err := do("GET", "/targets", nil, false); targets = b; return st, err })
				if tm := startPattern.FindStringSubmatch(targets); tm != nil {
					start = "/targets/" + tm[1] + "/sessions"
				} else {
					fail("my_targets", "no start link")
					time.Sleep(time.Second)
				}
			}
			for range ticks {
				var page string
				if _, ok := timed("producer_start", func() (int, error) {
					st, b, err := do("POST", start, url.Values{}, false)
					page = b
					if st == http.StatusCreated {
						st = 200
					}
					return st, err
				}); !ok {
					continue
				}
				sm := sessionPattern.FindStringSubmatch(page)
				if sm == nil {
					fail("producer_start", "no session id in the answer")
					continue
				}
				produced.Add(1)
				mu.Lock()
				started = append(started, sm[1])
				mu.Unlock()
			}
		})
	}

	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			home, other := bases[i%2], bases[(i+1)%2]
			do := client(home, i)
			if !login(do, i) {
				return
			}
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for time.Now().Before(deadline) {
				var targets string
				timed("my_targets", func() (int, error) { st, b, err := do("GET", "/targets", nil, false); targets = b; return st, err })
				timed("my_sessions", func() (int, error) { st, _, err := do("GET", "/sessions", nil, false); return st, err })
				timed("history", func() (int, error) { st, _, err := do("GET", "/audit/sessions", nil, false); return st, err })
				tm := startPattern.FindStringSubmatch(targets)
				if tm == nil {
					fail("my_targets", "no start link")
					time.Sleep(time.Second)
					continue
				}
				var page string
				if _, ok := timed("start_session", func() (int, error) {
					st, b, err := do("POST", "/targets/"+tm[1]+"/sessions", url.Values{}, false)
					page = b
					if st == http.StatusCreated {
						st = 200
					}
					return st, err
				}); !ok {
					continue
				}
				s, tok := sessionPattern.FindStringSubmatch(page), tokenPattern.FindStringSubmatch(page)
				if s == nil || tok == nil {
					fail("start_session", "no session id or token in the answer")
					continue
				}
				mu.Lock()
				started = append(started, s[1])
				mu.Unlock()
				cl, _ := connect.NewClient(other, tok[1], nil)
				timed("relay_1KiB", func() (int, error) {
					tun, err := cl.Open(context.Background())
					if err != nil {
						return 0, err
					}
					defer tun.Close()
					msg := make([]byte, 1024)
					if _, err := tun.Write(msg); err != nil {
						return 0, err
					}
					got := len(tun.Pending)
					buf := make([]byte, 1024)
					for got < len(msg) {
						n, err := tun.Read(buf)
						if err != nil {
							return 0, err
						}
						got += n
					}
					relayed.Add(1)
					bytes.Add(2048)
					return 200, nil
				})
				if rng.IntN(2) == 0 {
					timed("cancel", func() (int, error) {
						st, _, err := do("POST", "/sessions/"+s[1]+"/cancel", url.Values{}, true)
						if st == http.StatusNoContent {
							st = 200
						}
						return st, err
					})
					canceled.Add(1)
				} else {
					left.Add(1)
				}
				time.Sleep(time.Duration(500+rng.IntN(1500)) * time.Millisecond) // think time
			}
		})
	}
	wg.Wait()
	pwg.Wait()
	rep.Requests, rep.Status5xx, rep.Errors = requests.Load(), fiveXX.Load(), errs.Load()
	for kind, n := range rep.Failures {
		if failureExpected(kind) {
			rep.ExpectedFailures += n
		} else {
			rep.UnexpectedFailures += n
			if strings.Contains(kind, ": status 5") {
				rep.Unexpected5xx += n
			}
		}
	}
	rep.ProducerStarted, rep.ProducerSkipped = produced.Load(), skipped.Load()
	rep.SessionsStarted, rep.SessionsCanceled, rep.SessionsLeftToExpire = int64(len(started)), canceled.Load(), left.Load()
	rep.TunnelsRelayed, rep.BytesRelayed = relayed.Load(), bytes.Load()
	for page, ds := range lat {
		slices.Sort(ds)
		q := func(p float64) float64 {
			return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds()) / 1000
		}
		rep.PagesMillis[page] = map[string]float64{"p50": q(.5), "p99": q(.99), "count": float64(len(ds))}
	}

	// Every session started must end (expiry at the latest) with a reason,
	// and be in the warehouse.
	gdb, _, err := models.OpenDB(context.Background(), w.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	db, _ := gdb.DB()
	defer db.Close()
	wait := time.Now().Add(time.Duration(ttl)*time.Second + 30*time.Second)
	for {
		if err := db.QueryRow(`SELECT count(*) FROM sessions WHERE state <> 'terminated'`).Scan(&rep.SessionsStuck); err != nil {
			t.Fatal(err)
		}
		if rep.SessionsStuck == 0 || time.Now().After(wait) {
			break
		}
		time.Sleep(time.Second)
	}
	if err := db.QueryRow(`SELECT count(*) FROM sessions WHERE state = 'terminated' AND (termination_reason IS NULL OR termination_reason = '')`).Scan(&rep.SessionsWithoutReason); err != nil {
		t.Fatal(err)
	}
	var inWarehouse int
	if err := db.QueryRow(`SELECT count(*) FROM warehouse_sessions WHERE session_id IN (SELECT id FROM sessions)`).Scan(&inWarehouse); err != nil {
		t.Fatal(err)
	}
	rep.WarehouseRowsMissing = len(started) - inWarehouse
	if err := db.QueryRow(`SELECT count(*) FROM session_connections c
		WHERE NOT EXISTS (SELECT 1 FROM warehouse_connections w WHERE w.connection_id = c.id AND w.closed_at IS NOT NULL)`).Scan(&rep.WarehouseConnsMissing); err != nil {
		t.Fatal(err)
	}
	// Expiries per minute: sessions recorded timed out between the first
	// moment one started in the run could expire and the end of the run.
	from := runStart.Add(time.Duration(ttl) * time.Second)
	var expired int
	if err := db.QueryRow(`SELECT count(*) FROM sessions WHERE termination_reason = 'timed out' AND ended_at >= $1 AND ended_at < $2`,
		from.UTC(), deadline.UTC()).Scan(&expired); err != nil {
		t.Fatal(err)
	}
	if window := deadline.Sub(from); window > 0 {
		rep.ExpiredPerMinute = math.Round(float64(expired)/window.Minutes()*10) / 10
		rep.ExpiredWindow = fmt.Sprintf("%d timed out in %s", expired, window.Round(time.Second))
	}
	time.Sleep(10 * time.Second) // idle again: keep-alive connections time out, streams end
	for i := range bases {
		live, inuse := heapAfterGCMB(t, pprofs[i], bases[i])
		rep.HeapEndMB, rep.HeapInuseEndMB = append(rep.HeapEndMB, live), append(rep.HeapInuseEndMB, inuse)
		rep.RSSEndMB = append(rep.RSSEndMB, rssMB(t, pids[i]))
		rep.GoroutinesIdleEnd = append(rep.GoroutinesIdleEnd, goroutines(t, bases[i]))
	}
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Printf("LOAD REPORT\n%s\n", out)
	if p := os.Getenv("GATEHOUSE_LOAD_REPORT"); p != "" {
		_ = os.WriteFile(p, out, 0o644)
	}
	if rep.Unexpected5xx > 0 || rep.SessionsStuck > 0 || rep.SessionsWithoutReason > 0 || rep.WarehouseRowsMissing != 0 || rep.WarehouseConnsMissing != 0 {
		t.Errorf("load: %d unexpected 5xx, %d stuck sessions, %d without reason, %d warehouse session rows and %d connection rows missing",
			rep.Unexpected5xx, rep.SessionsStuck, rep.SessionsWithoutReason, rep.WarehouseRowsMissing, rep.WarehouseConnsMissing)
	}
	if rep.UnexpectedFailures > 0 {
		t.Errorf("load: %d unexpected failed requests (see Failures; expected ones: %s)", rep.UnexpectedFailures, expectedFailures)
	}
	if rep.ExpiredPerMinute < float64(expiring) {
		t.Errorf("load: %.1f sessions expired per minute (%s), want at least %d", rep.ExpiredPerMinute, rep.ExpiredWindow, expiring)
	}
}

// expectedFailures are the failed requests the load may see by design:
// a login answered 503 with Retry-After while the password hash bound is
// busy (issue 11, finding 2: 240 people log in at once, 4 hashes run at a
// time) or 429 by the login throttle (finding 7: attempts in flight count
// until they succeed); the person tries again after Retry-After. Every
// other failure fails the run.
const expectedFailures = "login: status 503, login: status 429"

func failureExpected(kind string) bool {
	return slices.Contains(strings.Split(expectedFailures, ", "), kind)
}

// failureCause names a failed request's error without what varies from
// one to the next (addresses, ports).
func failureCause(err error) string {
	if err == nil {
		return ""
	}
	var refused *connect.RefusedError
	var ne net.Error
	switch {
	case errors.As(err, &refused):
		return fmt.Sprintf("refused %d %s", refused.Status, refused.Code)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	}
	return "error " + digits.ReplaceAllString(err.Error(), "N")
}

var digits = regexp.MustCompile(`\d+`)

// rssMB reads a process's resident set size.
func rssMB(t *testing.T, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

var (
	heapAllocMetric = regexp.MustCompile(`(?m)^go_memstats_heap_alloc_bytes (\S+)`)
	heapInuseMetric = regexp.MustCompile(`(?m)^go_memstats_heap_inuse_bytes (\S+)`)
)

// heapAfterGCMB forces a garbage collection in an instance (its pprof
// listener's heap profile with gc=1, kept in GATEHOUSE_LOAD_HEAP_DIR when
// set) and reads its live heap and its heap in use, in MB.
func heapAfterGCMB(t *testing.T, pprof, base string) (live, inuse float64) {
	resp, err := http.Get(pprof + "/debug/pprof/heap?gc=1")
	if err != nil {
		t.Fatal(err)
	}
	var sink io.Writer = io.Discard
	if dir := os.Getenv("GATEHOUSE_LOAD_HEAP_DIR"); dir != "" { // keep the profiles to read with go tool pprof
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("heap-%s-%d.pb.gz", strings.NewReplacer(":", "_", "/", "_").Replace(base), time.Now().Unix())))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sink = f
	}
	_, _ = io.Copy(sink, resp.Body)
	resp.Body.Close()
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	mb := func(re *regexp.Regexp) float64 {
		m := re.FindSubmatch(b)
		if m == nil {
			t.Fatalf("no %s in %s/metrics", re, base)
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		return math.Round(v/(1<<20)*10) / 10
	}
	return mb(heapAllocMetric), mb(heapInuseMetric)
}

// freeLoopbackAddr returns a loopback address with a port free right now.
func freeLoopbackAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// goroutines reads an instance's go_goroutines metric.
func goroutines(t *testing.T, base string) int {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := goroutinesMetric.FindSubmatch(b)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}
