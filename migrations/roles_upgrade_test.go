package migrations_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"gorm.io/gorm"

	"gatehouse/dbtest"
	"gatehouse/migrations"
	"gatehouse/models"
)

// TestRolesMigrationKeepsAdmins upgrades a database made before roles
// existed: its administrators must keep full access through the
// Administration role, everyone keeps self-service, and down restores the flag.
func TestRolesMigrationKeepsAdmins(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			gdb, dialect, p := migratedTo(t, d, 2)
			now := time.Now().UTC()
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{"INSERT INTO scopes (id, type, name, created_at, updated_at) VALUES ('global', 'global', 'Global', ?, ?)", []any{now, now}},
				{"INSERT INTO users (id, scope_id, name, is_admin, created_at, updated_at) VALUES ('u_oldadmin0001', 'global', 'root', TRUE, ?, ?)", []any{now, now}},
				{"INSERT INTO users (id, scope_id, name, is_admin, created_at, updated_at) VALUES ('u_olduser00001', 'global', 'joe', FALSE, ?, ?)", []any{now, now}},
			} {
				if err := gdb.Exec(q.sql, q.args...).Error; err != nil {
					t.Fatal(err)
				}
			}
			if _, err := p.Up(ctx); err != nil {
				t.Fatal(err)
			}
			// role_principals keeps type, id and foreign key consistent.
			for _, bad := range []string{
				"INSERT INTO role_principals (role_id, principal_type, principal_id, user_id, created_at) VALUES ('r_self00000001', 'group', 'u_olduser00001', 'u_olduser00001', ?)",
				"INSERT INTO role_principals (role_id, principal_type, principal_id, created_at) VALUES ('r_self00000001', 'user', 'u_olduser00001', ?)",
				"INSERT INTO role_principals (role_id, principal_type, principal_id, user_id, created_at) VALUES ('r_self00000001', 'user', 'u_anon', 'u_olduser00001', ?)",
				"INSERT INTO role_principals (role_id, principal_type, principal_id, user_id, created_at) VALUES ('r_self00000001', 'user', 'u_nobody000001', 'u_nobody000001', ?)",
			} {
				if err := gdb.Exec(bad, now).Error; err == nil {
					t.Errorf("accepted: %s", bad)
				}
			}
			store := models.NewStore(gdb, dialect, models.Options{})
			admin := models.Actor{UserID: "u_oldadmin0001"}
			page, err := store.ListRoles(ctx, admin, "", models.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != 2 {
				t.Fatalf("roles = %+v", page.Items)
			}
			for _, r := range page.Items {
				if _, err := store.GetRole(ctx, admin, r.ID); err != nil {
					t.Errorf("read %s: %v", r.Name, err)
				}
				if r.CreatedAt.IsZero() {
					t.Errorf("%s has no creation time", r.Name)
				}
			}
			joe := models.Actor{UserID: "u_olduser00001"}
			if _, err := store.GetUser(ctx, joe, joe.UserID); err != nil {
				t.Errorf("joe reads himself: %v", err)
			}
			if _, err := store.GetUser(ctx, joe, admin.UserID); err == nil {
				t.Errorf("joe reads root")
			}
			if _, err := p.DownTo(ctx, 2); err != nil {
				t.Fatal(err)
			}
			var admins []string
			if err := gdb.Raw("SELECT id FROM users WHERE is_admin").Scan(&admins).Error; err != nil {
				t.Fatal(err)
			}
			if len(admins) != 1 || admins[0] != "u_oldadmin0001" {
				t.Errorf("admins after down = %v", admins)
			}
		})
	}
}

// migratedTo opens an empty database of dialect d, migrated up to version,
// and its migration provider.
func migratedTo(t *testing.T, d models.Dialect, version int64) (*gorm.DB, models.Dialect, *goose.Provider) {
	t.Helper()
	ctx := context.Background()
	gdb, dialect, err := models.OpenDB(ctx, emptyDatabase(t, d))
	if err != nil {
		t.Fatal(err)
	}
	db, _ := gdb.DB()
	t.Cleanup(func() { db.Close() })
	p, err := migrations.Provider(db, string(dialect))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		t.Fatal(err)
	}
	return gdb, dialect, p
}

func emptyDatabase(t *testing.T, d models.Dialect) string {
	t.Helper()
	if d == models.SQLite {
		return filepath.Join(t.TempDir(), "old.db")
	}
	name := fmt.Sprintf("gh_t_%d_%d", time.Now().Unix(), rand.Uint64())
	admin, err := sql.Open("pgx", dbtest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if a, err := sql.Open("pgx", dbtest.PostgresURL()); err == nil {
			_, _ = a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			a.Close()
		}
	})
	u, _ := url.Parse(dbtest.PostgresURL())
	u.Path = "/" + name
	return u.String()
}
