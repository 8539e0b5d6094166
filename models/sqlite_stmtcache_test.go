package models

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"gorm.io/gorm"
)

// cachedQueries reports the statements the writer's connection keeps.
func cachedQueries(t *testing.T, sqlDB *sql.DB) map[string]bool {
	t.Helper()
	conn, err := sqlDB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got := map[string]bool{}
	if err := conn.Raw(func(dc any) error {
		cc, ok := dc.(*cachingConn)
		if !ok {
			return fmt.Errorf("driver connection is %T, not *cachingConn", dc)
		}
		for q := range cc.stmts {
			got[q] = true
		}
		if len(cc.stmts) != cc.lru.Len() {
			return fmt.Errorf("cache map holds %d statements, its LRU list %d", len(cc.stmts), cc.lru.Len())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestSQLiteStatementCache: statements run through OpenDB's SQLite
// connection are prepared once and kept; a failed statement leaves the cache
// and works again; a query run again while its own rows are still open (same
// SQL, same connection, inside a transaction) gets a fresh statement and both
// give their rows; a rolled-back transaction leaves nothing; the cache keeps
// at most stmtCacheSize statements.
func TestSQLiteStatementCache(t *testing.T) {
	ctx := context.Background()
	db := bareSQLite(t)
	sqlDB, _ := db.DB()

	const insert = "INSERT INTO t (id, v) VALUES (?, ?)"
	const list = "SELECT id FROM t WHERE id >= ? ORDER BY id"
	if err := db.Exec("CREATE TABLE t (id integer PRIMARY KEY, v text NOT NULL)").Error; err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if err := db.Exec(insert, i, fmt.Sprint("v", i)).Error; err != nil {
			t.Fatal(err)
		}
	}
	if !cachedQueries(t, sqlDB)[insert] {
		t.Fatal("the insert is not in the statement cache after three runs")
	}
	if err := db.Exec(insert, 1, "again").Error; !isUniqueViolation(err) {
		t.Fatalf("duplicate insert = %v, want a unique violation", err)
	}
	if cachedQueries(t, sqlDB)[insert] {
		t.Fatal("the insert stayed in the cache after failing")
	}
	if err := db.Exec(insert, 4, "v4").Error; err != nil {
		t.Fatalf("insert after a failure = %v", err)
	}

	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := tx.QueryContext(ctx, list, 2)
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for outer.Next() {
		var a int
		if err := outer.Scan(&a); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.QueryContext(ctx, list, a)
		if err != nil {
			t.Fatal(err)
		}
		for inner.Next() {
			var b int
			if err := inner.Scan(&b); err != nil {
				t.Fatal(err)
			}
			pairs = append(pairs, fmt.Sprint(a, b))
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, insert, 5, "v5"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(pairs), "[2 2 2 3 2 4 3 3 3 4 4 4]"; got != want {
		t.Fatalf("nested runs of one query gave %s, want %s", got, want)
	}
	var n int
	if err := db.Raw("SELECT count(*) FROM t").Scan(&n).Error; err != nil || n != 4 {
		t.Fatalf("rows after the rollback = %d, %v; want 4", n, err)
	}

	for i := range stmtCacheSize + 10 {
		if err := db.Exec(fmt.Sprintf("SELECT %d", i)).Error; err != nil {
			t.Fatal(err)
		}
	}
	if got := len(cachedQueries(t, sqlDB)); got != stmtCacheSize {
		t.Fatalf("cache holds %d statements, want the bound %d", got, stmtCacheSize)
	}
}

// bareSQLite opens an unmigrated SQLite database in a temporary folder,
// closed when the test ends.
func bareSQLite(t *testing.T) *gorm.DB {
	t.Helper()
	db, _, err := OpenDB(context.Background(), filepath.Join(t.TempDir(), "bare.db"))
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { sqlDB.Close() })
	return db
}
