package models_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
