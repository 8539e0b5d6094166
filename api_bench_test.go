package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/cli"
	"gatehouse/dbtest"
	"gatehouse/models"
)

// BenchmarkAPIAuthorize measures starting a session through the API next
// to the form path, on both databases (issue 14):
//
//	go test -run '^$' -bench BenchmarkAPIAuthorize -benchtime 1x .
//
// Each path: 300 sequential calls after 20 warm-up ones (p50/p99), then 16
// goroutines × 100 calls (starts/s). Server time around ServeHTTP (bearer
// token or cookie lookup, roles, the use case, the answer), no network.
func BenchmarkAPIAuthorize(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchAPIAuthorize(b, d)
			}
		})
	}
}

func benchAPIAuthorize(b *testing.B, d models.Dialect) {
	w := newBenchWorld(b, d)
	var authID string
	if err := w.store.DB().Raw("SELECT id FROM auth_methods WHERE type = 'password'").Scan(&authID).Error; err != nil {
		b.Fatal(err)
	}
	alice := dbtest.Login(b, w.store, authID, "alice", "alice-password")
	tok, err := w.store.CreateAPIToken(context.Background(), alice, models.APITokenInput{Name: "bench", ExpiresAt: time.Now().Add(24 * time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	paths := []struct {
		name string
		req  func(target string) *http.Request
	}{
		{"form POST /targets/{id}/sessions", func(target string) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/targets/"+target+"/sessions", strings.NewReader(""))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, c := range w.alice {
				r.AddCookie(c)
			}
			return r
		}},
		{"API POST /api/v1/targets/{id}/authorize-session", func(target string) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/targets/"+target+"/authorize-session", nil)
			r.Header.Set("Authorization", "Bearer "+tok.Token)
			return r
		}},
	}
	for _, p := range paths {
		start := func(i int) time.Duration {
			req := p.req(w.targets[i%len(w.targets)])
			rec := httptest.NewRecorder()
			t := time.Now()
			w.srv.ServeHTTP(rec, req)
			el := time.Since(t)
			if rec.Code != http.StatusCreated {
				b.Fatalf("%s: %d %s", p.name, rec.Code, rec.Body.String())
			}
			return el
		}
		for i := 0; i < 20; i++ {
			start(i)
		}
		var seq []time.Duration
		for i := 0; i < 300; i++ {
			seq = append(seq, start(i))
		}
		const callers, each = 16, 100
		var wg sync.WaitGroup
		t1 := time.Now()
		for c := 0; c < callers; c++ {
			wg.Go(func() {
				for i := 0; i < each; i++ {
					start(c*each + i)
				}
			})
		}
		wg.Wait()
		rate := float64(callers*each) / time.Since(t1).Seconds()
		fmt.Printf("%s: %s: p50 %.2f ms, p99 %.2f ms, %.0f starts/s with %d callers\n", d, p.name,
			ms(pct(seq, 50)), ms(pct(seq, 99)), rate, callers)
	}
}

// BenchmarkCLIConnect measures `gatehouse connect TARGET` from the command
// to the first byte echoed back, against `gatehouse dev` (SQLite) on
// loopback: the CLI resolves the target by name, authorizes a session
// through the API, checks it, listens, and the test's client connects,
// writes a byte and reads it back through the tunnel.
//
//	go test -run '^$' -bench BenchmarkCLIConnect -benchtime 1x .
func BenchmarkCLIConnect(b *testing.B) {
	for i := 0; i < b.N; i++ {
		benchCLIConnect(b)
	}
}

func benchCLIConnect(b *testing.B) {
	app := launch(b, nil, "dev", "--listen", "127.0.0.1:0", "--data-dir", b.TempDir())
	base := app.URL
	env := map[string]string{"GATEHOUSE_CONFIG_DIR": b.TempDir()}
	getenv := func(k string) string { return env[k] }
	var out, errOut syncBuffer
	if err := cli.Main(context.Background(), "login", []string{"--addr", base, "--password", "--login-name", "admin"},
		cli.Env{Getenv: getenv, Stdin: strings.NewReader("password\n"), Stdout: &out, Stderr: &errOut}); err != nil {
		b.Fatalf("login: %v %s", err, errOut.String())
	}
	echoPort := echoServer(b).Port
	var tgt struct{ ID string }
	r := start(b, env, "targets", "echo", "--format", "json")
	if err := r.wait(b, 30*time.Second); err != nil {
		b.Fatal(err)
	}
	tgt.ID = regexp.MustCompile(`"id": "(ttcp_\w+)"`).FindStringSubmatch(r.Out.String())[1]
	cfg := readCLIToken(b, env["GATEHOUSE_CONFIG_DIR"], base)
	apiCall(b, cfg, http.MethodGet, base+"/api/v1/targets/"+tgt.ID, "", func(resp *http.Response) {
		apiCall(b, cfg, http.MethodPatch, base+"/api/v1/targets/"+tgt.ID, `{"default_port": `+strconv.Itoa(echoPort)+`}`, nil,
			"If-Match", resp.Header.Get("ETag"))
	})
	listening := regexp.MustCompile(`Listening on (127\.0\.0\.1:\d+)`)
	var ds []time.Duration
	for i := 0; i < 33; i++ {
		t0 := time.Now()
		c := start(b, env, "connect", "echo")
		var addr string
		for addr == "" {
			if m := listening.FindStringSubmatch(c.Out.String()); m != nil {
				addr = m[1]
			} else if time.Since(t0) > 30*time.Second {
				b.Fatalf("connect did not listen: %s %s", c.Out, c.Err)
			} else {
				time.Sleep(200 * time.Microsecond)
			}
		}
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		buf := []byte{'x'}
		if _, err := conn.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Read(buf); err != nil || buf[0] != 'x' {
			b.Fatalf("echo: %v", err)
		}
		el := time.Since(t0)
		conn.Close()
		c.stop()
		_ = c.wait(b, 30*time.Second)
		if i >= 3 { // the first runs warm up
			ds = append(ds, el)
		}
	}
	fmt.Printf("gatehouse connect echo → first byte echoed: p50 %.1f ms, p90 %.1f ms (%d runs)\n", ms(pct(ds, 50)), ms(pct(ds, 90)), len(ds))
}
