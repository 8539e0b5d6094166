package models_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"gatehouse/credlib"
	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestUniqueWithOtherErrors: on every resource's create and edit, a name
// already taken (any case) is reported together with the other fields'
// messages, not only once they are valid; the item's own name is not a
// duplicate of itself; a valid input with a taken name still says so; and
// nothing is written by a refused input.
func TestUniqueWithOtherErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		p := project(t, store, admin, "Acme", "Prod")
		org := *p.ParentID
		long := strings.Repeat("x", 1025)
		desc := func(bad bool) string {
			if bad {
				return long
			}
			return ""
		}
		cat, err := store.CreateHostCatalog(ctx, admin, p.ID, models.HostCatalogInput{Name: "base catalog"})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := store.CreateCredentialStore(ctx, admin, p.ID, models.CredentialStoreInput{Name: "base store"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.CreateUser(ctx, admin, org, models.UserInput{Name: "zed", LoginName: "zed-login", Password: "a-long-password-1"}); err != nil {
			t.Fatal(err)
		}
		logins := 0
		key := make([]byte, 32)
		rand.Read(key)
		crypter, err := models.NewCrypter(key)
		if err != nil {
			t.Fatal(err)
		}
		libs := models.NewStore(store.DB(), store.Dialect(), models.Options{Crypter: crypter, CredentialBackend: credlib.New()})
		sshLib := func(name string, bad bool) models.CredentialLibraryInput {
			in := models.CredentialLibraryInput{Type: models.LibrarySSHCert, Name: name, PrincipalsTemplate: "{{.User.Name}}",
				Extensions: []string{"permit-pty"}, ClockSkewSeconds: "60"}
			if bad {
				in.PrincipalsTemplate = ""
			}
			return in
		}
		oidc := func(name string, bad bool) models.OIDCMethodInput {
			in := validOIDC(name)
			if bad {
				in.Issuer = "http://login.example.com"
			}
			return in
		}
		type idErr struct {
			id  string
			err error
		}
		ok := func(id string, err error) idErr { return idErr{id, err} }
		cases := []struct {
			name   string
			table  string
			fields []string // the fields a bad input gets wrong (besides the name)
			create func(name string, bad bool) idErr
			update func(id, name string, bad bool) error
		}{
			{"scope", "scopes", []string{"description"},
				func(n string, bad bool) idErr {
					s, err := store.CreateScope(ctx, admin, org, models.ScopeInput{Name: n, Description: desc(bad)})
					return ok(idOf(s, func(s *models.Scope) string { return s.ID }), err)
				},
				func(id, n string, bad bool) error {
					_, err := store.UpdateScope(ctx, admin, id, 1, models.ScopeInput{Name: n, Description: desc(bad)})
					return err
				}},
			{"user", "users", []string{"email", "login_name"},
				func(n string, bad bool) idErr {
					logins++
					in := models.UserInput{Name: n, LoginName: fmt.Sprintf("login%d", logins), Password: "a-long-password-1"}
					if bad {
						in.Email, in.LoginName = "not-an-address", "ZED-login" // taken too
					}
					u, err := store.CreateUser(ctx, admin, org, in)
					return ok(idOf(u, func(u *models.User) string { return u.ID }), err)
				},
				func(id, n string, bad bool) error {
					in := models.UserInput{Name: n}
					if bad {
						in.Email, in.LoginName = "not-an-address", "zed-LOGIN"
					}
					_, err := store.UpdateUser(ctx, admin, id, 1, in)
					return err
				}},
			{"group", "groups", []string{"description"},
				func(n string, bad bool) idErr {
					g, err := store.CreateGroup(ctx, admin, org, models.GroupInput{Name: n, Description: desc(bad)})
					return ok(idOf(g, func(g *models.Group) string { return g.ID }), err)
				},
				func(id, n string, bad bool) error {
					_, err := store.UpdateGroup(ctx, admin, id, 1, models.GroupInput{Name: n, Description: desc(bad)})
					return err
				}},
			{"role", "roles", []string{"description"},
				func(n string, bad bool) idErr {
					r, err := store.CreateRole(ctx, admin, org, models.RoleInput{Name: n, Description: desc(bad)})
					return ok(idOf(r, func(r *models.Role) string { return r.ID }), err)
				},
				func(id, n string, bad bool) error {
					_, err := store.UpdateRole(ctx, admin, id, 1, models.RoleInput{Name: n, Description: desc(bad)})
					return err
				}},
			{"auth method", "auth_methods", []string{"issuer"},
				func(n string, bad bool) idErr {
					m, err := store.CreateOIDCMethod(ctx, admin, org, oidc(n, bad))
					return ok(idOf(m, func(m *models.OIDCMethod) string { return m.ID }), err)
				},
				func(id, n string, bad bool) error {
					_, err := store.UpdateOIDCMethod(ctx, admin, id, 1, oidc(n, bad))
					return err
				}},
			{"host catalog", "host_catalogs", []string{"description"},
				func(n string, bad bool) idErr {
					c, err := store.CreateHostCatalog(ctx, admin, p.ID, models.HostCatalogInput{Name: n, Description: desc(bad)})
					return ok(idOf(c, func(c *models.HostCatalog) string { return c.ID }), err)
				},
				func(id, n string, bad bool) error {
					_, err := store.UpdateHostCatalog(ctx, admin, id, 1, models.HostCatalogInput{Name: n, Description: desc(bad)})
					return err
				}},
			{"host", "hosts", []string{"address"},
				func(n string, bad bool) idErr {
					in := models.HostInput{Name: n, Address: "db.example.com"}
					if bad {
						in.Address = ""
					}
					h, err := store.CreateHost(ctx, admin, cat.ID, in)
					return ok(idOf(h, func(h *models.Host) string { return h.ID }), err)
				},
				func(id, n string, bad bool) error {
					in := models.HostInput{Name: n, Address: "db.example.com"}
					if bad {
						in.Address = ""
					}
					_, err := store.UpdateHost(ctx, admin, id, 1, in)
					return err
				}},
			{"host set", "host_sets", []string{"description"},
				func(n string, bad bool) idErr {
					hs, err := store.CreateHostSet(ctx, admin, cat.ID, models.HostSetInput{Name: n, Description: desc(bad)}, nil)
					return ok(idOf(hs, func(hs *models.HostSet) string { return hs.ID }), err)
				},
				func(id, n string, bad bool) error {
					_, err := store.UpdateHostSet(ctx, admin, id, 1, models.HostSetInput{Name: n, Description: desc(bad)})
					return err
				}},
			{"target", "targets", []string{"description"},
				func(n string, bad bool) idErr {
					tg, err := store.CreateTarget(ctx, admin, p.ID, models.TargetInput{Name: n, Description: desc(bad), DefaultPort: 22,
						Address: "db.example.com", SessionMaxSeconds: 3600, SessionConnectionLimit: -1})
					return ok(idOf(tg, func(t *models.Target) string { return t.ID }), err)
				},
				func(id, n string, bad bool) error {
					_, err := store.UpdateTarget(ctx, admin, id, 1, models.TargetInput{Name: n, Description: desc(bad), DefaultPort: 22,
						Address: "db.example.com", SessionMaxSeconds: 3600, SessionConnectionLimit: -1})
					return err
				}},
			{"credential store", "credential_stores", []string{"description"},
				func(n string, bad bool) idErr {
					c, err := store.CreateCredentialStore(ctx, admin, p.ID, models.CredentialStoreInput{Name: n, Description: desc(bad)})
					return ok(idOf(c, func(c *models.CredentialStore) string { return c.ID }), err)
				},
				func(id, n string, bad bool) error {
					_, err := store.UpdateCredentialStore(ctx, admin, id, 1, models.CredentialStoreInput{Name: n, Description: desc(bad)})
					return err
				}},
			{"credential", "credentials", []string{"description"},
				func(n string, bad bool) idErr {
					c, err := store.CreateCredential(ctx, admin, cs.ID, models.CredentialInput{Type: models.CredentialUsernamePassword,
						Name: n, Description: desc(bad), Username: "root", Password: "pw"})
					return ok(idOf(c, func(c *models.Credential) string { return c.ID }), err)
				},
				func(id, n string, bad bool) error {
					_, err := store.UpdateCredential(ctx, admin, id, 1, models.CredentialInput{Type: models.CredentialUsernamePassword,
						Name: n, Description: desc(bad), Username: "root"})
					return err
				}},
			{"credential library", "credential_libraries", []string{"principals_template"},
				func(n string, bad bool) idErr {
					l, err := libs.CreateCredentialLibrary(ctx, admin, cs.ID, sshLib(n, bad))
					return ok(idOf(l, func(l *models.CredentialLibrary) string { return l.ID }), err)
				},
				func(id, n string, bad bool) error {
					_, err := libs.UpdateCredentialLibrary(ctx, admin, id, 1, sshLib(n, bad))
					return err
				}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				taken := c.create("Taken", false)
				other := c.create("Other", false)
				if taken.err != nil || other.err != nil {
					t.Fatalf("create: %v, %v", taken.err, other.err)
				}
				before := count(t, store, c.table, "1 = 1")
				want := append([]string{"name"}, c.fields...)
				slices.Sort(want)
				check := func(what string, err error, want []string) {
					t.Helper()
					got := slices.Sorted(maps.Keys(models.FieldErrors(err)))
					if !slices.Equal(got, want) {
						t.Fatalf("%s: fields %v, want %v (%v)", what, got, want, err)
					}
					if msg := models.FieldErrors(err)["name"]; slices.Contains(want, "name") && !strings.Contains(strings.ToLower(msg), "taken") {
						t.Fatalf("%s: name message %q does not name the taken name", what, msg)
					}
				}
				check("create, bad and taken", c.create("TAKEN", true).err, want)
				check("create, taken", c.create(" taken ", false).err, []string{"name"})
				check("edit, bad and taken", c.update(other.id, "taken", true), want)
				check("edit, bad, own name", c.update(taken.id, "TAKEN", true), c.fields)
				if n := count(t, store, c.table, "1 = 1"); n != before {
					t.Fatalf("%d rows after refused inputs, want %d", n, before)
				}
				if err := c.update(other.id, "Still-other", false); err != nil {
					t.Fatalf("valid edit after refusals: %v", err)
				}
			})
		}
	})
}

// idOf is the id of a created item, "" when creation failed.
func idOf[T any](v *T, id func(*T) string) string {
	if v == nil {
		return ""
	}
	return id(v)
}

// TestGuidedTargetNeedsAProject: the guided flow without a project is
// refused on the project field, by the Store (every entry point, not only
// the page).
func TestGuidedTargetNeedsAProject(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		_, err := store.CreateGuidedTarget(ctx, admin, " ", models.GuidedTargetInput{
			Target: models.TargetInput{Name: "web", DefaultPort: 22, Address: "10.0.0.1"}})
		if msg := models.FieldErrors(err)["project"]; msg != "Choose the project the target belongs to." {
			t.Fatalf("no project: %v", err)
		}
	})
}
