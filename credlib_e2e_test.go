package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/credlib"
	"gatehouse/dbtest"
	"gatehouse/models"
)

// libraryWorld is newProxyWorld's set-up with a credential library
// attached to the target echo, which points at port instead of an echo
// service. Its instances are launched by the test (launch).
type libraryWorld struct {
	DBURL   string
	Env     map[string]string
	Library string
	store   *models.Store
	admin   models.Actor
}

// newLibraryWorld seeds the session world on a fresh database, creates the
// library in a store "Vault" of project Lab, attaches it to echo and points
// echo at 127.0.0.1:port.
func newLibraryWorld(t testing.TB, d models.Dialect, port int, in models.CredentialLibraryInput, extra map[string]string) *libraryWorld {
	t.Helper()
	ctx := context.Background()
	w := &libraryWorld{DBURL: dbtest.NewDatabaseURL(t, d)}
	w.Env = serveEnv(w.DBURL)
	for k, v := range extra {
		w.Env[k] = v
	}
	rootKey, _ := base64.StdEncoding.DecodeString(w.Env["GATEHOUSE_ROOT_KEY"])
	seedSessionWorld(t, w.DBURL, rootKey)
	db, dialect, err := models.OpenDB(ctx, w.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { sqlDB.Close() })
	crypter, err := models.NewCrypter(rootKey)
	if err != nil {
		t.Fatal(err)
	}
	be := credlib.New()
	t.Cleanup(be.Close)
	p := dbtest.FastPasswords
	w.store = models.NewStore(db, dialect, models.Options{Crypter: crypter, PasswordParams: &p, CredentialBackend: be})
	var methodID, projectID, targetID string
	must(t, db.Raw("SELECT id FROM auth_methods WHERE type = 'password' ORDER BY created_at LIMIT 1").Scan(&methodID).Error)
	must(t, db.Raw("SELECT id FROM scopes WHERE name = 'Lab'").Scan(&projectID).Error)
	must(t, db.Raw("SELECT id FROM targets WHERE name = 'echo'").Scan(&targetID).Error)
	w.admin = dbtest.Login(t, w.store, methodID, "admin", "password")
	cs, err := w.store.CreateCredentialStore(ctx, w.admin, projectID, models.CredentialStoreInput{Name: "Vault"})
	must(t, err)
	lib, err := w.store.CreateCredentialLibrary(ctx, w.admin, cs.ID, in)
	must(t, err)
	w.Library = lib.ID
	must(t, w.store.AddTargetLibrarySources(ctx, w.admin, targetID, []string{lib.ID}))
	must(t, db.Exec("UPDATE targets SET default_port = ? WHERE id = ?", port, targetID).Error)
	return w
}

// waitFor polls cond every 50 ms until it holds or within passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
	}
}

func pgLibrary(pg dbtest.PGTarget) models.CredentialLibraryInput {
	return models.CredentialLibraryInput{Type: models.LibraryPostgres, Name: "reporting", URL: pg.URL, Password: "unused-trust",
		UsernameTemplate: pg.Prefix + "_{{.User.Name}}_{{.Session.ShortID}}", GrantRoles: pg.GrantRole,
		CreationStatements: models.DefaultCreationStatements, RevocationStatements: models.DefaultRevocationStatements}
}

// TestConnectExecPsqlWithMintedRole: alice starts a session on a target
// with a Postgres library; `gatehouse connect --exec psql` logs in through
// the tunnel as the minted role (PGUSER/PGPASSWORD from connect), reads
// what its grant allows and is refused the rest. When the client exits the
// session ends (closed by end-user) and the role is dropped.
func TestConnectExecPsqlWithMintedRole(t *testing.T) {
	pg := dbtest.NewPGTarget(t)
	w := newLibraryWorld(t, models.Postgres, 5432, pgLibrary(pg), nil)
	app := launch(t, w.Env, "serve")
	c := client(t)
	id, tok := startSession(t, c, app)
	page := get(t, c, app.URL+"/sessions/"+id)
	if !strings.Contains(page.Body, pg.Prefix+"_alice_") || !strings.Contains(page.Body, `data-testid="credential-password"`) {
		t.Fatalf("alice's session page lacks her role:\n%s", page.Body)
	}
	psql := func(query string) (string, error) {
		out, errOut := &syncBuffer{}, &syncBuffer{}
		err := run(context.Background(), []string{"connect", "--addr", app.URL, "--token", tok, "--keep-session",
			"--exec", "psql", "--", "-d", pg.Database, "-At", "-c", query}, func(string) string { return "" }, out, errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := psql("SELECT v FROM allowed"); err != nil || !strings.Contains(out, "\nhello\n") || !strings.Contains(out, "PGUSER") {
		t.Fatalf("allowed: %v\n%s", err, out)
	}
	if out, err := psql("SELECT current_user"); err != nil || !strings.Contains(out, pg.Prefix+"_alice_") {
		t.Fatalf("current_user: %v\n%s", err, out)
	}
	if out, err := psql("SELECT v FROM secret"); err == nil || !strings.Contains(out, "permission denied") {
		t.Fatalf("secret: %v\n%s", err, out)
	}
	if roles := pg.Roles(t); len(roles) != 1 {
		t.Fatalf("roles while the session lives: %v", roles)
	}
	// Without --keep-session the client ends the session as it exits.
	out, errOut := &syncBuffer{}, &syncBuffer{}
	if err := run(context.Background(), []string{"connect", "--addr", app.URL, "--token", tok, "--exec", "psql", "--",
		"-d", pg.Database, "-At", "-c", "SELECT 1"}, func(string) string { return "" }, out, errOut); err != nil {
		t.Fatalf("last connect: %v\n%s%s", err, out, errOut)
	}
	waitFor(t, 20*time.Second, "role dropped after the end-user close", func() bool { return len(pg.Roles(t)) == 0 })
	if st, reason, _, _ := sessionState(t, w.DBURL, id); st != "terminated" || reason != "closed by end-user" {
		t.Fatalf("session: %s %s", st, reason)
	}
	if m := get(t, client(t), app.URL+"/metrics"); !strings.Contains(m.Body, `gatehouse_credential_revocations_total{outcome="revoked"} 1`) {
		t.Fatalf("metrics:\n%s", m.Body)
	}
	// The library's server is down: the start fails with the reason, shown.
	lib, err := w.store.GetCredentialLibrary(context.Background(), w.admin, w.Library)
	must(t, err)
	down := pgLibrary(pg)
	down.URL, down.Password = "postgres://postgres@127.0.0.1:1/postgres", ""
	_, err = w.store.UpdateCredentialLibrary(context.Background(), w.admin, w.Library, lib.Version, down)
	must(t, err)
	m := startPattern.FindStringSubmatch(get(t, c, app.URL+"/targets").Body)
	if m == nil {
		t.Fatal("no start button")
	}
	refused := post(t, c, app.URL+"/targets/"+m[1]+"/sessions", url.Values{})
	if refused.Status != http.StatusUnprocessableEntity || !strings.Contains(refused.Body, `data-testid="target-error"`) ||
		!strings.Contains(refused.Body, "Cannot reach the server at 127.0.0.1:1") {
		t.Fatalf("start with the server down: %d\n%s", refused.Status, refused.Body)
	}
}

// TestRevocationSurvivesKill: a session ends and its revocation is queued
// by an instance that dies before working it (the test's own Store, which
// runs no queue, makes the cancel; instance B, a real `serve` process that
// relayed the session and whose queue loop would only look again in an
// hour, is killed with SIGKILL). A new instance drops the role at start.
func TestRevocationSurvivesKill(t *testing.T) {
	pg := dbtest.NewPGTarget(t)
	w := newLibraryWorld(t, models.Postgres, 5432, pgLibrary(pg), map[string]string{"GATEHOUSE_REVOCATION_INTERVAL": "1h"})
	child, bURL := startChildServe(t, w.Env)
	c := client(t)
	id, _ := startSession(t, c, &testApp{URL: bURL})
	if roles := pg.Roles(t); len(roles) != 1 {
		t.Fatalf("roles: %v", roles)
	}
	if _, err := w.store.CancelSession(context.Background(), w.admin, id); err != nil {
		t.Fatal(err)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if roles := pg.Roles(t); len(roles) != 1 {
		t.Fatalf("the role went before any instance worked the queue: %v", roles)
	}
	env := map[string]string{}
	for k, v := range w.Env {
		env[k] = v
	}
	env["GATEHOUSE_REVOCATION_INTERVAL"] = "5s"
	launch(t, env, "serve")
	waitFor(t, 20*time.Second, "role dropped by the restarted instance", func() bool { return len(pg.Roles(t)) == 0 })
}

// sshd is a throwaway OpenSSH server on a loopback port trusting a CA and
// reading a KRL file.
type sshd struct {
	Port    int
	KRLFile string
	dir     string
}

func startSSHD(t testing.TB, caPublic string) *sshd {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		t.Fatalf("OpenSSH server missing (apt-get install openssh-server): %v", err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	s := &sshd{dir: dir, KRLFile: filepath.Join(dir, "revoked.krl")}
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "host")).CombinedOutput(); err != nil {
		t.Fatalf("host key: %v %s", err, out)
	}
	must(t, os.WriteFile(filepath.Join(dir, "ca.pub"), []byte(caPublic+"\n"), 0o644))
	must(t, os.WriteFile(s.KRLFile, nil, 0o644))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s/host
PidFile %s/sshd.pid
TrustedUserCAKeys %s/ca.pub
RevokedKeys %s
AuthorizedKeysFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
LogLevel VERBOSE
`, s.Port, dir, dir, dir, s.KRLFile)
	must(t, os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(conf), 0o644))
	cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, 10*time.Second, "sshd listens", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return s
}

// fetchKRL writes the library's KRL, as served, to sshd's RevokedKeys file.
func (s *sshd) fetchKRL(t testing.TB, appURL, library string) []uint64 {
	t.Helper()
	resp, err := http.Get(appURL + "/credential-libraries/" + library + "/krl")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("KRL: %d %s", resp.StatusCode, body)
	}
	must(t, os.WriteFile(s.KRLFile, body, 0o644))
	_, serials, err := credlib.KRLSerials(body)
	must(t, err)
	return serials
}

// ssh logs in directly with a saved key and certificate and runs echo.
func (s *sshd) ssh(keyDir, user string) (string, error) {
	out, err := exec.Command("ssh", "-i", filepath.Join(keyDir, "id_ed25519"), "-o", "CertificateFile="+filepath.Join(keyDir, "id_ed25519-cert.pub"),
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no",
		"-o", "ConnectTimeout=10", "-p", fmt.Sprint(s.Port), user+"@127.0.0.1", "echo", "logged-in-ok").CombinedOutput()
	return string(out), err
}

// TestSSHCertificateThroughConnect: a real OpenSSH server trusts the
// library's CA and reads its KRL. `ssh` run by `gatehouse connect --exec`
// through the tunnel logs in with the certificate signed for connect's
// ephemeral key; after the session is canceled the same certificate is
// refused (KRL), a certificate of a session that expired is refused
// (validity), and once the library is deleted its KRL revokes the CA key:
// a certificate whose serial is not listed is refused too.
func TestSSHCertificateThroughConnect(t *testing.T) {
	me, err := user.Current()
	must(t, err)
	in := models.CredentialLibraryInput{Type: models.LibrarySSHCert, Name: "servers", PrincipalsTemplate: me.Username,
		Extensions: []string{"permit-pty"}, ClockSkewSeconds: "0"}
	// The world needs sshd's port before sshd needs the CA: reserve it.
	w := newLibraryWorld(t, models.Postgres, 1, in, nil)
	caPub, err := w.store.SSHCAPublicKey(context.Background(), w.Library)
	must(t, err)
	s := startSSHD(t, caPub)
	must(t, w.store.DB().Exec("UPDATE targets SET default_port = ? WHERE name = 'echo'", s.Port).Error)
	app := launch(t, w.Env, "serve")
	if serials := s.fetchKRL(t, app.URL, w.Library); len(serials) != 0 {
		t.Fatalf("KRL at start: %v", serials)
	}
	c := client(t)
	id, tok := startSession(t, c, app)
	keep := t.TempDir()
	script := `ssh -i "$GATEHOUSE_SSH_KEY" -o CertificateFile="$GATEHOUSE_SSH_CERT" -o IdentitiesOnly=yes -o BatchMode=yes ` +
		`-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -p {{port}} "$GATEHOUSE_SSH_USER"@{{host}} echo logged-in-ok && ` +
		`cp "$GATEHOUSE_SSH_KEY" "$GATEHOUSE_SSH_CERT" ` + keep + `/ && stat -c %a "$GATEHOUSE_SSH_KEY"`
	out, errOut := &syncBuffer{}, &syncBuffer{}
	if err := run(context.Background(), []string{"connect", "--addr", app.URL, "--token", tok, "--keep-session", "--exec", "sh", "--", "-c", script},
		func(string) string { return "" }, out, errOut); err != nil || !strings.Contains(out.String(), "logged-in-ok") || !strings.Contains(out.String(), "\n600\n") {
		t.Fatalf("ssh through connect: %v\n%s\n%s", err, out, errOut)
	}
	if o, err := s.ssh(keep, me.Username); err != nil || !strings.Contains(o, "logged-in-ok") {
		t.Fatalf("direct ssh while the session lives: %v %s", err, o)
	}
	if p := post(t, c, app.URL+"/sessions/"+id+"/cancel", url.Values{}, "HX-Request", "true"); p.Status != http.StatusNoContent {
		t.Fatalf("cancel: %d", p.Status)
	}
	if serials := s.fetchKRL(t, app.URL, w.Library); len(serials) != 1 {
		t.Fatalf("KRL after cancel: %v", serials)
	}
	if o, err := s.ssh(keep, me.Username); err == nil || strings.Contains(o, "logged-in-ok") {
		t.Fatalf("the canceled session's certificate still logs in: %s", o)
	}
	if o, _ := exec.Command("ssh-keygen", "-Q", "-f", s.KRLFile, filepath.Join(keep, "id_ed25519-cert.pub")).CombinedOutput(); !strings.Contains(string(o), "REVOKED") {
		t.Fatalf("ssh-keygen -Q: %s", o)
	}

	// Expiry: a session of 3 s; its certificate (no skew) is refused after.
	must(t, w.store.DB().Exec("UPDATE targets SET session_max_seconds = 3 WHERE name = 'echo'").Error)
	_, tok2 := startSession(t, c, app)
	keep2 := t.TempDir()
	out = &syncBuffer{}
	if err := run(context.Background(), []string{"connect", "--addr", app.URL, "--token", tok2, "--keep-session", "--exec", "sh", "--", "-c",
		`cp "$GATEHOUSE_SSH_KEY" "$GATEHOUSE_SSH_CERT" ` + keep2 + `/`}, func(string) string { return "" }, out, errOut); err != nil {
		t.Fatalf("connect: %v\n%s\n%s", err, out, errOut)
	}
	if o, err := s.ssh(keep2, me.Username); err != nil || !strings.Contains(o, "logged-in-ok") {
		t.Fatalf("second session's certificate: %v %s", err, o)
	}
	time.Sleep(4 * time.Second) // real time: sshd checks the certificate's validity against its own clock
	s.fetchKRL(t, app.URL, w.Library)
	if o, _ := exec.Command("ssh-keygen", "-Q", "-f", s.KRLFile, filepath.Join(keep2, "id_ed25519-cert.pub")).CombinedOutput(); strings.Contains(string(o), "REVOKED") {
		t.Fatalf("an expired certificate is in the KRL (it should drop out): %s", o)
	}
	if o, err := s.ssh(keep2, me.Username); err == nil || strings.Contains(o, "logged-in-ok") {
		t.Fatalf("the expired session's certificate still logs in: %s", o)
	}

	// Deleting the library: its KRL is still served for its id and revokes
	// the CA key itself, so that sshd refuses every certificate it signed.
	must(t, w.store.DB().Exec("UPDATE targets SET session_max_seconds = 3600 WHERE name = 'echo'").Error)
	_, tok3 := startSession(t, c, app)
	keep3 := t.TempDir()
	out = &syncBuffer{}
	if err := run(context.Background(), []string{"connect", "--addr", app.URL, "--token", tok3, "--keep-session", "--exec", "sh", "--", "-c",
		`cp "$GATEHOUSE_SSH_KEY" "$GATEHOUSE_SSH_CERT" ` + keep3 + `/`}, func(string) string { return "" }, out, errOut); err != nil {
		t.Fatalf("connect: %v\n%s\n%s", err, out, errOut)
	}
	if o, err := s.ssh(keep3, me.Username); err != nil || !strings.Contains(o, "logged-in-ok") {
		t.Fatalf("third session's certificate: %v %s", err, o)
	}
	must(t, w.store.DeleteCredentialLibrary(context.Background(), w.admin, w.Library))
	// The session was canceled with the library, so its serial is listed;
	// drop it from the list to show that the CA key alone refuses it.
	must(t, w.store.DB().Exec("UPDATE ssh_certificates SET revoked_at = NULL").Error)
	if serials := s.fetchKRL(t, app.URL, w.Library); len(serials) != 0 {
		t.Fatalf("KRL of the deleted library lists serials: %v", serials)
	}
	if o, err := s.ssh(keep3, me.Username); err == nil || strings.Contains(o, "logged-in-ok") {
		t.Fatalf("a certificate of the deleted library still logs in: %s", o)
	}
	if o, _ := exec.Command("ssh-keygen", "-Q", "-f", s.KRLFile, filepath.Join(keep3, "id_ed25519-cert.pub")).CombinedOutput(); !strings.Contains(string(o), "REVOKED") {
		t.Fatalf("ssh-keygen -Q after deleting the library: %s", o)
	}
	resp, err := http.Get(app.URL + "/credential-libraries/" + w.Library + "/ca.pub")
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != strings.TrimSpace(caPub) {
		t.Fatalf("ca.pub of the deleted library: %d %s", resp.StatusCode, body)
	}
}
