// Package dbtest gives tests real, migrated databases: a fresh SQLite file
// and a fresh Postgres database (cloned from a migrated template) per test.
// Postgres comes from GATEHOUSE_TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable); when it cannot be
// reached the test fails, it is never skipped.
package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/migrations"
	"gatehouse/models"
)

// DefaultPostgresURL is used when GATEHOUSE_TEST_DATABASE_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// FastPasswords are cheap argon2id parameters for tests.
var FastPasswords = models.PasswordParams{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Dialects lists both databases, in the order tests run them.
var Dialects = []models.Dialect{models.SQLite, models.Postgres}

// PostgresURL is the server tests create their databases on.
func PostgresURL() string {
	if u := os.Getenv("GATEHOUSE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Each runs fn once per database as subtests "sqlite" and "postgres", each
// with a fresh migrated database wrapped in a Store.
func Each(t *testing.T, fn func(t *testing.T, store *models.Store)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d, models.Options{}))
		})
	}
}

// Open returns a Store on a fresh migrated database of the dialect, closed
// and dropped when the test ends. opts.PasswordParams defaults to
// FastPasswords and opts.Crypter to a random key.
func Open(t testing.TB, d models.Dialect, opts models.Options) *models.Store {
	t.Helper()
	if opts.PasswordParams == nil {
		p := FastPasswords
		opts.PasswordParams = &p
	}
	if opts.Crypter == nil {
		key := make([]byte, 32)
		for i := range key {
			key[i] = byte(rand.IntN(256))
		}
		c, err := models.NewCrypter(key)
		if err != nil {
			t.Fatal(err)
		}
		opts.Crypter = c
	}
	dbURL := NewDatabaseURL(t, d)
	db, dialect, err := models.OpenDB(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { sqlDB.Close() })
	if d == models.SQLite {
		if _, err := migrations.Up(context.Background(), sqlDB, string(dialect)); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	if d == models.SQLite && opts.Reads == nil { // the read pool, as the app opens it
		reads, err := models.OpenReadPool(context.Background(), dbURL, 2)
		if err != nil {
			t.Fatalf("open %s read pool: %v", d, err)
		}
		rdb, _ := reads.DB()
		t.Cleanup(func() { rdb.Close() })
		opts.Reads = reads
	}
	return models.NewStore(db, dialect, opts)
}

// NewDatabaseURL creates a fresh migrated database (Postgres) or names a
// fresh file (SQLite, migrated by whoever opens it) and returns its URL.
func NewDatabaseURL(t testing.TB, d models.Dialect) string {
	t.Helper()
	if d == models.SQLite {
		return filepath.Join(t.TempDir(), "gatehouse.db")
	}
	tmpl, err := template()
	if err != nil {
		t.Fatalf("postgres test database (is Postgres running at %s?): %v", redact(PostgresURL()), err)
	}
	name := fmt.Sprintf("gh_t_%d_%d", time.Now().Unix(), rand.Uint64())
	admin, err := sql.Open("pgx", PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, tmpl)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", PostgresURL())
		if err == nil {
			_, _ = a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			a.Close()
		}
	})
	return withDatabase(PostgresURL(), name)
}

var (
	tmplOnce sync.Once
	tmplName string
	tmplErr  error
)

// template creates, once per test process, a migrated template database.
func template() (string, error) {
	tmplOnce.Do(func() {
		ctx := context.Background()
		admin, err := sql.Open("pgx", PostgresURL())
		if err != nil {
			tmplErr = err
			return
		}
		defer admin.Close()
		if err := admin.PingContext(ctx); err != nil {
			tmplErr = err
			return
		}
		dropStale(admin)
		name := fmt.Sprintf("gh_tmpl_%d_%d", time.Now().Unix(), rand.Uint64())
		if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
			tmplErr = err
			return
		}
		db, dialect, err := models.OpenDB(ctx, withDatabase(PostgresURL(), name))
		if err != nil {
			tmplErr = err
			return
		}
		sqlDB, _ := db.DB()
		_, tmplErr = migrations.Up(ctx, sqlDB, string(dialect))
		sqlDB.Close()
		tmplName = name
	})
	return tmplName, tmplErr
}

// dropStale removes test databases left by runs that died over an hour ago.
func dropStale(admin *sql.DB) {
	rows, err := admin.Query("SELECT datname FROM pg_database WHERE datname LIKE 'gh\\_t%'")
	if err != nil {
		return
	}
	var names []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			names = append(names, n)
		}
	}
	rows.Close()
	for _, n := range names {
		parts := strings.Split(n, "_")
		if len(parts) < 3 {
			continue
		}
		ts, err := strconv.ParseInt(parts[2], 10, 64)
		if err == nil && time.Since(time.Unix(ts, 0)) > time.Hour {
			_, _ = admin.Exec("DROP DATABASE IF EXISTS " + n + " WITH (FORCE)")
		}
	}
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the configured URL"
	}
	return u.Redacted()
}

// Admin bootstraps the store (global scope, password method, admin/password)
// and returns the administrator logged in.
func Admin(t testing.TB, store *models.Store) models.Actor {
	t.Helper()
	ctx := context.Background()
	boot, err := store.Bootstrap(ctx, models.BootstrapOptions{AdminLoginName: "admin", AdminPassword: "password"})
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	return Login(t, store, boot.AuthMethodID, "admin", "password")
}

// Login logs a password account in and returns its actor.
func Login(t testing.TB, store *models.Store, authMethodID, loginName, password string) models.Actor {
	t.Helper()
	ctx := context.Background()
	res, err := store.AuthenticatePassword(ctx, models.PasswordLogin{AuthMethodID: authMethodID, LoginName: loginName, Password: password, ClientIP: "127.0.0.1"})
	if err != nil {
		t.Fatalf("login %s: %v", loginName, err)
	}
	a, _, err := store.LoginByToken(ctx, res.Token)
	if err != nil {
		t.Fatalf("resolve login %s: %v", loginName, err)
	}
	return a
}
