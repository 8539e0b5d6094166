package dbtest

import (
	"context"
	"fmt"
	"testing"

	"gatehouse/models"
	"gatehouse/models/acl"
)

// InfraBenchConfig sizes the infrastructure a benchmark seeds (SeedInfraBench).
type InfraBenchConfig struct {
	Orgs               int // projects are spread evenly over the orgs
	Projects           int
	TargetsPerProject  int
	HostsPerProject    int // all in one host set per project
	CredentialsPerProj int // username/password, brokered by every host-source target
}

// DefaultInfraBench is issue 4's figure: 10,000 targets in 100 projects.
var DefaultInfraBench = InfraBenchConfig{Orgs: 10, Projects: 100, TargetsPerProject: 100, HostsPerProject: 5, CredentialsPerProj: 1}

// InfraBenchWorld is what SeedInfraBench made, for later steps (the RBAC
// benchmark grants roles on these ids).
type InfraBenchWorld struct {
	Admin      models.Actor
	OrgIDs     []string
	ProjectIDs []string
	TargetIDs  []string // in creation order, TargetsPerProject per project
	HostSetIDs []string // one per project
}

// SeedInfraBench fills a store with orgs, projects, catalogs, hosts, host
// sets, credential stores, credentials and targets. Scopes and credentials
// go through the use cases; the bulk rows are inserted in batches through
// store.DB() (half the targets have a direct address, half the project's
// host set plus its brokered credentials). Reusable by any benchmark.
func SeedInfraBench(tb testing.TB, store *models.Store, cfg InfraBenchConfig) InfraBenchWorld {
	tb.Helper()
	ctx := context.Background()
	w := InfraBenchWorld{Admin: Admin(tb, store)}
	now := store.Now()
	for i := 0; i < cfg.Orgs; i++ {
		o, err := store.CreateScope(ctx, w.Admin, models.GlobalScopeID, models.ScopeInput{Name: fmt.Sprintf("org-%03d", i)})
		if err != nil {
			tb.Fatal(err)
		}
		w.OrgIDs = append(w.OrgIDs, o.ID)
	}
	var (
		catalogs []models.HostCatalog
		hosts    []models.Host
		sets     []models.HostSet
		members  []models.HostSetMember
		targets  []models.Target
		hsrc     []models.TargetHostSource
		csrc     []models.TargetCredentialSource
	)
	for pi := 0; pi < cfg.Projects; pi++ {
		p, err := store.CreateScope(ctx, w.Admin, w.OrgIDs[pi%cfg.Orgs], models.ScopeInput{Name: fmt.Sprintf("project-%03d", pi)})
		if err != nil {
			tb.Fatal(err)
		}
		w.ProjectIDs = append(w.ProjectIDs, p.ID)
		cat := models.HostCatalog{ID: models.NewID(models.PrefixHostCatalog), ScopeID: p.ID, Type: "static", Name: "catalog", CreatedAt: now, UpdatedAt: now, Version: 1}
		set := models.HostSet{ID: models.NewID(models.PrefixHostSet), CatalogID: cat.ID, ScopeID: p.ID, Name: "all", CreatedAt: now, UpdatedAt: now, Version: 1}
		catalogs, sets = append(catalogs, cat), append(sets, set)
		w.HostSetIDs = append(w.HostSetIDs, set.ID)
		for hi := 0; hi < cfg.HostsPerProject; hi++ {
			h := models.Host{ID: models.NewID(models.PrefixHost), CatalogID: cat.ID, ScopeID: p.ID, Name: fmt.Sprintf("host-%02d", hi),
				Address: fmt.Sprintf("10.%d.%d.%d", pi/250, pi%250, hi+1), CreatedAt: now, UpdatedAt: now, Version: 1}
			hosts = append(hosts, h)
			members = append(members, models.HostSetMember{HostSetID: set.ID, HostID: h.ID, CatalogID: cat.ID, CreatedAt: now})
		}
		var credIDs []string
		if cfg.CredentialsPerProj > 0 {
			cs, err := store.CreateCredentialStore(ctx, w.Admin, p.ID, models.CredentialStoreInput{Name: "store"})
			if err != nil {
				tb.Fatal(err)
			}
			for ci := 0; ci < cfg.CredentialsPerProj; ci++ {
				c, err := store.CreateCredential(ctx, w.Admin, cs.ID, models.CredentialInput{Type: models.CredentialUsernamePassword,
					Name: fmt.Sprintf("cred-%d", ci), Username: "svc", Password: "pw"})
				if err != nil {
					tb.Fatal(err)
				}
				credIDs = append(credIDs, c.ID)
			}
		}
		for ti := 0; ti < cfg.TargetsPerProject; ti++ {
			t := models.Target{ID: models.NewID(models.PrefixTarget), ScopeID: p.ID, Type: "tcp", Name: fmt.Sprintf("target-%03d-%03d", pi, ti),
				Description: "benchmark target", DefaultPort: 22, SessionMaxSeconds: models.DefaultSessionMaxSeconds,
				SessionConnectionLimit: models.UnlimitedConnections, CreatedAt: now, UpdatedAt: now, Version: 1}
			if ti%2 == 0 {
				addr := fmt.Sprintf("direct-%d.example.com", ti)
				t.Address = &addr
			} else {
				hsrc = append(hsrc, models.TargetHostSource{TargetID: t.ID, HostSetID: set.ID, ScopeID: p.ID, CreatedAt: now})
				for _, c := range credIDs {
					csrc = append(csrc, models.TargetCredentialSource{TargetID: t.ID, CredentialID: c, ScopeID: p.ID, Purpose: "brokered", CreatedAt: now})
				}
			}
			targets = append(targets, t)
			w.TargetIDs = append(w.TargetIDs, t.ID)
		}
	}
	db := store.DB().WithContext(ctx)
	for _, rows := range []any{&catalogs, &hosts, &sets, &members, &targets, &hsrc, &csrc} {
		if err := db.CreateInBatches(rows, 500).Error; err != nil {
			tb.Fatalf("seed %T: %v", rows, err)
		}
	}
	if store.Dialect() == models.Postgres {
		_ = db.Exec("ANALYZE").Error
	}
	return w
}

// HeavyUser is the user SeedHeavyUser made: a password login (Token, for
// Store.LoginByToken; LoginName/Password for the login form) and the
// numbers a benchmark checks its results against.
type HeavyUser struct {
	UserID, LoginName, Password, Token string
	Roles                              int   // roles held, all indirect
	SessionTargets                     int64 // targets the user may authorize a session on
	SessionProjects                    int   // projects holding at least one of them
}

// SeedHeavyUser creates, on a world of SeedInfraBench (at least 10 orgs and
// 100 projects with their targets), a user "heavy" holding 200 roles, none
// directly: 100 through 10 groups and 100 through 10 managed groups of an
// OIDC auth method on an OIDC account of the user. The roles mix the grant
// shapes a real deployment has:
//   - the groups' 100 roles: 2 per project in projects 0–49, grant scope
//     this, "ids=*;type=target;actions=list,read,authorize-session";
//   - 50 managed-group roles in the orgs (grant scope children), granting
//     only read on targets (they widen no session list);
//   - 50 managed-group roles, one per project 50–99, granting
//     authorize-session on 10 named targets of their project.
//
// So the user may start sessions on all targets of 50 projects plus 10 in
// each of the other 50.
func SeedHeavyUser(tb testing.TB, store *models.Store, w InfraBenchWorld) HeavyUser {
	tb.Helper()
	ctx := context.Background()
	if len(w.OrgIDs) < 10 || len(w.ProjectIDs) < 100 {
		tb.Fatalf("SeedHeavyUser needs 10 orgs and 100 projects, got %d and %d", len(w.OrgIDs), len(w.ProjectIDs))
	}
	perProject := len(w.TargetIDs) / len(w.ProjectIDs)
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("seed heavy user: %v", err)
		}
	}
	h := HeavyUser{LoginName: "heavy", Password: "heavy-password-1", Roles: 200}
	u, err := store.CreateUser(ctx, w.Admin, models.GlobalScopeID, models.UserInput{Name: "heavy", LoginName: h.LoginName, Password: h.Password})
	must(err)
	h.UserID = u.ID
	var pwMethod string
	must(store.DB().WithContext(ctx).Raw("SELECT id FROM auth_methods WHERE scope_id = 'global' AND type = 'password' ORDER BY created_at LIMIT 1").Scan(&pwMethod).Error)
	res, err := store.AuthenticatePassword(ctx, models.PasswordLogin{AuthMethodID: pwMethod, LoginName: h.LoginName, Password: h.Password})
	must(err)
	h.Token = res.Token

	oidc, err := store.CreateOIDCMethod(ctx, w.Admin, models.GlobalScopeID, models.OIDCMethodInput{Name: "Bench IdP",
		Issuer: "https://idp.bench.example", ClientID: "gatehouse", ClientSecret: "bench-secret"})
	must(err)
	now := store.Now()
	account := models.NewID(models.PrefixOIDCAcct)
	must(store.DB().WithContext(ctx).Exec(`INSERT INTO accounts (id, auth_method_id, user_id, full_name, email, issuer, subject, created_at, updated_at, version)
		VALUES (?, ?, ?, 'Heavy', 'heavy@example.com', 'https://idp.bench.example', 'heavy', ?, ?, 1)`, account, oidc.ID, u.ID, now, now).Error)
	var groups, managed []string
	for i := range 10 {
		g, err := store.CreateGroup(ctx, w.Admin, models.GlobalScopeID, models.GroupInput{Name: fmt.Sprintf("bench group %d", i)})
		must(err)
		must(store.AddGroupMembers(ctx, w.Admin, g.ID, []string{u.ID}))
		groups = append(groups, g.ID)
		mg, err := store.CreateManagedGroup(ctx, w.Admin, oidc.ID, models.ManagedGroupInput{Name: fmt.Sprintf("bench mg %d", i), Filter: fmt.Sprintf(`"g%d" in groups`, i)})
		must(err)
		must(store.DB().WithContext(ctx).Exec("INSERT INTO managed_group_members (managed_group_id, account_id, created_at) VALUES (?, ?, ?)", mg.ID, account, now).Error)
		managed = append(managed, mg.ID)
	}
	role := func(scopeID, name, principal string, grantScopes, grants []string) {
		tb.Helper()
		r, err := store.CreateRole(ctx, w.Admin, scopeID, models.RoleInput{Name: name})
		must(err)
		v := r.Version
		if grantScopes != nil {
			must(store.SetRoleGrantScopes(ctx, w.Admin, r.ID, v, grantScopes))
			v++
		}
		must(store.SetRoleGrants(ctx, w.Admin, r.ID, v, grants))
		must(store.AddRolePrincipals(ctx, w.Admin, r.ID, []string{principal}))
	}
	for i := range 100 {
		role(w.ProjectIDs[i%50], fmt.Sprintf("connect %d", i), groups[i%10], nil,
			[]string{"ids=*;type=target;actions=list,read,authorize-session"})
	}
	for i := range 50 {
		role(w.OrgIDs[i%10], fmt.Sprintf("read targets %d", i), managed[i%10], []string{acl.GrantScopeChildren},
			[]string{"ids=*;type=target;actions=read"})
	}
	for i := range 50 {
		pi := 50 + i
		ids := w.TargetIDs[pi*perProject : pi*perProject+10]
		grant := "ids=" + ids[0]
		for _, id := range ids[1:] {
			grant += "," + id
		}
		role(w.ProjectIDs[pi], fmt.Sprintf("connect named %d", i), managed[i%10], nil, []string{grant + ";actions=authorize-session"})
	}
	h.SessionTargets = int64(50*perProject + 50*10)
	h.SessionProjects = 100
	if store.Dialect() == models.Postgres {
		_ = store.DB().WithContext(ctx).Exec("ANALYZE").Error
	}
	return h
}
