package dbtest

import (
	"context"
	"testing"

	"gatehouse/models"
)

// Infra holds the ids of one project's worth of infrastructure made by
// SeedInfra.
type Infra struct {
	ProjectID    string
	CatalogID    string
	HostID       string
	HostSetID    string
	TargetID     string // uses the host set and brokers the credential
	AddrTargetID string // has a direct address
	StoreID      string
	CredentialID string
}

// SeedInfra creates, as actor a, in projectID: a static catalog with a host
// in a host set, a credential store with a username/password credential, a
// target "<prefix> web" using the host set and brokering the credential, and a
// target "<prefix> db" with a direct address. It fails the test on any error.
func SeedInfra(t testing.TB, store *models.Store, a models.Actor, projectID, prefix string) Infra {
	t.Helper()
	ctx := context.Background()
	in := Infra{ProjectID: projectID}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed infra in %s: %v", projectID, err)
		}
	}
	c, err := store.CreateHostCatalog(ctx, a, projectID, models.HostCatalogInput{Name: prefix + " catalog"})
	must(err)
	h, err := store.CreateHost(ctx, a, c.ID, models.HostInput{Name: prefix + " host", Address: "10.0.0.1"})
	must(err)
	hs, err := store.CreateHostSet(ctx, a, c.ID, models.HostSetInput{Name: prefix + " set"}, []string{h.ID})
	must(err)
	cs, err := store.CreateCredentialStore(ctx, a, projectID, models.CredentialStoreInput{Name: prefix + " store"})
	must(err)
	cr, err := store.CreateCredential(ctx, a, cs.ID, models.CredentialInput{Type: models.CredentialUsernamePassword,
		Name: prefix + " login", Username: "svc", Password: "secret-" + prefix})
	must(err)
	tg, err := store.CreateTarget(ctx, a, projectID, models.TargetInput{Name: prefix + " web", DefaultPort: 443,
		SessionMaxSeconds: models.DefaultSessionMaxSeconds, SessionConnectionLimit: models.UnlimitedConnections})
	must(err)
	must(store.AddTargetHostSources(ctx, a, tg.ID, []string{hs.ID}))
	must(store.AddTargetCredentialSources(ctx, a, tg.ID, []string{cr.ID}))
	at, err := store.CreateTarget(ctx, a, projectID, models.TargetInput{Name: prefix + " db", DefaultPort: 5432, Address: prefix + ".db.internal",
		SessionMaxSeconds: models.DefaultSessionMaxSeconds, SessionConnectionLimit: models.UnlimitedConnections})
	must(err)
	in.CatalogID, in.HostID, in.HostSetID, in.StoreID, in.CredentialID, in.TargetID, in.AddrTargetID = c.ID, h.ID, hs.ID, cs.ID, cr.ID, tg.ID, at.ID
	return in
}
