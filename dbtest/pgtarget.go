package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// PGTarget is a database on the test Postgres server that a credential
// library mints roles for: a table the granted role may read (allowed) and
// one it may not (secret). Roles named with Prefix are dropped when the
// test ends.
type PGTarget struct {
	// URL reaches the database as the superuser postgres, without
	// password (what a library's Connection URL holds).
	URL string
	// Database is the database's name, GrantRole the role libraries grant.
	Database, GrantRole string
	// Prefix starts every role name the test's templates make.
	Prefix string
}

// NewPGTarget creates a fresh database with tables allowed(v) and
// secret(v) and a role GrantRole that may read only allowed.
func NewPGTarget(t testing.TB) PGTarget {
	t.Helper()
	suffix := fmt.Sprintf("%d_%d", time.Now().Unix()%100000, rand.IntN(1_000_000))
	p := PGTarget{Database: "gh_pgt_" + suffix, GrantRole: "gh_reader_" + suffix, Prefix: "ght" + suffix}
	admin, err := sql.Open("pgx", PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, q := range []string{"CREATE DATABASE " + p.Database, "CREATE ROLE " + p.GrantRole + " NOLOGIN"} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("postgres target (is Postgres running at %s?): %s: %v", redact(PostgresURL()), q, err)
		}
	}
	p.URL = withDatabase(PostgresURL(), p.Database)
	db, err := sql.Open("pgx", p.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"CREATE TABLE allowed (v text)", "INSERT INTO allowed VALUES ('hello')",
		"CREATE TABLE secret (v text)", "INSERT INTO secret VALUES ('hidden')",
		"GRANT SELECT ON allowed TO " + p.GrantRole,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("postgres target: %s: %v", q, err)
		}
	}
	t.Cleanup(func() { p.cleanup() })
	return p
}

// Roles lists the roles whose name starts with Prefix.
func (p PGTarget) Roles(t testing.TB) []string {
	t.Helper()
	admin, err := sql.Open("pgx", PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	rows, err := admin.Query("SELECT rolname FROM pg_roles WHERE rolname LIKE $1 || '%' ORDER BY 1", p.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		_ = rows.Scan(&r)
		out = append(out, r)
	}
	return out
}

func (p PGTarget) cleanup() {
	ctx := context.Background()
	admin, err := sql.Open("pgx", PostgresURL())
	if err != nil {
		return
	}
	defer admin.Close()
	_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+p.Database+" WITH (FORCE)")
	rows, err := admin.QueryContext(ctx, "SELECT rolname FROM pg_roles WHERE rolname LIKE $1 || '%'", p.Prefix)
	if err == nil {
		var roles []string
		for rows.Next() {
			var r string
			_ = rows.Scan(&r)
			roles = append(roles, r)
		}
		rows.Close()
		for _, r := range roles {
			_, _ = admin.ExecContext(ctx, `DROP ROLE IF EXISTS "`+r+`"`)
		}
	}
	_, _ = admin.ExecContext(ctx, "DROP ROLE IF EXISTS "+p.GrantRole)
}
