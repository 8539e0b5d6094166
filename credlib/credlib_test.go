package credlib_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"gatehouse/credlib"
	"gatehouse/dbtest"
	"gatehouse/models"
)

func roleURL(t *testing.T, base, role, password string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, password)
	return u.String()
}

// TestPostgresRoleLifecycle mints a role on the real server with the
// default statements: it logs in, reads what its grant allows and nothing
// more; revoking terminates its open backend and drops it; revoking again
// succeeds (a retry after a partial run).
func TestPostgresRoleLifecycle(t *testing.T) {
	ctx := context.Background()
	pg := dbtest.NewPGTarget(t)
	b := credlib.New()
	defer b.Close()
	conn := models.PostgresConn{URL: pg.URL, Password: "unused"}
	role := pg.Prefix + "_alice"
	create := strings.NewReplacer(`{{role}}`, `"`+role+`"`, `{{password}}`, `'pw-123'`,
		`{{valid_until}}`, `'`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`'`,
		`{{grant_roles}}`, `"`+pg.GrantRole+`"`).Replace(models.DefaultCreationStatements)
	if err := b.ExecPostgres(ctx, conn, create); err != nil {
		t.Fatal(err)
	}
	// Creating it again fails with words about the role existing.
	if err := b.ExecPostgres(ctx, conn, create); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("second create: %v", err)
	}
	db, err := sql.Open("pgx", roleURL(t, pg.URL, role, "pw-123"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var v string
	if err := db.QueryRow("SELECT v FROM allowed").Scan(&v); err != nil || v != "hello" {
		t.Fatalf("allowed: %q %v", v, err)
	}
	if err := db.QueryRow("SELECT v FROM secret").Scan(&v); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("secret should be denied: %v", err)
	}
	revoke := strings.NewReplacer(`{{role}}`, `"`+role+`"`, `{{role_name}}`, `'`+role+`'`).Replace(models.DefaultRevocationStatements)
	if err := b.DropPostgresRole(ctx, conn, role, revoke); err != nil {
		t.Fatal(err)
	}
	if roles := pg.Roles(t); len(roles) != 0 {
		t.Fatalf("roles left: %v", roles)
	}
	// Its open backend was terminated.
	if err := db.QueryRow("SELECT 1").Scan(new(int)); err == nil {
		t.Fatal("the role's open connection still works")
	}
	if err := b.DropPostgresRole(ctx, conn, role, revoke); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
}

// TestTestPostgres: the Test button's words for an unreachable server, a
// role that may not create roles, a missing database, and success.
func TestTestPostgres(t *testing.T) {
	ctx := context.Background()
	pg := dbtest.NewPGTarget(t)
	b := credlib.New()
	defer b.Close()
	b.ConnectTimeout = 3 * time.Second
	if err := b.TestPostgres(ctx, models.PostgresConn{URL: pg.URL, Password: "x"}); err != nil {
		t.Fatalf("superuser: %v", err)
	}
	if err := b.TestPostgres(ctx, models.PostgresConn{URL: "postgres://postgres@127.0.0.1:1/x", Password: "x"}); err == nil ||
		!strings.Contains(err.Error(), "Cannot reach the server at 127.0.0.1:1") {
		t.Fatalf("unreachable: %v", err)
	}
	weak := pg.Prefix + "_weak"
	if err := b.ExecPostgres(ctx, models.PostgresConn{URL: pg.URL, Password: "x"}, `CREATE ROLE "`+weak+`" LOGIN`); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(pg.URL)
	u.User = url.User(weak)
	if err := b.TestPostgres(ctx, models.PostgresConn{URL: u.String(), Password: "x"}); err == nil ||
		!strings.Contains(err.Error(), "may not create roles") {
		t.Fatalf("weak role: %v", err)
	}
	u.User, u.Path = url.User("postgres"), "/no_such_db_here"
	if err := b.TestPostgres(ctx, models.PostgresConn{URL: u.String(), Password: "x"}); err == nil ||
		!strings.Contains(err.Error(), "has no database no_such_db_here") {
		t.Fatalf("missing database: %v", err)
	}
	_ = b.ExecPostgres(ctx, models.PostgresConn{URL: pg.URL, Password: "x"}, `DROP ROLE "`+weak+`"`)
}

// TestCertificateAndKRL signs a user certificate and checks it and the KRL
// with OpenSSH's own ssh-keygen: the certificate's principals, serial and
// validity are as asked, and the KRL revokes exactly the listed serials.
func TestCertificateAndKRL(t *testing.T) {
	b := credlib.New()
	dir := t.TempDir()
	caPriv, caPub, err := b.NewSSHCA()
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "id")).Run(); err != nil {
		t.Fatal(err)
	}
	pub, _ := os.ReadFile(filepath.Join(dir, "id.pub"))
	now := time.Now()
	cert, err := b.SignSSHCertificate(caPriv, models.SSHCertRequest{PublicKey: string(pub), Serial: 4242, KeyID: "k1",
		Principals: []string{"alice", "ops"}, ValidAfter: now.Add(-time.Minute), ValidBefore: now.Add(time.Hour),
		Extensions: []string{"permit-pty"}})
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(dir, "id-cert.pub")
	if err := os.WriteFile(certFile, []byte(cert+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ssh-keygen", "-L", "-f", certFile).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -L: %v %s", err, out)
	}
	for _, want := range []string{"user certificate", "Serial: 4242", "alice", "ops", "permit-pty"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("certificate lacks %q:\n%s", want, out)
		}
	}
	check := func(serials []uint64) string {
		krl, err := b.KRL(caPub, serials, false, 7, now)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, "krl")
		if err := os.WriteFile(f, krl, 0o644); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command("ssh-keygen", "-Q", "-f", f, certFile).CombinedOutput()
		return string(out)
	}
	if out := check([]uint64{1, 4242, 9}); !strings.Contains(out, "REVOKED") {
		t.Fatalf("listed serial not revoked: %s", out)
	}
	if out := check([]uint64{1, 9}); !strings.Contains(out, ": ok") {
		t.Fatalf("other serials revoke it: %s", out)
	}
	if out := check(nil); !strings.Contains(out, ": ok") {
		t.Fatalf("empty KRL: %s", out)
	}
	// A deleted library's KRL revokes the CA key: every certificate it
	// signed is refused, whatever its serial.
	krl, err := b.KRL(caPub, nil, true, 8, now)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "krl-ca")
	if err := os.WriteFile(f, krl, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("ssh-keygen", "-Q", "-f", f, certFile).CombinedOutput(); !strings.Contains(string(out), "REVOKED") {
		t.Fatalf("a KRL revoking the CA key lets its certificate through: %s", out)
	}
	if _, _, keys, err := credlib.ParseKRL(krl); err != nil || len(keys) != 1 {
		t.Fatalf("ParseKRL keys: %d %v", len(keys), err)
	}
	krl, _ = b.KRL(caPub, []uint64{9, 4242, 9}, false, 1, now)
	if _, serials, err := credlib.KRLSerials(krl); err != nil || len(serials) != 2 || serials[0] != 9 || serials[1] != 4242 {
		t.Fatalf("KRLSerials: %v %v", serials, err)
	}
}
