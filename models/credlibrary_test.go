package models_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"gatehouse/credlib"
	"gatehouse/dbtest"
	"gatehouse/models"
	"gatehouse/models/acl"
)

// pgLibraryInput is a valid Postgres library for the target database.
func pgLibraryInput(pg dbtest.PGTarget, name string) models.CredentialLibraryInput {
	return models.CredentialLibraryInput{Type: models.LibraryPostgres, Name: name, URL: pg.URL, Password: "unused-trust",
		UsernameTemplate: pg.Prefix + "_{{.User.Name}}_{{.Session.ShortID}}", GrantRoles: pg.GrantRole,
		CreationStatements: models.DefaultCreationStatements, RevocationStatements: models.DefaultRevocationStatements}
}

// attachLibrary creates a library in the fixture's store and attaches it
// to the fixture's target.
func (f *sessionFixture) attachLibrary(t testing.TB, in models.CredentialLibraryInput) *models.CredentialLibrary {
	t.Helper()
	ctx := context.Background()
	l, err := f.store.CreateCredentialLibrary(ctx, f.admin, f.credStore, in)
	if err != nil {
		t.Fatalf("create library: %v", err)
	}
	if err := f.store.AddTargetLibrarySources(ctx, f.admin, f.target, []string{l.ID}); err != nil {
		t.Fatalf("attach library: %v", err)
	}
	return l
}

// minted returns the session's credential of the given type.
func minted(t testing.TB, st *models.StartedSession, typ string) models.IssuedCredential {
	t.Helper()
	for _, c := range st.Credentials {
		if c.Type == typ {
			return c
		}
	}
	t.Fatalf("no %s credential among %+v", typ, st.Credentials)
	return models.IssuedCredential{}
}

func roleDB(t testing.TB, pg dbtest.PGTarget, role, password string) *sql.DB {
	t.Helper()
	u, _ := url.Parse(pg.URL)
	u.User = url.UserPassword(role, password)
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// revocationOf returns the revocation state of the session's credential.
func (f *sessionFixture) revocationOf(t testing.TB, sessionID, credentialID string) *models.Revocation {
	t.Helper()
	for _, b := range f.get(t, sessionID).Brokered {
		if b.CredentialID == credentialID {
			return b.Revocation
		}
	}
	t.Fatalf("session %s has no credential %s", sessionID, credentialID)
	return nil
}

// TestLibraryBadInput: every field's bad value is refused with its message
// on that field, templates that render unsafe identifiers are refused, and
// nothing is written.
func TestLibraryBadInput(t *testing.T) {
	ctx := context.Background()
	pgOK := models.CredentialLibraryInput{Type: models.LibraryPostgres, Name: "pg", URL: "postgres://admin@db.example.com:5432/postgres",
		Password: "pw", UsernameTemplate: models.DefaultUsernameTemplate, GrantRoles: "readers",
		CreationStatements: models.DefaultCreationStatements, RevocationStatements: models.DefaultRevocationStatements}
	sshOK := models.CredentialLibraryInput{Type: models.LibrarySSHCert, Name: "ssh2", PrincipalsTemplate: "{{.User.Name}}",
		Extensions: []string{"permit-pty"}, ClockSkewSeconds: "60"}
	cases := []struct {
		name   string
		in     func() models.CredentialLibraryInput
		field  string
		substr string
	}{
		{"no type", func() models.CredentialLibraryInput { in := pgOK; in.Type = "vault"; return in }, "type", "Postgres role or SSH certificate"},
		{"no name", func() models.CredentialLibraryInput { in := pgOK; in.Name = " "; return in }, "name", "Name is required"},
		{"long name", func() models.CredentialLibraryInput { in := pgOK; in.Name = strings.Repeat("n", 129); return in }, "name", "at most 128"},
		{"long description", func() models.CredentialLibraryInput {
			in := pgOK
			in.Description = strings.Repeat("d", 1025)
			return in
		}, "description", "at most 1024"},
		{"no url", func() models.CredentialLibraryInput { in := pgOK; in.URL = ""; return in }, "url", "Connection URL is required"},
		{"url scheme", func() models.CredentialLibraryInput { in := pgOK; in.URL = "mysql://a@b/c"; return in }, "url", "must look like postgres://"},
		{"url without role", func() models.CredentialLibraryInput { in := pgOK; in.URL = "postgres://db.example.com/x"; return in }, "url", "must name the role"},
		{"url with password", func() models.CredentialLibraryInput { in := pgOK; in.URL = "postgres://a:pw@b/c"; return in }, "url", "not in the URL"},
		{"no password", func() models.CredentialLibraryInput { in := pgOK; in.Password = ""; return in }, "password", "Password is required"},
		{"no username template", func() models.CredentialLibraryInput { in := pgOK; in.UsernameTemplate = ""; return in }, "username_template", "required"},
		{"template dash", func() models.CredentialLibraryInput { in := pgOK; in.UsernameTemplate = "gh-{{.User.Name}}"; return in }, "username_template", "not a safe role name"},
		{"template quote", func() models.CredentialLibraryInput {
			in := pgOK
			in.UsernameTemplate = `x"; DROP ROLE postgres; --{{.User.Name}}`
			return in
		}, "username_template", "not a safe role name"},
		{"template uppercase", func() models.CredentialLibraryInput { in := pgOK; in.UsernameTemplate = "GH_{{.User.Name}}"; return in }, "username_template", "not a safe role name"},
		{"template too long", func() models.CredentialLibraryInput {
			in := pgOK
			in.UsernameTemplate = strings.Repeat("a", 60) + "{{.Session.ShortID}}"
			return in
		}, "username_template", "at most 63"},
		{"template unknown field", func() models.CredentialLibraryInput {
			in := pgOK
			in.UsernameTemplate = "gh_{{.User.Password}}"
			return in
		}, "username_template", "does not render"},
		{"template syntax", func() models.CredentialLibraryInput { in := pgOK; in.UsernameTemplate = "gh_{{.User.Name"; return in }, "username_template", "does not render"},
		{"grant role", func() models.CredentialLibraryInput { in := pgOK; in.GrantRoles = "readers, drop table;"; return in }, "grant_roles", "not a role name"},
		{"grants needed", func() models.CredentialLibraryInput { in := pgOK; in.GrantRoles = ""; return in }, "grant_roles", "name at least one role"},
		{"no creation", func() models.CredentialLibraryInput { in := pgOK; in.CreationStatements = ""; return in }, "creation_statements", "required"},
		{"creation without password", func() models.CredentialLibraryInput {
			in := pgOK
			in.CreationStatements = "CREATE ROLE {{role}} LOGIN;"
			return in
		}, "creation_statements", "must use {{password}}"},
		{"creation unknown placeholder", func() models.CredentialLibraryInput {
			in := pgOK
			in.CreationStatements = "CREATE ROLE {{role}} PASSWORD {{password}} IN ROLE {{admin}};"
			return in
		}, "creation_statements", "{{admin}}, which is not a placeholder"},
		{"no revocation", func() models.CredentialLibraryInput { in := pgOK; in.RevocationStatements = ""; return in }, "revocation_statements", "required"},
		{"revocation without role", func() models.CredentialLibraryInput { in := pgOK; in.RevocationStatements = "SELECT 1;"; return in }, "revocation_statements", "must use {{role}}"},
		{"revocation password", func() models.CredentialLibraryInput {
			in := pgOK
			in.RevocationStatements = "DROP ROLE {{role}}; -- {{password}}"
			return in
		}, "revocation_statements", "not a placeholder"},
		{"no principals", func() models.CredentialLibraryInput { in := sshOK; in.PrincipalsTemplate = ""; return in }, "principals_template", "required"},
		{"principal space", func() models.CredentialLibraryInput {
			in := sshOK
			in.PrincipalsTemplate = "{{.User.Name}} root"
			return in
		}, "principals_template", "not a safe principal"},
		{"principal empty", func() models.CredentialLibraryInput { in := sshOK; in.PrincipalsTemplate = "alice,,bob"; return in }, "principals_template", "not a safe principal"},
		{"principal template field", func() models.CredentialLibraryInput { in := sshOK; in.PrincipalsTemplate = "{{.Root}}"; return in }, "principals_template", "does not render"},
		{"extension", func() models.CredentialLibraryInput {
			in := sshOK
			in.Extensions = []string{"permit-pty", "force-command"}
			return in
		}, "extensions", `"force-command" is not one of`},
		{"skew text", func() models.CredentialLibraryInput { in := sshOK; in.ClockSkewSeconds = "a minute"; return in }, "clock_skew_seconds", "0 to 600"},
		{"skew negative", func() models.CredentialLibraryInput { in := sshOK; in.ClockSkewSeconds = "-1"; return in }, "clock_skew_seconds", "0 to 600"},
		{"skew large", func() models.CredentialLibraryInput { in := sshOK; in.ClockSkewSeconds = "601"; return in }, "clock_skew_seconds", "0 to 600"},
		{"duplicate name", func() models.CredentialLibraryInput { in := sshOK; in.Name = "SSH"; return in }, "name", "already has a credential library"},
	}
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		for _, c := range cases {
			_, err := f.store.CreateCredentialLibrary(ctx, f.admin, f.credStore, c.in())
			fe := models.FieldErrors(err)
			if !errors.Is(err, models.ErrInvalid) || !strings.Contains(fe[c.field], c.substr) {
				t.Errorf("%s: want %s error containing %q, got %v", c.name, c.field, c.substr, err)
			}
		}
		var n int64
		if err := f.store.DB().Table("credential_libraries").Count(&n).Error; err != nil || n != 1 {
			t.Fatalf("libraries written: %d %v", n, err)
		}
		// The good inputs pass, and an edit re-checks the fields.
		l, err := f.store.CreateCredentialLibrary(ctx, f.admin, f.credStore, pgOK)
		if err != nil {
			t.Fatal(err)
		}
		bad := pgOK
		bad.Password, bad.UsernameTemplate = "", "{{.User.Name}}-x"
		_, err = f.store.UpdateCredentialLibrary(ctx, f.admin, l.ID, l.Version, bad)
		if fe := models.FieldErrors(err); !strings.Contains(fe["username_template"], "not a safe role name") || fe["password"] != "" {
			t.Fatalf("edit: %v", err)
		}
		if _, err := f.store.CreateCredentialLibrary(ctx, f.admin, f.credStore, sshOK); err != nil {
			t.Fatal(err)
		}
		// alice (no grant on libraries) may not create one.
		if _, err := f.store.CreateCredentialLibrary(ctx, f.alice, f.credStore, sshOK); !errors.Is(err, models.ErrNotFound) && !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("alice creates a library: %v", err)
		}
	})
}

// TestPostgresLibrarySessions: against the real Postgres server, each
// session gets its own role, which logs in and can do what its grant
// allows and nothing more; after cancel, expiry, the connection limit and
// the library's deletion, the queue drops the role and terminates its open
// backends, and the session page and audit record show it revoked.
func TestPostgresLibrarySessions(t *testing.T) {
	ctx := context.Background()
	ends := []struct {
		name   string
		reason string
		end    func(t *testing.T, f *sessionFixture, st *models.StartedSession, lib string)
	}{
		{"cancel", "canceled", func(t *testing.T, f *sessionFixture, st *models.StartedSession, _ string) {
			if _, err := f.store.CancelSession(ctx, f.alice, st.Session.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"expiry", "timed out", func(t *testing.T, f *sessionFixture, _ *models.StartedSession, _ string) {
			f.clock.Add(2 * time.Hour)
			if r, err := f.store.SweepSessions(ctx); err != nil || r.TimedOut != 1 {
				t.Fatalf("sweep: %+v %v", r, err)
			}
		}},
		{"connection limit", "connection limit", func(t *testing.T, f *sessionFixture, st *models.StartedSession, _ string) {
			for range 2 { // the target's limit
				adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: st.Token})
				if err != nil {
					t.Fatal(err)
				}
				if err := f.store.ConnectionClosed(ctx, adm.Connection.ID, 1, 1, "closed by end-user"); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.store.SweepSessions(ctx); err != nil {
				t.Fatal(err)
			}
		}},
		{"library deletion", "canceled", func(t *testing.T, f *sessionFixture, _ *models.StartedSession, lib string) {
			if err := f.store.DeleteCredentialLibrary(ctx, f.admin, lib); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, e := range ends {
		t.Run(e.name, func(t *testing.T) {
			eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
				pg := dbtest.NewPGTarget(t)
				lib := f.attachLibrary(t, pgLibraryInput(pg, "reporting"))
				st := f.start(t)
				c := minted(t, st, models.CredentialPostgresRole)
				if !strings.HasPrefix(c.Username, pg.Prefix+"_alice_") || len(c.Password) < 24 || c.LibraryID != lib.ID {
					t.Fatalf("minted: %+v", c)
				}
				db := roleDB(t, pg, c.Username, c.Password)
				var v string
				if err := db.QueryRow("SELECT v FROM allowed").Scan(&v); err != nil || v != "hello" {
					t.Fatalf("role reads allowed: %q %v", v, err)
				}
				if err := db.QueryRow("SELECT v FROM secret").Scan(&v); err == nil {
					t.Fatal("role reads secret")
				}
				// Only alice sees the password, on her session page.
				d, err := f.store.GetSession(ctx, f.alice, st.Session.ID)
				if err != nil || len(d.Credentials) != 2 || minted(t, &models.StartedSession{Credentials: d.Credentials}, models.CredentialPostgresRole).Password != c.Password {
					t.Fatalf("alice's page: %v %+v", err, d)
				}
				if d := f.get(t, st.Session.ID); len(d.Credentials) != 0 {
					t.Fatalf("the admin sees secrets: %+v", d.Credentials)
				}
				// The warehouse snapshot has the role's name, never the password.
				rec, err := f.store.GetHistorySession(ctx, f.admin, st.Session.ID)
				if err != nil || !strings.Contains(rec.Session.CredentialsJSON, c.Username) || strings.Contains(rec.Session.CredentialsJSON, c.Password) {
					t.Fatalf("snapshot: %v %s", err, rec.Session.CredentialsJSON)
				}

				e.end(t, f, st, lib.ID)
				if got := f.get(t, st.Session.ID); got.ReasonText() != e.reason {
					t.Fatalf("ended %q, want %q", got.ReasonText(), e.reason)
				}
				if r := f.revocationOf(t, st.Session.ID, c.ID); r == nil || r.State != models.RevocationPending {
					t.Fatalf("revocation before the queue ran: %+v", r)
				}
				if roles := pg.Roles(t); len(roles) != 1 {
					t.Fatalf("role gone before the queue ran: %v", roles)
				}
				res, err := f.store.WorkRevocations(ctx)
				if err != nil || res.Revoked != 1 || len(res.Failures) != 0 {
					t.Fatalf("work revocations: %+v %v", res, err)
				}
				if roles := pg.Roles(t); len(roles) != 0 {
					t.Fatalf("roles left: %v", roles)
				}
				if err := db.QueryRow("SELECT 1").Scan(new(int)); err == nil {
					t.Fatal("the role's open backend was not terminated")
				}
				r := f.revocationOf(t, st.Session.ID, c.ID)
				if r == nil || r.State != models.RevocationRevoked || r.RevokedAt == nil || r.Attempts != 1 || r.Payload != "" {
					t.Fatalf("revocation after the queue: %+v", r)
				}
				rec, err = f.store.GetHistorySession(ctx, f.admin, st.Session.ID)
				if err != nil {
					t.Fatal(err)
				}
				var ref models.CredentialRef
				for _, x := range rec.Session.Credentials {
					if x.ID == c.ID {
						ref = x
					}
				}
				if ref.Role != c.Username || ref.LibraryID != lib.ID || rec.RevokedAt(ref) == nil {
					t.Fatalf("audit record: %+v revoked %v", ref, rec.RevokedAt(ref))
				}
				// A second pass has nothing to do: revoked exactly once.
				if res, err := f.store.WorkRevocations(ctx); err != nil || res.Revoked != 0 {
					t.Fatalf("second pass: %+v %v", res, err)
				}
			})
		})
	}
}

// TestLibraryStartFailure: when a library cannot issue, the start fails
// with a clear message and nothing is left behind: the role another
// library created before the failure is dropped, and no session exists.
func TestLibraryStartFailure(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		pg := dbtest.NewPGTarget(t)
		f.attachLibrary(t, pgLibraryInput(pg, "a first"))
		bad := pgLibraryInput(pg, "b broken")
		bad.UsernameTemplate = pg.Prefix + "_b_{{.Session.ShortID}}"
		bad.GrantRoles = "no_such_role_here"
		f.attachLibrary(t, bad)
		_, err := f.store.StartSession(ctx, f.alice, models.StartSessionInput{TargetID: f.target})
		if fe := models.FieldErrors(err); !strings.Contains(fe["target"], "b broken could not create the role") ||
			!strings.Contains(fe["target"], "no_such_role_here") {
			t.Fatalf("start: %v", err)
		}
		if roles := pg.Roles(t); len(roles) != 0 {
			t.Fatalf("roles left behind: %v", roles)
		}
		var n int64
		if err := f.store.DB().Table("sessions").Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("sessions: %d %v", n, err)
		}
		// Server down at start: a clear message, nothing written.
		if err := f.store.RemoveTargetLibrarySource(ctx, f.admin, f.target, mustLibrary(t, f, "b broken")); err != nil {
			t.Fatal(err)
		}
		down := pgLibraryInput(pg, "c down")
		down.URL = "postgres://postgres@127.0.0.1:1/postgres"
		f.attachLibrary(t, down)
		_, err = f.store.StartSession(ctx, f.alice, models.StartSessionInput{TargetID: f.target})
		if fe := models.FieldErrors(err); !strings.Contains(fe["target"], "Cannot reach the server at 127.0.0.1:1") {
			t.Fatalf("start with the server down: %v", err)
		}
		if roles := pg.Roles(t); len(roles) != 0 {
			t.Fatalf("roles left behind: %v", roles)
		}
	})
}

func mustLibrary(t testing.TB, f *sessionFixture, name string) string {
	t.Helper()
	var id string
	if err := f.store.DB().Raw("SELECT id FROM credential_libraries WHERE name = ?", name).Scan(&id).Error; err != nil || id == "" {
		t.Fatalf("library %s: %v", name, err)
	}
	return id
}

// forwarder relays TCP to the real Postgres server until stopped, so a
// test can take "the server" down and bring it back on the same port.
type forwarder struct {
	addr  string
	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newForwarder(t testing.TB) *forwarder {
	t.Helper()
	fw := &forwarder{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fw.addr = ln.Addr().String()
	fw.serve(ln)
	t.Cleanup(fw.stop)
	return fw
}

func (fw *forwarder) serve(ln net.Listener) {
	fw.mu.Lock()
	fw.ln = ln
	fw.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", "127.0.0.1:5432")
			if err != nil {
				c.Close()
				continue
			}
			fw.mu.Lock()
			fw.conns = append(fw.conns, c, up)
			fw.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// stop closes the listener and every relayed connection.
func (fw *forwarder) stop() {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.ln != nil {
		fw.ln.Close()
		fw.ln = nil
	}
	for _, c := range fw.conns {
		c.Close()
	}
	fw.conns = nil
}

func (fw *forwarder) start(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", fw.addr)
	if err != nil {
		t.Fatal(err)
	}
	fw.serve(ln)
}

// TestRevocationRetriedWhenServerDown: the server is down when the session
// ends: the revocation fails (its error and attempt count on the session
// page), is retried with backoff, and succeeds once the server is back.
// An admin may make it due at once; alice may not.
func TestRevocationRetriedWhenServerDown(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		pg := dbtest.NewPGTarget(t)
		fw := newForwarder(t)
		in := pgLibraryInput(pg, "via forwarder")
		u, _ := url.Parse(pg.URL)
		u.Host = fw.addr
		in.URL = u.String()
		f.attachLibrary(t, in)
		st := f.start(t)
		c := minted(t, st, models.CredentialPostgresRole)
		fw.stop()
		if _, err := f.store.CancelSession(ctx, f.alice, st.Session.ID); err != nil {
			t.Fatal(err)
		}
		for attempt := 1; attempt <= 2; attempt++ {
			res, err := f.store.WorkRevocations(ctx)
			if err != nil || res.Revoked != 0 || len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Err, "Cannot reach the server") {
				t.Fatalf("attempt %d: %+v %v", attempt, res, err)
			}
			r := f.revocationOf(t, st.Session.ID, c.ID)
			if r.State != models.RevocationFailed || r.Attempts != attempt || !strings.Contains(r.LastError, "Cannot reach") {
				t.Fatalf("after attempt %d: %+v", attempt, r)
			}
			// Not due again before its backoff (1 s, then 2 s).
			if res, _ := f.store.WorkRevocations(ctx); len(res.Failures)+res.Revoked != 0 {
				t.Fatalf("retried before the backoff: %+v", res)
			}
			f.clock.Add(time.Duration(attempt) * time.Second)
		}
		if err := f.store.RetryRevocation(ctx, f.alice, st.Session.ID, c.ID); !errors.Is(err, models.ErrNotFound) && !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("alice retries: %v", err)
		}
		fw.start(t)
		f.clock.Add(-10 * time.Second) // not due by its backoff: the admin's retry makes it due
		if err := f.store.RetryRevocation(ctx, f.admin, st.Session.ID, c.ID); err != nil {
			t.Fatal(err)
		}
		res, err := f.store.WorkRevocations(ctx)
		if err != nil || res.Revoked != 1 {
			t.Fatalf("after the server is back: %+v %v", res, err)
		}
		if roles := pg.Roles(t); len(roles) != 0 {
			t.Fatalf("roles left: %v", roles)
		}
		if r := f.revocationOf(t, st.Session.ID, c.ID); r.State != models.RevocationRevoked || r.Attempts != 3 || r.LastError != "" {
			t.Fatalf("revoked: %+v", r)
		}
		if err := f.store.RetryRevocation(ctx, f.admin, st.Session.ID, c.ID); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("retry of a revoked one: %v", err)
		}
	})
}

// countingBackend counts each role's revocations.
type countingBackend struct {
	models.LibraryBackend
	mu      sync.Mutex
	dropped map[string]int
}

func (b *countingBackend) DropPostgresRole(ctx context.Context, conn models.PostgresConn, role, sql string) error {
	err := b.LibraryBackend.DropPostgresRole(ctx, conn, role, sql)
	if err == nil {
		b.mu.Lock()
		b.dropped[role]++
		b.mu.Unlock()
	}
	return err
}

// TestTwoInstancesRevokeOnce: two Stores on one Postgres database (two
// instances) work the queue at once; every role is revoked exactly once.
func TestTwoInstancesRevokeOnce(t *testing.T) {
	ctx := context.Background()
	f := newSessionFixture(t, models.Postgres, models.SessionOptions{})
	pg := dbtest.NewPGTarget(t)
	f.attachLibrary(t, pgLibraryInput(pg, "shared"))
	const n = 30
	var roles []string
	for range n {
		roles = append(roles, minted(t, f.start(t), models.CredentialPostgresRole).Username)
	}
	if err := f.store.Transact(ctx, func(tx *models.Store) error {
		_, err := tx.CancelSessionsOf(ctx, acl.Resource{Type: "target", ID: f.target})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	be := &countingBackend{LibraryBackend: credlib.New(), dropped: map[string]int{}}
	instances := make([]*models.Store, 2)
	for i := range instances {
		instances[i] = models.NewStore(f.store.DB(), models.Postgres, models.Options{Now: f.clock.Now, Crypter: f.crypter,
			CredentialBackend: be, Revocations: models.RevocationOptions{Batch: 3, Parallel: 2}})
	}
	total := drainRevocations(t, instances...)
	if total[0]+total[1] != n || total[0] == 0 || total[1] == 0 {
		t.Fatalf("revoked by instance: %v (want %d in all, both working)", total, n)
	}
	for _, r := range roles {
		if be.dropped[r] != 1 {
			t.Fatalf("role %s dropped %d times", r, be.dropped[r])
		}
	}
	if left := pg.Roles(t); len(left) != 0 {
		t.Fatalf("roles left: %v", left)
	}
}

// drainRevocations has the stores (instances) work the revocation queue at
// once until none finds anything left; it returns how many each revoked.
func drainRevocations(tb testing.TB, stores ...*models.Store) []int {
	ctx := context.Background()
	total := make([]int, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			for {
				res, err := s.WorkRevocations(ctx)
				if err != nil {
					tb.Error(err)
					return
				}
				if res.Revoked+len(res.Failures)+res.Released == 0 {
					return
				}
				total[i] += res.Revoked
			}
		})
	}
	wg.Wait()
	return total
}

// TestSSHLibrarySessions: the session's user has her key signed (a pasted
// key must be a public key, and only she may); the KRL lists the
// certificate once the session ended early, and drops it once its
// validity is over.
func TestSSHLibrarySessions(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		if err := f.store.AddTargetLibrarySources(ctx, f.admin, f.target, []string{f.library}); err != nil {
			t.Fatal(err)
		}
		st := f.start(t)
		c := minted(t, st, models.CredentialSSHCertificate)
		if c.Username != "alice" || c.ValidBefore == nil || !c.ValidBefore.Equal(st.Session.ExpiresAt.Add(time.Minute)) {
			t.Fatalf("ssh credential: %+v", c)
		}
		dir := t.TempDir()
		if err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "id")).Run(); err != nil {
			t.Fatal(err)
		}
		pub, _ := os.ReadFile(filepath.Join(dir, "id.pub"))
		priv, _ := os.ReadFile(filepath.Join(dir, "id"))
		for _, bad := range []string{"", "not a key", string(priv)} {
			if _, err := f.store.SignSessionSSHKey(ctx, f.alice, st.Session.ID, bad); !strings.Contains(models.FieldErrors(err)["public_key"], "one OpenSSH public key") {
				t.Fatalf("bad key %.20q: %v", bad, err)
			}
		}
		if _, err := f.store.SignSessionSSHKey(ctx, f.admin, st.Session.ID, string(pub)); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("the admin signs alice's session: %v", err)
		}
		signed, err := f.store.SignSessionSSHKey(ctx, f.alice, st.Session.ID, string(pub))
		if err != nil || len(signed) != 1 || !strings.HasPrefix(signed[0].Certificate, "ssh-ed25519-cert-v01@openssh.com ") {
			t.Fatalf("sign: %v %+v", err, signed)
		}
		d, err := f.store.GetSession(ctx, f.alice, st.Session.ID)
		if err != nil || len(d.Certificates) != 1 || !d.SSHCredentials {
			t.Fatalf("page: %v %+v", err, d)
		}
		serial := uint64(d.Certificates[0].Serial)
		krlSerials := func() []uint64 {
			krl, err := f.store.SSHRevocationList(ctx, f.library)
			if err != nil {
				t.Fatal(err)
			}
			_, s, err := credlib.KRLSerials(krl)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		if s := krlSerials(); len(s) != 0 {
			t.Fatalf("KRL of a live session: %v", s)
		}
		if _, err := f.store.CancelSession(ctx, f.alice, st.Session.ID); err != nil {
			t.Fatal(err)
		}
		if s := krlSerials(); len(s) != 1 || s[0] != serial {
			t.Fatalf("KRL after cancel: %v want %d", s, serial)
		}
		if _, err := f.store.SignSessionSSHKey(ctx, f.alice, st.Session.ID, string(pub)); !errors.Is(err, models.ErrSessionEnded) {
			t.Fatalf("sign after the end: %v", err)
		}
		rec, err := f.store.GetHistorySession(ctx, f.admin, st.Session.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range rec.Session.Credentials {
			if ref.ID == c.ID && (rec.RevokedAt(ref) == nil || len(rec.CertificatesOf(ref)) != 1 || ref.Principals[0] != "alice") {
				t.Fatalf("audit record: %+v", ref)
			}
		}
		// The certificate's facts are in the warehouse, append-only: the
		// record keeps them when the operational rows are gone.
		for _, q := range []string{"DELETE FROM warehouse_ssh_certificates", "UPDATE warehouse_ssh_certificates SET principals = 'mallory'"} {
			if err := f.store.DB().Exec(q).Error; err == nil {
				t.Fatalf("%s: the warehouse took it", q)
			}
		}
		if err := f.store.DB().Exec("DELETE FROM ssh_certificates").Error; err != nil {
			t.Fatal(err)
		}
		if rec, err = f.store.GetHistorySession(ctx, f.admin, st.Session.ID); err != nil {
			t.Fatal(err)
		}
		x := rec.Certificates
		if len(x) != 1 || uint64(x[0].Serial) != serial || x[0].Principals != "alice" || x[0].CredentialID != c.ID || x[0].RevokedAt == nil ||
			!x[0].ValidBefore.Equal(st.Session.ExpiresAt.Add(time.Minute)) || !x[0].ValidAfter.Equal(st.Session.CreatedAt.Add(-time.Minute)) {
			t.Fatalf("warehouse certificates: %+v", x)
		}
		f.clock.Add(2 * time.Hour)
		if s := krlSerials(); len(s) != 0 {
			t.Fatalf("KRL after the validity: %v", s)
		}
		if _, err := f.store.SSHRevocationList(ctx, "clpg_nope"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown KRL: %v", err)
		}
	})
}

// TestRewrapLibrarySecrets: root key rotation re-encrypts the libraries'
// secrets and the live issued credentials' too; with the old key gone the
// session's password still shows and its role is still revoked.
func TestRewrapLibrarySecrets(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		pg := dbtest.NewPGTarget(t)
		f.attachLibrary(t, pgLibraryInput(pg, "rotating"))
		st := f.start(t)
		c := minted(t, st, models.CredentialPostgresRole)
		newKey := make([]byte, 32)
		newKey[0] = 99
		oldKey := make([]byte, 32)
		for i := range oldKey {
			oldKey[i] = byte(i + 7) // the fixture's key
		}
		both, _ := models.NewCrypter(newKey, oldKey)
		be := credlib.New()
		defer be.Close()
		rotating := models.NewStore(f.store.DB(), f.store.Dialect(), models.Options{Now: f.clock.Now, Crypter: both, CredentialBackend: be})
		// The static credential, two libraries, the issued role's secret.
		if n, err := rotating.RewrapCredentialSecrets(ctx); err != nil || n != 4 {
			t.Fatalf("rewrap = %d, %v", n, err)
		}
		newOnly, _ := models.NewCrypter(newKey)
		after := models.NewStore(f.store.DB(), f.store.Dialect(), models.Options{Now: f.clock.Now, Crypter: newOnly, CredentialBackend: be})
		d, err := after.GetSession(ctx, f.alice, st.Session.ID)
		if err != nil || minted(t, &models.StartedSession{Credentials: d.Credentials}, models.CredentialPostgresRole).Password != c.Password {
			t.Fatalf("after rotation: %v", err)
		}
		if _, err := after.CancelSession(ctx, f.alice, st.Session.ID); err != nil {
			t.Fatal(err)
		}
		if res, err := after.WorkRevocations(ctx); err != nil || res.Revoked != 1 {
			t.Fatalf("revoke after rotation: %+v %v", res, err)
		}
		if roles := pg.Roles(t); len(roles) != 0 {
			t.Fatalf("roles left: %v", roles)
		}
	})
}

// TestStoreLibraries: the store page lists every library of the store
// (the fixture's "ssh" and three more), by name; the list API pages them
// with their total.
func TestStoreLibraries(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		for _, name := range []string{"roles b", "roles a", "roles c"} {
			if _, err := f.store.CreateCredentialLibrary(ctx, f.admin, f.credStore, libraryInput(name, "pw")); err != nil {
				t.Fatal(err)
			}
		}
		cs, err := f.store.GetCredentialStore(ctx, f.admin, f.credStore)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range cs.Libraries {
			names = append(names, l.Name)
		}
		if strings.Join(names, ",") != "roles a,roles b,roles c,ssh" || !cs.MayCreateLibrary {
			t.Errorf("store page libraries %v, may create %v", names, cs.MayCreateLibrary)
		}
		page, err := f.store.ListCredentialLibraries(ctx, f.admin, f.credStore, models.ListOptions{Page: 2, PerPage: 2})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 4 || len(page.Items) != 2 || page.Items[0].Name != "roles c" || page.Items[1].Name != "ssh" {
			t.Errorf("page 2 of 2: total %d, items %+v", page.Total, page.Items)
		}
	})
}

// TestDeletedSSHLibraryRevokesItsCA: once an SSH library is gone (deleted
// itself, or with its store, or with its project), its CA public key and
// its KRL are still served for its id, and the KRL revokes the CA key
// itself, so that every certificate it signed is refused; the serials of
// the canceled session's certificate stay listed too.
func TestDeletedSSHLibraryRevokesItsCA(t *testing.T) {
	dir := t.TempDir()
	if err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "id")).Run(); err != nil {
		t.Fatal(err)
	}
	pub, _ := os.ReadFile(filepath.Join(dir, "id.pub"))
	for _, how := range []string{"library", "store", "project"} {
		t.Run(how, func(t *testing.T) {
			eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
				ctx := context.Background()
				if err := f.store.AddTargetLibrarySources(ctx, f.admin, f.target, []string{f.library}); err != nil {
					t.Fatal(err)
				}
				caPub, err := f.store.SSHCAPublicKey(ctx, f.library)
				if err != nil {
					t.Fatal(err)
				}
				st := f.start(t)
				signed, err := f.store.SignSessionSSHKey(ctx, f.alice, st.Session.ID, string(pub))
				if err != nil || len(signed) != 1 {
					t.Fatalf("sign: %v %+v", err, signed)
				}
				switch how {
				case "library":
					err = f.store.DeleteCredentialLibrary(ctx, f.admin, f.library)
				case "store":
					err = f.store.DeleteCredentialStore(ctx, f.admin, f.credStore)
				case "project":
					err = f.store.DeleteScope(ctx, f.admin, f.project)
				}
				if err != nil {
					t.Fatalf("delete the %s: %v", how, err)
				}
				if got, err := f.store.SSHCAPublicKey(ctx, f.library); err != nil || got != caPub {
					t.Fatalf("CA key after deleting the %s: %v %q", how, err, got)
				}
				krl, err := f.store.SSHRevocationList(ctx, f.library)
				if err != nil {
					t.Fatalf("KRL after deleting the %s: %v", how, err)
				}
				_, serials, keys, err := credlib.ParseKRL(krl)
				if err != nil {
					t.Fatal(err)
				}
				ca, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(caPub))
				if len(keys) != 1 || string(keys[0]) != string(ca.Marshal()) {
					t.Fatalf("the KRL after deleting the %s does not revoke the CA key: %d keys", how, len(keys))
				}
				if len(serials) != 1 {
					t.Fatalf("serials after deleting the %s: %v", how, serials)
				}
				f.clock.Add(3 * time.Hour) // every certificate expired: the CA stays revoked
				krl, _ = f.store.SSHRevocationList(ctx, f.library)
				if _, serials, keys, _ = credlib.ParseKRL(krl); len(keys) != 1 || len(serials) != 0 {
					t.Fatalf("later KRL: %d keys, serials %v", len(keys), serials)
				}
			})
		})
	}
}

// slowBackend takes delay over each revocation (within its context).
type slowBackend struct {
	*countingBackend
	delay time.Duration
}

func (b *slowBackend) DropPostgresRole(ctx context.Context, conn models.PostgresConn, role, sql string) error {
	select {
	case <-time.After(b.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.countingBackend.DropPostgresRole(ctx, conn, role, sql)
}

// TestRevocationLeaseTakeover: a pass whose revocations are slow holds more
// rows than it can revoke inside its lease. It starts none once its time is
// up and releases them; a second instance polling all along takes them (and
// takes nothing the first is working): every role is revoked exactly once,
// and each revocation counts one attempt.
func TestRevocationLeaseTakeover(t *testing.T) {
	ctx := context.Background()
	f := newSessionFixture(t, models.Postgres, models.SessionOptions{})
	pg := dbtest.NewPGTarget(t)
	f.attachLibrary(t, pgLibraryInput(pg, "shared"))
	const n = 10
	var roles []string
	for range n {
		roles = append(roles, minted(t, f.start(t), models.CredentialPostgresRole).Username)
	}
	if err := f.store.Transact(ctx, func(tx *models.Store) error {
		_, err := tx.CancelSessionsOf(ctx, acl.Resource{Type: "target", ID: f.target})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	be := &slowBackend{countingBackend: &countingBackend{LibraryBackend: credlib.New(), dropped: map[string]int{}}, delay: 400 * time.Millisecond}
	// Real time: a lease of 3 s, revocations of 0.4 s one at a time, so the
	// first pass's 10 rows (4 s) would outlive its lease.
	opts := models.RevocationOptions{Lease: 3 * time.Second, Timeout: time.Second, Batch: n, Parallel: 1}
	first := models.NewStore(f.store.DB(), models.Postgres, models.Options{Now: time.Now, Crypter: f.crypter, CredentialBackend: be, Revocations: opts})
	second := models.NewStore(f.store.DB(), models.Postgres, models.Options{Now: time.Now, Crypter: f.crypter, CredentialBackend: be, Revocations: opts})
	claimed := make(chan struct{})
	var firstRes models.RevocationResult
	var wg sync.WaitGroup
	wg.Go(func() {
		var err error
		if firstRes, err = first.WorkRevocations(ctx); err != nil {
			t.Error(err)
		}
	})
	// The second instance starts once the first holds every row.
	waitRows := func(cond string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var k int64
			if err := f.store.DB().Table("credential_revocations").Where(cond).Count(&k).Error; err != nil {
				t.Fatal(err)
			}
			if k == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("not within 10 s: %s", cond)
			}
		}
	}
	waitRows("lease_until IS NOT NULL OR state = 'revoked'")
	close(claimed)
	secondRevoked := 0
	wg.Go(func() {
		<-claimed
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			res, err := second.WorkRevocations(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			secondRevoked += res.Revoked
			var left int64
			_ = f.store.DB().Table("credential_revocations").Where("state <> 'revoked'").Count(&left).Error
			if left == 0 && res.Revoked+len(res.Failures) == 0 {
				return
			}
		}
	})
	wg.Wait()
	if firstRes.Revoked == 0 || firstRes.Revoked == n || firstRes.Released == 0 || secondRevoked != n-firstRes.Revoked {
		t.Fatalf("first pass revoked %d, released %d; second instance revoked %d", firstRes.Revoked, firstRes.Released, secondRevoked)
	}
	for _, r := range roles {
		if be.dropped[r] != 1 {
			t.Fatalf("role %s dropped %d times", r, be.dropped[r])
		}
	}
	var attempts []int
	if err := f.store.DB().Table("credential_revocations").Where("state = 'revoked'").Pluck("attempts", &attempts).Error; err != nil {
		t.Fatal(err)
	}
	for _, a := range attempts {
		if a != 1 || len(attempts) != n {
			t.Fatalf("attempts: %v (want %d × 1)", attempts, n)
		}
	}
}

// TestSessionMoveMovesCredentialValidity: extending a session moves its
// Postgres role's VALID UNTIL at the real server (after commit, by the
// loop's pass) and the recorded facts; certificates signed afterwards end
// at the new expiration (plus the skew). Shortening moves them back.
func TestSessionMoveMovesCredentialValidity(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		pg := dbtest.NewPGTarget(t)
		f.attachLibrary(t, pgLibraryInput(pg, "reporting"))
		if err := f.store.AddTargetLibrarySources(ctx, f.admin, f.target, []string{f.library}); err != nil {
			t.Fatal(err)
		}
		st := f.start(t)
		c := minted(t, st, models.CredentialPostgresRole)
		super, err := sql.Open("pgx", pg.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer super.Close()
		validUntil := func() time.Time {
			t.Helper()
			var v time.Time
			if err := super.QueryRow("SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1", c.Username).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		facts := func() time.Time {
			t.Helper()
			var raw string
			if err := f.store.DB().Raw("SELECT facts FROM session_credentials WHERE credential_id = ?", c.ID).Scan(&raw).Error; err != nil {
				t.Fatal(err)
			}
			var v struct {
				ValidBefore time.Time `json:"valid_before"`
			}
			_ = json.Unmarshal([]byte(raw), &v)
			return v.ValidBefore
		}
		if v := validUntil(); !v.Equal(st.Session.ExpiresAt) {
			t.Fatalf("VALID UNTIL at start: %s want %s", v, st.Session.ExpiresAt)
		}
		dir := t.TempDir()
		if err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "id")).Run(); err != nil {
			t.Fatal(err)
		}
		pub, _ := os.ReadFile(filepath.Join(dir, "id.pub"))
		move := func(what string, want time.Time) {
			t.Helper()
			applied, fails, err := f.store.WorkCredentialValidity(ctx)
			if err != nil || applied != 1 || len(fails) != 0 {
				t.Fatalf("%s: applied %d, failures %+v, %v", what, applied, fails, err)
			}
			if v := validUntil(); !v.Equal(want) {
				t.Fatalf("%s: VALID UNTIL %s want %s", what, v, want)
			}
			if v := facts(); !v.Equal(want) {
				t.Fatalf("%s: facts say %s want %s", what, v, want)
			}
			signed, err := f.store.SignSessionSSHKey(ctx, f.alice, st.Session.ID, string(pub))
			if err != nil || len(signed) != 1 || !signed[0].ValidBefore.Equal(want.Add(time.Minute)) {
				t.Fatalf("%s: certificate signed after: %v %+v", what, err, signed)
			}
			if applied, _, _ := f.store.WorkCredentialValidity(ctx); applied != 0 {
				t.Fatalf("%s: applied again: %d", what, applied)
			}
		}
		if err := f.store.DB().Exec("UPDATE sessions SET extension_max_seconds = 7200 WHERE id = ?", st.Session.ID).Error; err != nil {
			t.Fatal(err)
		}
		f.clock.Add(time.Second)
		out, err := f.store.ExtendSession(ctx, f.alice, st.Session.ID, models.ExtendSessionInput{By: "30m"})
		if err != nil || out.Session == nil {
			t.Fatalf("extend: %v %+v", err, out)
		}
		move("extended", out.Session.ExpiresAt)
		to := f.clock.Now().Add(10 * time.Minute).Truncate(time.Minute)
		short, err := f.store.ShortenSession(ctx, f.admin, st.Session.ID, models.ShortenInput{ExpiresAt: to.Format("2006-01-02T15:04")})
		if err != nil {
			t.Fatalf("shorten: %v", err)
		}
		move("shortened", short.ExpiresAt)
	})
}
