//go:build load

// The load and soak program (issue 11): `go tool task load` runs it; it is
// not part of `go tool task test`. Loopback only, bounded in time and count.
//
//	GATEHOUSE_LOAD_USERS=200 GATEHOUSE_LOAD_DURATION=10m go test -tags load -run TestLoadAndSoak -timeout 40m -v .
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	Status5xx             int64
	Errors                int64
	PagesMillis           map[string]map[string]float64 // page → p50, p99, count
	SessionsStarted       int64
	SessionsCanceled      int64
	SessionsLeftToExpire  int64
	ExpiredPerMinute      float64
	TunnelsRelayed        int64
	BytesRelayed          int64
	SessionsStuck         int // not terminated at the end
	SessionsWithoutReason int // terminated without a termination reason
	WarehouseRowsMissing  int // started sessions absent from the warehouse
	RSSStartMB, RSSEndMB  []float64
	GoroutinesIdleStart   []int
	GoroutinesIdleEnd     []int
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
	w := newProxyWorld(t, models.Postgres, 0)
	w.exec(t, "UPDATE targets SET session_max_seconds = ? WHERE name = 'echo'", ttl)
	// users load0…loadN-1 like alice (her password, her role), made in three statements.
	w.exec(t, `INSERT INTO users (id, scope_id, name, created_at, updated_at)
		SELECT 'u_load' || g, u.scope_id, 'load' || g, u.created_at, u.updated_at FROM users u, generate_series(0, ? - 1) g WHERE u.name = 'alice'`, users)
	w.exec(t, `INSERT INTO accounts (id, auth_method_id, user_id, login_name, password_hash, created_at, updated_at)
		SELECT 'acctpw_load' || g, a.auth_method_id, 'u_load' || g, 'load' || g, a.password_hash, a.created_at, a.updated_at
		FROM accounts a, generate_series(0, ? - 1) g WHERE a.login_name = 'alice'`, users)
	w.exec(t, `INSERT INTO role_principals (role_id, principal_type, principal_id, user_id, created_at)
		SELECT p.role_id, 'user', 'u_load' || g, 'u_load' || g, p.created_at
		FROM role_principals p, generate_series(0, ? - 1) g WHERE p.principal_id = (SELECT id FROM users WHERE name = 'alice')`, users)
	var bases []string
	var pids []int
	for range 2 {
		child, u := startChildServe(t, w.Env)
		bases = append(bases, u)
		pids = append(pids, child.Process.Pid)
	}
	rep := loadReport{Users: users, Instances: 2, Duration: duration.String(), SessionTTLSeconds: ttl, PagesMillis: map[string]map[string]float64{}}
	time.Sleep(3 * time.Second) // idle
	for i := range bases {
		rep.RSSStartMB = append(rep.RSSStartMB, rssMB(t, pids[i]))
		rep.GoroutinesIdleStart = append(rep.GoroutinesIdleStart, goroutines(t, bases[i]))
	}

	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	var started []string
	var requests, fiveXX, errs, canceled, left, relayed, bytes atomic.Int64
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
		if err != nil || st >= 400 {
			errs.Add(1)
			return st, false
		}
		return st, true
	}
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			home, other := bases[i%2], bases[(i+1)%2]
			do := func(method, path string, form url.Values, hx bool) (int, string, error) {
				var body io.Reader
				if form != nil {
					body = strings.NewReader(form.Encode())
				}
				req, _ := http.NewRequest(method, home+path, body)
				if form != nil {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				if hx {
					req.Header.Set("HX-Request", "true")
				}
				resp, err := c.Do(req)
				if err != nil {
					return 0, "", err
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b), nil
			}
			lp, body, _ := do("GET", "/login", nil, false)
			m := passwordMethodPattern.FindStringSubmatch(body)
			if lp != 200 || m == nil {
				errs.Add(1)
				return
			}
			if _, ok := timed("login", func() (int, error) {
				st, _, err := do("POST", "/login", url.Values{"auth_method_id": {m[1]}, "login_name": {fmt.Sprintf("load%d", i)}, "password": {"alice-password"}}, false)
				if st == http.StatusSeeOther {
					st = 200
				}
				return st, err
			}); !ok {
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
					errs.Add(1)
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
					errs.Add(1)
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
	rep.Requests, rep.Status5xx, rep.Errors = requests.Load(), fiveXX.Load(), errs.Load()
	rep.SessionsStarted, rep.SessionsCanceled, rep.SessionsLeftToExpire = int64(len(started)), canceled.Load(), left.Load()
	rep.ExpiredPerMinute = float64(left.Load()) / duration.Minutes()
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
	time.Sleep(10 * time.Second) // idle again: keep-alive connections time out, streams end
	for i := range bases {
		rep.RSSEndMB = append(rep.RSSEndMB, rssMB(t, pids[i]))
		rep.GoroutinesIdleEnd = append(rep.GoroutinesIdleEnd, goroutines(t, bases[i]))
	}
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Printf("LOAD REPORT\n%s\n", out)
	if p := os.Getenv("GATEHOUSE_LOAD_REPORT"); p != "" {
		_ = os.WriteFile(p, out, 0o644)
	}
	if rep.Status5xx > 0 || rep.SessionsStuck > 0 || rep.SessionsWithoutReason > 0 || rep.WarehouseRowsMissing != 0 {
		t.Errorf("load: %d 5xx, %d stuck sessions, %d without reason, %d warehouse rows missing", rep.Status5xx, rep.SessionsStuck, rep.SessionsWithoutReason, rep.WarehouseRowsMissing)
	}
}

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
