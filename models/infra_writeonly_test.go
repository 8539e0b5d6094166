package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestInfraUpdateDeleteNeedNoRead: as in Boundary, a grant of update (or
// delete) alone on an item is enough to update (or delete) it, without
// read; another action on it is forbidden, and without any grant on it the
// item is not found, for every infrastructure type.
func TestInfraUpdateDeleteNeedNoRead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		p := project(t, store, admin, "Acme", "Prod")
		method := mustPasswordMethod(t, store, models.GlobalScopeID)
		n := 0
		user := func(grants ...string) models.Actor {
			n++
			name := "user" + string(rune('a'+n))
			u := plainUser(t, store, admin, name)
			if len(grants) > 0 {
				grantRole(t, store, admin, p.ID, grants, u.UserID)
			}
			return dbtest.Login(t, store, method, name, "password-"+name)
		}
		for _, tc := range []struct {
			what   string
			id     func(x dbtest.Infra) string
			update func(a models.Actor, id string) error
			delete func(a models.Actor, id string) error
		}{
			{"target", func(x dbtest.Infra) string { return x.AddrTargetID },
				func(a models.Actor, id string) error {
					_, err := store.UpdateTarget(ctx, a, id, 1, models.TargetInput{Name: "renamed", DefaultPort: 22, Address: "10.1.1.1",
						SessionMaxSeconds: 60, SessionConnectionLimit: -1})
					return err
				},
				func(a models.Actor, id string) error { return store.DeleteTarget(ctx, a, id) }},
			{"host catalog", func(x dbtest.Infra) string { return x.CatalogID },
				func(a models.Actor, id string) error {
					_, err := store.UpdateHostCatalog(ctx, a, id, 1, models.HostCatalogInput{Name: "renamed"})
					return err
				},
				func(a models.Actor, id string) error { return store.DeleteHostCatalog(ctx, a, id) }},
			{"host", func(x dbtest.Infra) string { return x.HostID },
				func(a models.Actor, id string) error {
					_, err := store.UpdateHost(ctx, a, id, 1, models.HostInput{Name: "renamed", Address: "10.2.2.2"})
					return err
				},
				func(a models.Actor, id string) error { return store.DeleteHost(ctx, a, id) }},
			{"host set", func(x dbtest.Infra) string { return x.HostSetID },
				func(a models.Actor, id string) error {
					_, err := store.UpdateHostSet(ctx, a, id, 1, models.HostSetInput{Name: "renamed"})
					return err
				},
				func(a models.Actor, id string) error { return store.DeleteHostSet(ctx, a, id) }},
			{"credential store", func(x dbtest.Infra) string { return x.StoreID },
				func(a models.Actor, id string) error {
					_, err := store.UpdateCredentialStore(ctx, a, id, 1, models.CredentialStoreInput{Name: "renamed"})
					return err
				},
				func(a models.Actor, id string) error { return store.DeleteCredentialStore(ctx, a, id) }},
			{"credential", func(x dbtest.Infra) string { return x.CredentialID },
				func(a models.Actor, id string) error {
					_, err := store.UpdateCredential(ctx, a, id, 1, models.CredentialInput{Type: models.CredentialUsernamePassword, Name: "renamed", Username: "u"})
					return err
				},
				func(a models.Actor, id string) error { return store.DeleteCredential(ctx, a, id) }},
		} {
			x := dbtest.SeedInfra(t, store, admin, p.ID, strings.ReplaceAll(tc.what, " ", "-"))
			id := tc.id(x)
			nobody := user()
			if err := tc.update(nobody, id); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("%s: update without grant: %v, want not found", tc.what, err)
			}
			if err := tc.delete(nobody, id); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("%s: delete without grant: %v, want not found", tc.what, err)
			}
			updater := user("ids=" + id + ";actions=update")
			if err := tc.delete(updater, id); !errors.Is(err, models.ErrForbidden) {
				t.Errorf("%s: delete with update only: %v, want forbidden", tc.what, err)
			}
			if err := tc.update(updater, id); err != nil {
				t.Errorf("%s: update with update only: %v", tc.what, err)
			}
			deleter := user("ids=" + id + ";actions=delete")
			if err := tc.delete(deleter, id); err != nil {
				t.Errorf("%s: delete with delete only: %v", tc.what, err)
			}
		}
	})
}
