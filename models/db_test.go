package models_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/migrations"
	"gatehouse/models"
)

func TestParseDatabaseURL(t *testing.T) {
	cases := []struct {
		in      string
		dialect models.Dialect
		out     string
		err     string
	}{
		{"postgres://u@h:5432/db?sslmode=disable", models.Postgres, "postgres://u@h:5432/db?sslmode=disable", ""},
		{"postgresql://u@h/db", models.Postgres, "postgresql://u@h/db", ""},
		{"POSTGRES://u@h/DB", models.Postgres, "postgres://u@h/DB", ""},
		{"PostgreSQL://u@h/db", models.Postgres, "postgresql://u@h/db", ""},
		{"/var/lib/gatehouse/gatehouse.db", models.SQLite, "/var/lib/gatehouse/gatehouse.db", ""},
		{"data/gatehouse.db", models.SQLite, "data/gatehouse.db", ""},
		{"file:data/gatehouse.db", models.SQLite, "file:data/gatehouse.db", ""},
		{"file:///tmp/gatehouse.db", models.SQLite, "file:///tmp/gatehouse.db", ""},
		{"sqlite:///tmp/gatehouse.db", models.SQLite, "sqlite:///tmp/gatehouse.db", ""},
		{"mysql://x", "", "", `unsupported scheme "mysql://"`},
		{"MySQL://u:secret@h/db", "", "", `unsupported scheme "mysql://"`},
		{"postgress://u@h/db", "", "", `unsupported scheme "postgress://"`},
		{"http://h/db", "", "", `unsupported scheme "http://"`},
		{"u:secret@h://db", "", "", "not a postgres:// URL or a SQLite file path"},
	}
	for _, c := range cases {
		d, out, err := models.ParseDatabaseURL(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "secret") {
				t.Errorf("ParseDatabaseURL(%q) error = %v, want %q (and no secret)", c.in, err, c.err)
			}
			continue
		}
		if err != nil || d != c.dialect || out != c.out {
			t.Errorf("ParseDatabaseURL(%q) = %q, %q, %v; want %q, %q", c.in, d, out, err, c.dialect, c.out)
		}
	}
}

// TestOpenDBRefusesOtherSchemes: an unsupported URL never becomes a SQLite
// file (mysql://x used to create the folder ./mysql:).
func TestOpenDBRefusesOtherSchemes(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, _, err := models.OpenDB(context.Background(), "mysql://x"); err == nil {
		t.Fatal("OpenDB accepted mysql://x")
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Fatalf("OpenDB(mysql://x) created %v", entries[0].Name())
	}
	// Plain paths still work.
	db, d, err := models.OpenDB(context.Background(), filepath.Join("data", "g.db"))
	if err != nil || d != models.SQLite {
		t.Fatalf("OpenDB(data/g.db) = %q, %v", d, err)
	}
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

// TestReadPool: SQLite's read pool never writes (query_only), and a login
// made on the writer is found by the next lookup through the pool and gone
// from it after logout; Postgres has none.
func TestReadPool(t *testing.T) {
	ctx := context.Background()
	if reads, err := models.OpenReadPool(ctx, "postgres://u@127.0.0.1:1/db", 2); reads != nil || err != nil {
		t.Fatalf("OpenReadPool(postgres) = %v, %v; want nil, nil", reads, err)
	}
	dbURL := dbtest.NewDatabaseURL(t, models.SQLite)
	db, dialect, err := models.OpenDB(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { sqlDB.Close() })
	if _, err := migrations.Up(ctx, sqlDB, string(dialect)); err != nil {
		t.Fatal(err)
	}
	reads, err := models.OpenReadPool(ctx, dbURL, 2)
	if err != nil || reads == nil {
		t.Fatalf("OpenReadPool(sqlite) = %v, %v", reads, err)
	}
	rdb, _ := reads.DB()
	t.Cleanup(func() { rdb.Close() })
	if err := reads.Exec("CREATE TABLE t (x int)").Error; err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Fatalf("a write through the read pool = %v, want a read-only error", err)
	}
	p := dbtest.FastPasswords
	store := models.NewStore(db, dialect, models.Options{Reads: reads, PasswordParams: &p})
	boot, err := store.Bootstrap(ctx, models.BootstrapOptions{AdminLoginName: "admin", AdminPassword: "password"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.AuthenticatePassword(ctx, models.PasswordLogin{AuthMethodID: boot.AuthMethodID, LoginName: "admin", Password: "password"})
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := store.LoginByToken(ctx, res.Token)
	if err != nil || a.UserID != boot.AdminUserID || !a.Can.Roles {
		t.Fatalf("LoginByToken after login = %+v, %v", a, err)
	}
	if err := store.Logout(ctx, res.Token); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.LoginByToken(ctx, res.Token); err == nil {
		t.Fatal("LoginByToken after logout still finds the login through the read pool")
	}
}
