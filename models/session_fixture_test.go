package models_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"gatehouse/credlib"
	"gatehouse/dbtest"
	"gatehouse/models"
)

// testClock is an injected clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sessionFixture is an org with a project holding a host catalog (two
// hosts in one host set), a target using that host set, a credential store
// with one credential brokered by the target, and a direct-address target.
type sessionFixture struct {
	store                                                    *models.Store
	clock                                                    *testClock
	crypter                                                  *models.Crypter
	admin                                                    models.Actor
	alice                                                    models.Actor // an administrator under the foundation's stub policy
	bob                                                      models.Actor // a plain user
	methodID                                                 string
	org, project, catalog, host1, host2, set, target, direct string
	credStore, cred                                          string
	oidcMethodID                                             string // set by loginAliceOIDC
	// library is an SSH certificate library of the store, attached to no
	// target (tests attach it or libraries of their own).
	library string
}

func eachSessionDB(t *testing.T, fn func(t *testing.T, f *sessionFixture)) {
	t.Helper()
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) { fn(t, newSessionFixture(t, d, models.SessionOptions{})) })
	}
}

func newSessionFixture(t testing.TB, d models.Dialect, sopts models.SessionOptions) *sessionFixture {
	t.Helper()
	ctx := context.Background()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i + 7)
	}
	crypter, err := models.NewCrypter(key)
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	backend := credlib.New()
	t.Cleanup(backend.Close)
	store := dbtest.Open(t, d, models.Options{Now: clock.Now, Crypter: crypter, Sessions: sopts,
		CheckOIDCProvider: func(context.Context, string, []string) error { return nil }, CredentialBackend: backend,
		Revocations: models.RevocationOptions{RetryBase: time.Second}})
	f := &sessionFixture{store: store, clock: clock, crypter: crypter}
	f.admin = dbtest.Admin(t, store)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(store.DB().Raw("SELECT id FROM auth_methods WHERE type = 'password' ORDER BY created_at LIMIT 1").Scan(&f.methodID).Error)
	_, err = store.CreateUser(ctx, f.admin, models.GlobalScopeID, models.UserInput{Name: "alice", FullName: "Alice Liddell", Email: "alice@example.com", LoginName: "alice", Password: "alice-password"})
	must(err)
	aliceID := ""
	must(store.DB().Raw("SELECT id FROM users WHERE name = 'alice'").Scan(&aliceID).Error)
	_, err = store.CreateUser(ctx, f.admin, models.GlobalScopeID, models.UserInput{Name: "bob", LoginName: "bob", Password: "bob-password"})
	must(err)
	org, err := store.CreateScope(ctx, f.admin, models.GlobalScopeID, models.ScopeInput{Name: "Acme"})
	must(err)
	proj, err := store.CreateScope(ctx, f.admin, org.ID, models.ScopeInput{Name: "Databases"})
	must(err)
	f.org, f.project = org.ID, proj.ID
	grantRole(t, store, f.admin, proj.ID, []string{"ids=*;type=target;actions=read,authorize-session"}, aliceID)
	// Actors load their roles once: log in after the grants.
	f.alice = dbtest.Login(t, store, f.methodID, "alice", "alice-password")
	f.bob = dbtest.Login(t, store, f.methodID, "bob", "bob-password")
	f.catalog, f.host1, f.host2, f.set = "hcst_cat1", "hst_host1", "hst_host2", "hsst_set1"
	f.target, f.direct, f.credStore, f.cred = "ttcp_pg1", "ttcp_direct1", "csst_vault1", "credup_pg1"
	now := clock.Now()
	ex := func(q string, args ...any) { t.Helper(); must(store.DB().Exec(q, args...).Error) }
	ex(`INSERT INTO host_catalogs (id, scope_id, name, created_at, updated_at) VALUES (?, ?, 'Datacenter', ?, ?)`, f.catalog, f.project, now, now)
	ex(`INSERT INTO hosts (id, catalog_id, scope_id, name, address, created_at, updated_at) VALUES (?, ?, ?, 'db-1', '10.0.0.1', ?, ?), (?, ?, ?, 'db-2', 'db2.example.com', ?, ?)`,
		f.host1, f.catalog, f.project, now, now, f.host2, f.catalog, f.project, now, now)
	ex(`INSERT INTO host_sets (id, catalog_id, scope_id, name, created_at, updated_at) VALUES (?, ?, ?, 'Primaries', ?, ?)`, f.set, f.catalog, f.project, now, now)
	ex(`INSERT INTO host_set_members (host_set_id, host_id, catalog_id, created_at) VALUES (?, ?, ?, ?), (?, ?, ?, ?)`,
		f.set, f.host1, f.catalog, now, f.set, f.host2, f.catalog, now)
	ex(`INSERT INTO targets (id, scope_id, name, default_port, session_max_seconds, session_connection_limit, created_at, updated_at) VALUES (?, ?, 'postgres', 5432, 3600, 2, ?, ?)`,
		f.target, f.project, now, now)
	ex(`INSERT INTO targets (id, scope_id, name, default_port, address, created_at, updated_at) VALUES (?, ?, 'echo', 7, '127.0.0.1', ?, ?)`,
		f.direct, f.project, now, now)
	ex(`INSERT INTO target_host_sources (target_id, host_set_id, scope_id, created_at) VALUES (?, ?, ?, ?)`, f.target, f.set, f.project, now)
	ex(`INSERT INTO credential_stores (id, scope_id, name, created_at, updated_at) VALUES (?, ?, 'Vault', ?, ?)`, f.credStore, f.project, now, now)
	secret, _ := json.Marshal(map[string]string{"password": "s3cret"})
	enc, err := crypter.Encrypt(secret, f.cred)
	must(err)
	ex(`INSERT INTO credentials (id, store_id, scope_id, type, name, username, secret, created_at, updated_at) VALUES (?, ?, ?, 'username_password', 'pg admin', 'postgres', ?, ?, ?)`,
		f.cred, f.credStore, f.project, enc, now, now)
	ex(`INSERT INTO target_credential_sources (target_id, credential_id, scope_id, created_at) VALUES (?, ?, ?, ?)`, f.target, f.cred, f.project, now)
	lib, err := store.CreateCredentialLibrary(ctx, f.admin, f.credStore, models.CredentialLibraryInput{Type: models.LibrarySSHCert,
		Name: "ssh", PrincipalsTemplate: "{{.User.Name}}"})
	must(err)
	f.library = lib.ID
	return f
}

// loginAliceOIDC creates an active OIDC auth method in global, links an
// account of it to alice (accounts are linked at OIDC login and no use case
// links one to an existing user, so the row is inserted) and makes f.alice
// a login through it: sessions alice starts afterwards record that account
// and auth method.
func (f *sessionFixture) loginAliceOIDC(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	in := validOIDC("Corp SSO")
	m, err := f.store.CreateOIDCMethod(ctx, f.admin, models.GlobalScopeID, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.ChangeAuthMethodState(ctx, f.admin, m.ID, m.Version, models.StateActivePrivate); err != nil {
		t.Fatal(err)
	}
	issuer, subject, now := m.Issuer, "alice-sub", f.clock.Now()
	acct := models.Account{ID: models.NewID(models.PrefixOIDCAcct), AuthMethodID: m.ID, UserID: f.alice.UserID,
		Issuer: &issuer, Subject: &subject, FullName: "Alice Liddell", Email: "alice@example.com", CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := f.store.DB().Create(&acct).Error; err != nil {
		t.Fatal(err)
	}
	res, err := f.store.OIDCLogin(ctx, models.OIDCIdentity{AuthMethodID: m.ID, Issuer: issuer, Subject: subject,
		TokenClaims:    map[string]any{"sub": subject, "name": "Alice Liddell"},
		UserinfoClaims: map[string]any{"sub": subject, "mail": "alice@example.com"}, ClientIP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := f.store.LoginByToken(ctx, res.Token)
	if err != nil || a.AccountID != acct.ID {
		t.Fatalf("oidc login: %v %+v", err, a)
	}
	f.alice, f.oidcMethodID = a, m.ID
}

// start starts a session on the fixture's target as alice.
func (f *sessionFixture) start(t testing.TB) *models.StartedSession {
	t.Helper()
	s, err := f.store.StartSession(context.Background(), f.alice, models.StartSessionInput{TargetID: f.target, ClientIP: "192.0.2.1", UserAgent: "test"})
	if err != nil {
		t.Fatalf("start session: %v", err)
	}
	return s
}

// admitN admits n connections on the session whose token this is and
// returns their ids.
func (f *sessionFixture) admitN(t testing.TB, token string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		adm, err := f.store.AdmitConnection(context.Background(), models.AdmitInput{Token: token, ClientAddr: "127.0.0.1:40000"})
		if err != nil {
			t.Fatalf("admit: %v", err)
		}
		ids[i] = adm.Connection.ID
	}
	return ids
}

// get loads a session with its history as the admin.
func (f *sessionFixture) get(t testing.TB, id string) *models.SessionDetail {
	t.Helper()
	d, err := f.store.GetSession(context.Background(), f.admin, id)
	if err != nil {
		t.Fatalf("get session %s: %v", id, err)
	}
	return d
}

// checkHistory asserts that the history is one row per real move, each an
// allowed move from the row before, ending in the session's state.
func checkHistory(t testing.TB, d *models.SessionDetail) {
	t.Helper()
	if len(d.History) == 0 || d.History[0].State != models.StatePending || d.History[0].PreviousState != nil {
		t.Fatalf("history must start with pending: %+v", d.History)
	}
	for i := 1; i < len(d.History); i++ {
		h := d.History[i]
		if h.PreviousState == nil || *h.PreviousState != d.History[i-1].State {
			t.Fatalf("history row %d does not follow %s: %+v", i, d.History[i-1].State, h)
		}
		if _, ok := allowedMoves[string(*h.PreviousState)+">"+string(h.State)]; !ok {
			t.Fatalf("illegal move in history: %s → %s", *h.PreviousState, h.State)
		}
	}
	last := d.History[len(d.History)-1]
	if last.State != d.State {
		t.Fatalf("history ends in %s, session is %s", last.State, d.State)
	}
	if (d.State == models.StateTerminated) != (d.TerminationReason != nil) || (d.State == models.StateTerminated) != (d.EndedAt != nil) {
		t.Fatalf("reason/end time must be set exactly when terminated: %+v", d.Session)
	}
	if d.State == models.StateTerminated && (last.TerminationReason == nil || *last.TerminationReason != *d.TerminationReason) {
		t.Fatalf("history reason %v differs from session reason %v", last.TerminationReason, *d.TerminationReason)
	}
}

var allowedMoves = map[string]struct{}{"pending>active": {}, "pending>canceling": {}, "pending>terminated": {},
	"active>canceling": {}, "active>terminated": {}, "canceling>terminated": {}}

// grantRole creates a role in scopeID with grants held by principals.
func grantRole(t testing.TB, store *models.Store, admin models.Actor, scopeID string, grants []string, principals ...string) {
	t.Helper()
	ctx := context.Background()
	r, err := store.CreateRole(ctx, admin, scopeID, models.RoleInput{Name: "role " + models.NewID("x")})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SetRoleGrants(ctx, admin, r.ID, r.Version, grants); err != nil {
		t.Fatal(err)
	}
	if err := store.AddRolePrincipals(ctx, admin, r.ID, principals); err != nil {
		t.Fatal(err)
	}
}
