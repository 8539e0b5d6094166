package main

import (
	"net/http"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// /metrics needs no login by default (scrapers on a private network); a
// token makes it require the bearer token, and --metrics-listen moves it
// to its own address, off the public listener (issue 11, finding 11).
func TestMetricsTokenAndListener(t *testing.T) {
	dbURL := dbtest.NewDatabaseURL(t, models.SQLite)
	scrape := func(u, token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode
	}

	env := serveEnv(dbURL)
	env["GATEHOUSE_METRICS_TOKEN"] = "s3cret-scraper-token"
	a := launch(t, env, "serve")
	for token, want := range map[string]int{"": 401, "wrong": 401, "s3cret-scraper-token": 200} {
		if got := scrape(a.URL+"/metrics", token); got != want {
			t.Errorf("token %q on the main listener: %d, want %d", token, got, want)
		}
	}
	a.Stop(t)

	env = serveEnv(dbURL)
	metricsAddr := freeAddr(t)
	env["GATEHOUSE_METRICS_LISTEN"] = metricsAddr
	b := launch(t, env, "serve")
	if got := scrape(b.URL+"/metrics", ""); got != http.StatusNotFound {
		t.Errorf("/metrics on the main listener with --metrics-listen: %d, want 404", got)
	}
	if got := scrape("http://"+metricsAddr+"/metrics", ""); got != http.StatusOK {
		t.Errorf("/metrics on --metrics-listen: %d, want 200", got)
	}
	if got := scrape("http://"+metricsAddr+"/users", ""); got != http.StatusNotFound {
		t.Errorf("the metrics listener serves /users: %d", got)
	}
	b.Stop(t)

	// Profiles live on their own listener too; a busy address is refused
	// before anything starts, naming the setting.
	env = serveEnv(dbURL)
	pprofAddr := freeAddr(t)
	env["GATEHOUSE_PPROF_LISTEN"] = pprofAddr
	p := launch(t, env, "serve")
	if got := scrape("http://"+pprofAddr+"/debug/pprof/", ""); got != http.StatusOK {
		t.Errorf("/debug/pprof/ on --pprof-listen: %d, want 200", got)
	}
	if got := scrape(p.URL+"/debug/pprof/", ""); got != http.StatusNotFound {
		t.Errorf("/debug/pprof/ on the main listener: %d, want 404", got)
	}
	env = serveEnv(dbURL)
	env["GATEHOUSE_PPROF_LISTEN"] = pprofAddr // still p's
	var busyOut, busyErr strings.Builder
	if err := run(t.Context(), []string{"serve"}, func(k string) string { return env[k] }, &busyOut, &busyErr); err == nil ||
		!strings.Contains(err.Error(), "--pprof-listen / GATEHOUSE_PPROF_LISTEN: cannot listen on") {
		t.Errorf("busy --pprof-listen: %v", err)
	}
	p.Stop(t)

	env = serveEnv(dbURL)
	env["GATEHOUSE_METRICS_LISTEN"] = "not an address"
	env["GATEHOUSE_PASSWORD_HASH_CONCURRENCY"] = "0"
	var out, errOut strings.Builder
	err := run(t.Context(), []string{"serve"}, func(k string) string { return env[k] }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--metrics-listen / GATEHOUSE_METRICS_LISTEN: must be host:port") ||
		!strings.Contains(err.Error(), "--password-hash-concurrency / GATEHOUSE_PASSWORD_HASH_CONCURRENCY: must be a whole number from 1 to 256") {
		t.Fatalf("bad settings: %v", err)
	}
}
