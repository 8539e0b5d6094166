package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse/browsertest"
	"gatehouse/cli"
	"gatehouse/models"
)

// cliOnce runs a CLI command to its end and returns stdout, stderr and the
// exit status main would give.
func cliOnce(t testing.TB, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	r := start(t, env, args...)
	err := r.wait(t, 60*time.Second)
	code := exitStatus(err, r.Err)
	return r.Out.String(), r.Err.String(), code
}

var loginURLPattern = regexp.MustCompile(`(http://\S+/cli/login\?\S+)`)

// TestCLIEndToEnd drives the CLI against `gatehouse dev` run through run:
// the admin logs in with --password and points the echo target at the
// test's echo service through the API; alice logs in through the dev
// OpenID provider in headless Chromium (loopback redirect with PKCE);
// `connect echo --exec` exchanges bytes; `cancel` cuts a connected
// session; sessions and history list; a revoked or expired token gets a
// clear message and exit status 3.
func TestCLIEndToEnd(t *testing.T) {
	dataDir := t.TempDir()
	base, _ := startDev(t, dataDir)
	adminEnv := map[string]string{"GATEHOUSE_CONFIG_DIR": t.TempDir()}
	env := map[string]string{"GATEHOUSE_CONFIG_DIR": t.TempDir(), "BROWSER": "none"}

	// The admin logs in with a password (stdin) and moves the echo target.
	var out, errOut syncBuffer
	err := cli.Main(context.Background(), "login", []string{"--addr", base, "--password", "--login-name", "admin"},
		cli.Env{Getenv: func(k string) string { return adminEnv[k] }, Stdin: strings.NewReader("password\n"), Stdout: &out, Stderr: &errOut})
	if err != nil {
		t.Fatalf("admin --password login: %v\n%s", err, errOut.String())
	}
	cfgFile := filepath.Join(adminEnv["GATEHOUSE_CONFIG_DIR"], "cli.json")
	if st, err := os.Stat(cfgFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file %v %v, want mode 0600", st, err)
	}
	adminTok := readCLIToken(t, adminEnv["GATEHOUSE_CONFIG_DIR"], base)
	echoPort := echoServer(t).Port
	targets, _, code := cliOnce(t, adminEnv, "targets", "echo", "--format", "json")
	var ts []struct{ ID, Name string }
	if err := json.Unmarshal([]byte(targets), &ts); err != nil || code != 0 || len(ts) != 1 {
		t.Fatalf("admin targets: %d %q %v", code, targets, err)
	}
	apiCall(t, adminTok, http.MethodGet, base+"/api/v1/targets/"+ts[0].ID, "", func(resp *http.Response) {
		apiCall(t, adminTok, http.MethodPatch, base+"/api/v1/targets/"+ts[0].ID, `{"default_port": `+strconv.Itoa(echoPort)+`}`, nil,
			"If-Match", resp.Header.Get("ETag"))
	})

	// Alice logs in through the browser and the dev OpenID provider.
	login := start(t, env, "login", "--addr", base)
	loginURL := login.waitFor(t, loginURLPattern)[1]
	ctx := browsertest.New(t)
	browsertest.Navigate(t, ctx, loginURL)
	browsertest.WaitText(t, ctx, "a.provider-btn", "Log in with Dev provider")
	browsertest.Click(t, ctx, "a.provider-btn")
	browsertest.Fill(t, ctx, "#username", "alice")
	browsertest.Fill(t, ctx, "#password", "password")
	browsertest.Click(t, ctx, "[data-testid=login-form] button[type=submit]")
	browsertest.WaitVisible(t, ctx, "[data-testid=cli-allow]")
	browsertest.Screenshot(t, ctx, filepath.Join(os.TempDir(), "gatehouse-screenshots", "cli-login-1280.png"))
	browsertest.Click(t, ctx, "[data-testid=cli-allow]")
	browsertest.WaitText(t, ctx, "#result", "You are logged in")
	if err := login.wait(t, 30*time.Second); err != nil || !strings.Contains(login.Out.String(), "Logged in to "+base) {
		t.Fatalf("browser login: %v\n%s\n%s", err, login.Out, login.Err)
	}

	// connect echo --exec exchanges bytes (the client is bash on /dev/tcp).
	o, e, code := cliOnce(t, env, "connect", "echo", "--exec", "bash", "--", "-c",
		`exec 3<>/dev/tcp/{{host}}/{{port}}; printf 'hello through gatehouse' >&3; head -c 23 <&3; echo; echo "id=$GATEHOUSE_SESSION_ID"`)
	if code != 0 || !strings.Contains(o, "hello through gatehouse") || !regexp.MustCompile(`id=s_\w+`).MatchString(o) {
		t.Fatalf("connect --exec: exit %d\n%s\n%s", code, o, e)
	}

	// cancel cuts a live connection and ends connect.
	conn := start(t, env, "connect", "echo")
	m := conn.waitFor(t, regexp.MustCompile(`Listening on (127\.0\.0\.1:\d+) for session (s_\w+)`))
	c, err := net.Dial("tcp", m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echoOnce(t, c, "ping")
	cut := cutWatch(c)
	if o, e, code := cliOnce(t, env, "cancel", m[2]); code != 0 || !strings.Contains(o, m[2]) {
		t.Fatalf("cancel: %d %s %s", code, o, e)
	}
	select {
	case <-cut:
	case <-time.After(15 * time.Second):
		t.Fatal("cancel did not cut the connection")
	}
	if err := conn.wait(t, 15*time.Second); err != nil {
		t.Errorf("connect after cancel: %v", err)
	}
	o, _, code = cliOnce(t, env, "sessions", "--format", "json")
	var ss []struct{ ID, State string }
	if err := json.Unmarshal([]byte(o), &ss); err != nil || code != 0 || len(ss) != 2 {
		t.Fatalf("sessions: %d %s", code, o)
	}
	if o, _, code := cliOnce(t, adminEnv, "history", "--target", "echo", "--format", "csv"); code != 0 || strings.Count(o, "\n") != 3 {
		t.Errorf("history csv: %d\n%s", code, o)
	}
	// Tables cut at --limit say how many there are in all (the totals).
	if o, e, code := cliOnce(t, adminEnv, "history", "--target", "echo", "--limit", "1"); code != 0 || strings.Count(o, "\n") != 2 ||
		!strings.Contains(e, "Showing 1 of 2 sessions") {
		t.Errorf("history table cut at 1: %d\n%s\n%s", code, o, e)
	}
	if o, e, code := cliOnce(t, env, "sessions", "--limit", "1"); code != 0 || !strings.Contains(e, "Showing 1 of 2 sessions") {
		t.Errorf("sessions table cut at 1: %d\n%s\n%s", code, o, e)
	}
	if _, e, code := cliOnce(t, env, "sessions"); code != 0 || strings.Contains(e, "Showing") {
		t.Errorf("sessions, all shown: %d %s", code, e)
	}
	// Unknown target: a clear refusal with the "Why can't I?" page.
	if _, e, code := cliOnce(t, env, "connect", "nope"); code != cli.ExitDenied || !strings.Contains(e, "/explain") {
		t.Errorf("unknown target: %d %s", code, e)
	}

	// Revoked: logout revokes on the server; the kept copy is refused.
	b, _ := os.ReadFile(filepath.Join(env["GATEHOUSE_CONFIG_DIR"], "cli.json"))
	if o, _, code := cliOnce(t, env, "logout"); code != 0 || !strings.Contains(o, "Logged out") {
		t.Fatalf("logout: %d %s", code, o)
	}
	if _, e, code := cliOnce(t, env, "targets"); code != cli.ExitAuth || !strings.Contains(e, "not logged in") {
		t.Errorf("after logout: %d %s", code, e)
	}
	_ = os.WriteFile(filepath.Join(env["GATEHOUSE_CONFIG_DIR"], "cli.json"), b, 0o600)
	if _, e, code := cliOnce(t, env, "targets"); code != cli.ExitAuth || !strings.Contains(e, "revoked") || !strings.Contains(e, "gatehouse login --addr "+base) {
		t.Errorf("revoked token: %d %s", code, e)
	}
	// Expired: the admin's token, aged in the database.
	db, _, err := models.OpenDB(context.Background(), filepath.Join(dataDir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("UPDATE api_tokens SET created_at = ?, expires_at = ?", time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)).Error; err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
	if _, e, code := cliOnce(t, adminEnv, "sessions"); code != cli.ExitAuth || !strings.Contains(e, "expired") {
		t.Errorf("expired token: %d %s", code, e)
	}
}

// apiCall sends one API request with a bearer token and hands a 2xx
// response to then (nil: only the status is checked).
func apiCall(t testing.TB, tok, method, u, body string, then func(*http.Response), headers ...string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d", method, u, resp.StatusCode)
	}
	if then != nil {
		then(resp)
	}
}

// readCLIToken reads the token the CLI keeps for base in dir.
func readCLIToken(t testing.TB, dir, base string) string {
	t.Helper()
	var cfg struct {
		Logins map[string]struct{ Token string }
	}
	b, err := os.ReadFile(filepath.Join(dir, "cli.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Logins[base].Token == "" {
		t.Fatalf("no token for %s in %s: %v", base, b, err)
	}
	return cfg.Logins[base].Token
}
