package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestInterleavedFlagsAfterTheTarget(t *testing.T) {
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	fs.String("host", "", "")
	fs.Bool("keep-session", false, "")
	fs.String("exec", "", "")
	for _, c := range []struct {
		args      []string
		pos, rest []string
	}{
		{[]string{"echo", "--exec", "cat"}, []string{"echo"}, []string{"--exec", "cat"}},
		{[]string{"--host", "h1", "db", "--keep-session"}, []string{"db"}, []string{"--host", "h1", "--keep-session"}},
		{[]string{"db", "--exec=psql", "--", "-h", "{{host}}"}, []string{"db"}, []string{"--exec=psql", "--", "-h", "{{host}}"}},
	} {
		pos, rest := interleaved(fs, c.args)
		if !slices.Equal(pos, c.pos) || !slices.Equal(rest, c.rest) {
			t.Errorf("%q: %q %q, want %q %q", c.args, pos, rest, c.pos, c.rest)
		}
	}
}

// fakeTargets answers /api/v1/my-targets with ts (a pure-logic test of
// name resolution; the real API is tested end to end).
func fakeTargets(t *testing.T, ts []target) *client {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"items": ts, "total": len(ts)})
	}))
	t.Cleanup(srv.Close)
	return newClient(srv.URL, "tok", nil)
}

func TestResolveTarget(t *testing.T) {
	cl := fakeTargets(t, []target{
		{ID: "ttcp_1", Name: "db", ProjectName: "Prod", OrgName: "Acme"},
		{ID: "ttcp_2", Name: "db", ProjectName: "Staging", OrgName: "Acme"},
		{ID: "ttcp_3", Name: "web", ProjectName: "Prod", OrgName: "Acme"},
	})
	ctx := context.Background()
	for ref, want := range map[string]string{"web": "ttcp_3", "Prod/db": "ttcp_1", "acme/staging/db": "ttcp_2", "ttcp_2": "ttcp_2"} {
		got, err := resolveTarget(ctx, cl, ref)
		if err != nil || got.ID != want {
			t.Errorf("%s: %v %v, want %s", ref, got, err, want)
		}
	}
	_, err := resolveTarget(ctx, cl, "db")
	var e *Error
	if !errors.As(err, &e) || e.Code != ExitAmbiguous || !strings.Contains(e.Msg, `"Prod/db"`) || !strings.Contains(e.Msg, `"Staging/db"`) {
		t.Errorf("ambiguous: %v", err)
	}
	if _, err := resolveTarget(ctx, cl, "nope"); !errors.As(err, &e) || e.Code != ExitDenied || !strings.Contains(e.Msg, "/explain") {
		t.Errorf("unknown: %v", err)
	}
}

func TestConfigFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string { return map[string]string{"GATEHOUSE_CONFIG_DIR": filepath.Join(dir, "gh")}[k] }
	c, err := loadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	c.Logins["https://a"] = login{Token: "secret"}
	if err := c.save(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "gh", "cli.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("cli.json: %v %v", st, err)
	}
	d, _ := os.Stat(filepath.Join(dir, "gh"))
	if d.Mode().Perm() != 0o700 {
		t.Errorf("config dir mode %v", d.Mode().Perm())
	}
	c2, _ := loadConfig(env)
	if c2.Logins["https://a"].Token != "secret" {
		t.Errorf("reloaded %+v", c2)
	}
}

func TestCredentialEnv(t *testing.T) {
	env := credentialEnv("s_1", []issued{{Name: "pg", Username: "app", Password: "pw"}, {Name: "ssh", Username: "root", PrivateKey: "KEY"}})
	for _, want := range []string{"GATEHOUSE_SESSION_ID=s_1", "GATEHOUSE_USERNAME=app", "GATEHOUSE_PASSWORD=pw", "GATEHOUSE_PRIVATE_KEY=KEY"} {
		if !slices.Contains(env, want) {
			t.Errorf("missing %s in %q", want, env)
		}
	}
	if !strings.HasPrefix(env[len(env)-1], "GATEHOUSE_CREDENTIALS=[") {
		t.Errorf("no GATEHOUSE_CREDENTIALS: %q", env)
	}
}
