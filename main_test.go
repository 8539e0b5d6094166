package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// childServeEnv, set in a test binary's environment, makes it run
// `gatehouse serve` with that environment instead of the tests: a real
// process a test can kill (see TestKilledInstanceConnectionsClose).
const childServeEnv = "GATEHOUSE_TEST_CHILD_SERVE"

// childConnectEnv, set in a test binary's environment, makes it run
// `gatehouse connect` (GATEHOUSE_ADDR, GATEHOUSE_TOKEN) as main does,
// stopped by Ctrl-C (SIGINT) or SIGTERM: a real process with its own file
// descriptor limit (see TestMassCloseEndsTheSession).
const childConnectEnv = "GATEHOUSE_TEST_CHILD_CONNECT"

func TestMain(m *testing.M) {
	if os.Getenv(childServeEnv) == "1" {
		if err := run(context.Background(), []string{"serve"}, os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(childConnectEnv) == "1" {
		args := []string{"connect"}
		ctx, stop := signal.NotifyContext(context.Background(), stopSignals(args)...)
		err := run(ctx, args, os.Getenv, os.Stdout, os.Stderr)
		stop()
		os.Exit(exitStatus(err, os.Stderr))
	}
	if os.Getenv(childReceiverEnv) == "1" {
		fmt.Fprintln(os.Stderr, serveChildReceiver())
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// serveEnv configures `gatehouse serve` on a random loopback port with
// fresh keys (its external URL is a fixed placeholder).
func serveEnv(dbURL string) map[string]string {
	k := func(n int) string { return base64.StdEncoding.EncodeToString(randomKey(n)) }
	return map[string]string{
		"GATEHOUSE_DATABASE_URL":     dbURL,
		"GATEHOUSE_LISTEN":           "127.0.0.1:0",
		"GATEHOUSE_EXTERNAL_URL":     "http://127.0.0.1:9200",
		"GATEHOUSE_COOKIE_HASH_KEY":  k(64),
		"GATEHOUSE_COOKIE_BLOCK_KEY": k(32),
		"GATEHOUSE_ROOT_KEY":         k(32),
		"GATEHOUSE_LOG_FORMAT":       "json",
	}
}

// serveEnvOnFreePort is serveEnv on a free loopback port that is also its
// external URL (what OpenID callbacks need up front).
func serveEnvOnFreePort(t testing.TB, dbURL string) map[string]string {
	t.Helper()
	addr := freeAddr(t)
	env := serveEnv(dbURL)
	env["GATEHOUSE_LISTEN"], env["GATEHOUSE_EXTERNAL_URL"] = addr, "http://"+addr
	return env
}

func TestServeRefusesBadConfiguration(t *testing.T) {
	good := serveEnv("/tmp/x.db")
	cases := []struct {
		name    string
		change  map[string]string
		args    []string
		want    []string
		secrets []string
	}{
		{"nothing set", map[string]string{"GATEHOUSE_DATABASE_URL": "", "GATEHOUSE_EXTERNAL_URL": "", "GATEHOUSE_COOKIE_HASH_KEY": "", "GATEHOUSE_COOKIE_BLOCK_KEY": "", "GATEHOUSE_ROOT_KEY": ""}, nil,
			[]string{"--database-url / GATEHOUSE_DATABASE_URL: missing", "--external-url / GATEHOUSE_EXTERNAL_URL: missing",
				"--cookie-hash-key / GATEHOUSE_COOKIE_HASH_KEY: missing", "--cookie-block-key / GATEHOUSE_COOKIE_BLOCK_KEY: missing",
				"--root-key / GATEHOUSE_ROOT_KEY: missing"}, nil},
		{"short root key", map[string]string{"GATEHOUSE_ROOT_KEY": base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))}, nil,
			[]string{"--root-key / GATEHOUSE_ROOT_KEY: decodes to 16 bytes; want [32]"}, []string{"c2l4dGVlbi"}},
		{"not base64", map[string]string{"GATEHOUSE_COOKIE_BLOCK_KEY": "!!!secret-ish!!!"}, nil,
			[]string{"--cookie-block-key / GATEHOUSE_COOKIE_BLOCK_KEY: not valid base64"}, []string{"secret-ish"}},
		{"bad external URL", map[string]string{"GATEHOUSE_EXTERNAL_URL": "gatehouse.example.com"}, nil,
			[]string{"--external-url / GATEHOUSE_EXTERNAL_URL: not an http(s) URL with a host"}, nil},
		{"external URL with a path", map[string]string{"GATEHOUSE_EXTERNAL_URL": "https://example.com/gatehouse"}, nil,
			[]string{"--external-url / GATEHOUSE_EXTERNAL_URL: must be only a scheme and host"}, nil},
		{"external URL with a query", map[string]string{"GATEHOUSE_EXTERNAL_URL": "https://example.com/?a=b"}, nil,
			[]string{"--external-url / GATEHOUSE_EXTERNAL_URL: must be only a scheme and host"}, nil},
		{"external URL with an empty query", map[string]string{"GATEHOUSE_EXTERNAL_URL": "https://example.com?"}, nil,
			[]string{"--external-url / GATEHOUSE_EXTERNAL_URL: must be only a scheme and host"}, nil},
		{"external URL with a fragment", map[string]string{"GATEHOUSE_EXTERNAL_URL": "https://example.com#top"}, nil,
			[]string{"--external-url / GATEHOUSE_EXTERNAL_URL: must be only a scheme and host"}, nil},
		{"external URL with a user", map[string]string{"GATEHOUSE_EXTERNAL_URL": "https://u:p@example.com"}, nil,
			[]string{"--external-url / GATEHOUSE_EXTERNAL_URL: must be only a scheme and host"}, nil},
		{"bad log format", nil, []string{"--log-format", "xml"}, []string{`--log-format / GATEHOUSE_LOG_FORMAT: must be json or text, not "xml"`}, nil},
		{"bad proxy", map[string]string{"GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/8, nope"}, nil,
			[]string{`--trusted-proxies / GATEHOUSE_TRUSTED_PROXIES: "nope" is not an IP address or CIDR`}, nil},
		{"bad duration", map[string]string{"GATEHOUSE_LOGIN_IDLE_TIMEOUT": "-1h"}, nil,
			[]string{"--login-idle-timeout / GATEHOUSE_LOGIN_IDLE_TIMEOUT: must be a positive duration"}, nil},
		{"bad on/off", map[string]string{"GATEHOUSE_WEBHOOK_ALLOW_PRIVATE": "yes please"}, nil,
			[]string{`--webhook-allow-private / GATEHOUSE_WEBHOOK_ALLOW_PRIVATE: must be true or false, not "yes please"`}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range good {
				env[k] = v
			}
			for k, v := range c.change {
				env[k] = v
			}
			var out, errOut syncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a serve that starts ends
			defer cancel()
			err := run(ctx, append([]string{"serve"}, c.args...), func(k string) string { return env[k] }, &out, &errOut)
			if err == nil {
				t.Fatal("serve started with a bad configuration")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, s := range c.secrets {
				if strings.Contains(err.Error()+out.String()+errOut.String(), s) {
					t.Errorf("output leaks %q", s)
				}
			}
		})
	}
}

// An on/off setting: off by default, on from the variable (any
// strconv.ParseBool spelling) or the bare flag; the flag wins over the
// variable either way.
func TestServeOnOffSetting(t *testing.T) {
	cases := []struct {
		env  string
		args []string
		want bool
	}{
		{"", nil, false},
		{"true", nil, true},
		{"1", nil, true},
		{"false", nil, false},
		{"", []string{"--webhook-allow-private"}, true},
		{"true", []string{"--webhook-allow-private=false"}, false},
		{"false", []string{"--webhook-allow-private"}, true},
	}
	for _, c := range cases {
		env := serveEnv("/tmp/x.db")
		env["GATEHOUSE_WEBHOOK_ALLOW_PRIVATE"] = c.env
		cfg, err := parseServeConfig(c.args, func(k string) string { return env[k] }, io.Discard)
		if err != nil {
			t.Fatalf("env %q args %q: %v", c.env, c.args, err)
		}
		if cfg.Webhooks.AllowPrivate != c.want {
			t.Errorf("env %q args %q: allow private %v, want %v", c.env, c.args, cfg.Webhooks.AllowPrivate, c.want)
		}
	}
}

var initialPassword = regexp.MustCompile(`Log in as "admin" with password "([^"]+)"`)

func TestServeBootstrapsOnceOnBothDatabases(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			env := serveEnv(dbtest.NewDatabaseURL(t, d))
			app := launch(t, env, "serve")
			m := initialPassword.FindStringSubmatch(app.Out.String())
			if m == nil {
				t.Fatalf("no initial password printed:\n%s", app.Out)
			}
			if strings.Contains(app.Err.String(), m[1]) {
				t.Fatal("the initial password appears in the logs")
			}
			for _, k := range []string{"GATEHOUSE_COOKIE_HASH_KEY", "GATEHOUSE_COOKIE_BLOCK_KEY", "GATEHOUSE_ROOT_KEY"} {
				if strings.Contains(app.Err.String(), env[k]) {
					t.Fatalf("%s appears in the logs", k)
				}
			}
			c := client(t)
			if p := get(t, c, app.URL+"/readyz"); p.Status != 200 {
				t.Fatalf("readyz = %d", p.Status)
			}
			if p := loginAs(t, c, app.URL, "admin", m[1]); p.Status != 303 || p.Location != "/" {
				t.Fatalf("login with the initial password = %d %s", p.Status, p.Location)
			}
			if p := get(t, c, app.URL+"/"); p.Status != 200 || !strings.Contains(p.Body, "Welcome, Administrator") {
				t.Fatalf("home = %d", p.Status)
			}
			app.Stop(t)
			again := launch(t, env, "serve")
			if initialPassword.MatchString(again.Out.String()) {
				t.Fatal("a second start printed a new initial password")
			}
		})
	}
}

// TestServeOnBusyPortWritesNothing: a first start whose listen address is
// taken fails naming the setting before the database is touched, so the
// next start still creates the administrator and prints its password.
func TestServeOnBusyPortWritesNothing(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			busy, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer busy.Close()
			env := serveEnv(dbtest.NewDatabaseURL(t, d))
			env["GATEHOUSE_LISTEN"] = busy.Addr().String()
			var out, errOut syncBuffer
			err = run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), "--listen / GATEHOUSE_LISTEN: ") || !strings.Contains(err.Error(), busy.Addr().String()) {
				t.Fatalf("serve on a busy port: %v", err)
			}
			if initialPassword.MatchString(out.String()) {
				t.Fatal("the failed start printed a password")
			}
			env["GATEHOUSE_LISTEN"] = "127.0.0.1:0"
			app := launch(t, env, "serve")
			if !initialPassword.MatchString(app.Out.String()) {
				t.Fatalf("the first successful start printed no initial password:\n%s", app.Out)
			}
		})
	}
}

// TestUnsupportedDatabaseURLIsRefused: a URL of another scheme is a
// configuration error naming the setting, never a SQLite file name; an
// upper-case postgres scheme still works.
func TestUnsupportedDatabaseURLIsRefused(t *testing.T) {
	t.Chdir(t.TempDir())
	env := serveEnv("mysql://gatehouse:hunter2@db/gatehouse")
	getenv := func(k string) string { return env[k] }
	var out, errOut syncBuffer
	for _, args := range [][]string{{"serve"}, {"migrate", "up"}, {"migrate", "status"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a serve that starts ends
		err := run(ctx, args, getenv, &out, &errOut)
		cancel()
		if err == nil || !strings.Contains(err.Error(), `--database-url / GATEHOUSE_DATABASE_URL: unsupported scheme "mysql://"`) {
			t.Errorf("%v with mysql://: %v", args, err)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%v: the error shows the password: %v", args, err)
		}
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Fatalf("a mysql:// URL created %q", entries[0].Name())
	}
	pg := dbtest.NewDatabaseURL(t, models.Postgres)
	upper := "POSTGRES" + strings.TrimPrefix(pg, "postgres")
	env = map[string]string{"GATEHOUSE_DATABASE_URL": upper}
	if err := run(context.Background(), []string{"migrate", "up"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("migrate up with %s: %v", upper, err)
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Fatalf("an upper-case postgres URL created %q", entries[0].Name())
	}
}

// TestExternalURLRootIsAccepted: "https://host" and "https://host/" are the
// same external URL, whose callback has a single slash.
func TestExternalURLRootIsAccepted(t *testing.T) {
	for _, ext := range []string{"https://gatehouse.example.com", "https://gatehouse.example.com/", "http://127.0.0.1:9200/"} {
		env := serveEnv("/tmp/x.db")
		env["GATEHOUSE_EXTERNAL_URL"] = ext
		cfg, err := parseServeConfig(nil, func(k string) string { return env[k] }, io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", ext, err)
		}
		if got := cfg.ExternalURL.String(); got != strings.TrimSuffix(ext, "/") {
			t.Errorf("%s became %s", ext, got)
		}
	}
}

func TestDevKeepsDataAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	app := launch(t, nil, "dev", "--listen", "127.0.0.1:0", "--data-dir", dir)
	if !strings.Contains(app.Out.String(), "log in as admin / password") {
		t.Fatalf("dev banner:\n%s", app.Out)
	}
	c := client(t)
	if p := loginAs(t, c, app.URL, "admin", "password"); p.Status != 303 {
		t.Fatalf("dev login = %d", p.Status)
	}
	p := post(t, c, app.URL+"/scopes/global/new", url.Values{"name": {"Kept Org"}})
	if p.Status != 303 {
		t.Fatalf("create org = %d %s", p.Status, p.Body)
	}
	app.Stop(t)
	app = launch(t, nil, "dev", "--listen", "127.0.0.1:0", "--data-dir", dir)
	c = client(t)
	loginAs(t, c, app.URL, "admin", "password")
	if p := get(t, c, app.URL+"/scopes/global"); !strings.Contains(p.Body, "Kept Org") {
		t.Fatal("the org did not survive a restart")
	}
}

func TestMigrateCommands(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			dbURL := dbtest.NewDatabaseURL(t, d)
			var out, errOut syncBuffer
			env := func(k string) string { return map[string]string{"GATEHOUSE_DATABASE_URL": dbURL}[k] }
			if err := run(context.Background(), []string{"migrate", "up"}, env, &out, &errOut); err != nil {
				t.Fatal(err)
			}
			out = syncBuffer{}
			if err := run(context.Background(), []string{"migrate", "status"}, env, &out, &errOut); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "00001_foundation.sql") || strings.Contains(out.String(), "pending") {
				t.Fatalf("status:\n%s", out.String())
			}
		})
	}
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"migrate", "sideways"}, func(string) string { return "" }, &out, &errOut); err == nil {
		t.Fatal("migrate sideways accepted")
	}
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, &out, &errOut); err != nil || !strings.Contains(out.String(), "gatehouse") {
		t.Fatalf("version: %v %q", err, out.String())
	}

}

// TestCtrlCBelongsToTheExecClient: under `connect --exec` only SIGTERM
// stops gatehouse (Ctrl-C reaches the client, which handles it); every
// other command stops on Ctrl-C too.
func TestCtrlCBelongsToTheExecClient(t *testing.T) {
	for _, c := range []struct {
		args   []string
		client bool
	}{
		{[]string{"connect", "--addr", "http://x", "--exec", "psql", "--", "-h", "{{host}}"}, true},
		{[]string{"connect", "-exec=ssh", "--addr", "http://x"}, true},
		{[]string{"connect", "--addr", "http://x"}, false},
		{[]string{"connect", "--addr", "http://x", "--exec"}, true},
		{[]string{"connect", "--addr", "http://x", "--", "--exec"}, false},
		{[]string{"serve", "--exec", "x"}, false},
		{nil, false},
	} {
		sigs := stopSignals(c.args)
		hasInterrupt := slices.Contains(sigs, os.Interrupt)
		if runsClient(c.args) != c.client || hasInterrupt == c.client || !slices.Contains(sigs, os.Signal(syscall.SIGTERM)) {
			t.Errorf("%q: runsClient %v, stop signals %v", c.args, runsClient(c.args), sigs)
		}
	}
}
