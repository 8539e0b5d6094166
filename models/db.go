package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	msqlite "modernc.org/sqlite"
)

// ParseDatabaseURL tells which database a URL names and returns it in the
// form OpenDB and the Postgres driver take. postgres:// and postgresql://
// URLs (the scheme in any case) are Postgres; a plain file path, or a file:
// or sqlite:// form of one, is SQLite. Any other value containing "://"
// (mysql://…, a typo of postgres://…) is an error rather than a file name.
func ParseDatabaseURL(databaseURL string) (Dialect, string, error) {
	i := strings.Index(databaseURL, "://")
	if i < 0 {
		return SQLite, databaseURL, nil
	}
	scheme := strings.ToLower(databaseURL[:i])
	normalized := scheme + databaseURL[i:]
	switch scheme {
	case "postgres", "postgresql":
		return Postgres, normalized, nil
	case "sqlite", "file":
		return SQLite, normalized, nil
	}
	// The value may hold a password: name the scheme only when it looks like one.
	if isScheme(scheme) && len(scheme) <= 32 {
		return "", "", fmt.Errorf("unsupported scheme %q: use a postgres:// URL or a SQLite file path", scheme+"://")
	}
	return "", "", errors.New("not a postgres:// URL or a SQLite file path")
}

// isScheme reports whether s has the shape of a URL scheme (RFC 3986).
func isScheme(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// OpenDB connects to the database named by databaseURL (see
// ParseDatabaseURL, whose error it returns for an unsupported scheme). For
// SQLite it creates the file's folder, turns on foreign keys and WAL, and
// uses a single connection (SQLite has one writer; one connection avoids
// "database is locked" under concurrency) that keeps its prepared
// statements (openSQLite). Postgres's driver, pgx, caches prepared
// statements per connection by itself; its pool holds
// DefaultPostgresConns connections. It does not migrate.
func OpenDB(ctx context.Context, databaseURL string) (*gorm.DB, Dialect, error) {
	d, databaseURL, err := ParseDatabaseURL(databaseURL)
	if err != nil {
		return nil, d, err
	}
	var db *gorm.DB
	switch d {
	case Postgres:
		db, err = gorm.Open(postgres.Open(databaseURL), gormConfig())
	default:
		dsn, derr := sqliteDSN(databaseURL)
		if derr != nil {
			return nil, d, derr
		}
		db, err = openSQLite(dsn)
	}
	if err != nil {
		return nil, d, fmt.Errorf("open %s database: %w", d, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, d, err
	}
	if d == SQLite {
		sqlDB.SetMaxOpenConns(1)
		sqlDB.SetMaxIdleConns(1)
		sqlDB.SetConnMaxLifetime(0)
	} else {
		SetPostgresConns(sqlDB, DefaultPostgresConns())
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = sqlDB.Close()
		return nil, d, fmt.Errorf("connect to %s database: %w", d, err)
	}
	return db, d, nil
}

// DefaultPostgresConns is the Postgres pool's size unless configured: 4
// connections per CPU, at least 8. More connections than the database's
// CPUs can run only queue inside Postgres and the kernel instead of in the
// pool: at 16 concurrent session starts on two cores, 32 connections gave a
// p99 of 0.7–0.9 s where 8 gave 0.18–0.24 s, and fewer starts per second
// (issue 17, docs/benchmarks.md).
func DefaultPostgresConns() int { return max(8, 4*runtime.GOMAXPROCS(0)) }

// SetPostgresConns sizes a Postgres pool: at most n open, and idle ones
// kept up to the same limit. Closing the ones above a lower idle limit
// after each burst and opening them again at the next (a backend start
// and an empty prepared-statement cache each time) was a large share of
// an admission's cost under load (issue 17). Idle ones still go after
// five minutes (OpenDB).
func SetPostgresConns(sqlDB *sql.DB, n int) {
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
}

// OpenReadPool opens the read pool of a SQLite database (Options.Reads):
// up to readers read-only connections (query_only) beside OpenDB's single
// writer; WAL lets them read while it writes. Postgres needs none: it
// returns nil. Close it with the database.
func OpenReadPool(ctx context.Context, databaseURL string, readers int) (*gorm.DB, error) {
	d, databaseURL, err := ParseDatabaseURL(databaseURL)
	if err != nil || d != SQLite || readers < 1 {
		return nil, err
	}
	dsn, err := sqliteDSN(databaseURL)
	if err != nil {
		return nil, err
	}
	db, err := openSQLite(dsn + "&_pragma=query_only(1)")
	if err != nil {
		return nil, fmt.Errorf("open SQLite read pool: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(readers)
	sqlDB.SetMaxIdleConns(readers)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect to SQLite read pool: %w", err)
	}
	return db, nil
}

// gormConfig is how every Gatehouse database is opened through GORM.
func gormConfig() *gorm.Config {
	return &gorm.Config{
		Logger:                                   logger.Discard,
		DisableForeignKeyConstraintWhenMigrating: true,
		SkipDefaultTransaction:                   true,
		NowFunc:                                  func() time.Time { return time.Now().UTC() },
	}
}

// openSQLite opens a SQLite database through modernc.org/sqlite with a
// prepared-statement cache on each connection (stmtCacheConnector).
func openSQLite(dsn string) (*gorm.DB, error) {
	connector, err := msqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	sqlDB := sql.OpenDB(stmtCacheConnector{connector})
	db, err := gorm.Open(&sqlite.Dialector{DSN: dsn, Conn: sqlDB}, gormConfig())
	if err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return db, nil
}

func sqliteDSN(path string) (string, error) {
	path = strings.TrimPrefix(path, "sqlite://")
	path = strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		return "", errors.New("empty SQLite path")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("create database folder: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Statement journals (the undo of one statement inside a transaction:
	// inserts with triggers, FTS, ON CONFLICT) in memory, not temporary
	// files: a session start opened and wrote one (issue 17).
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode(), nil
}

// isUniqueViolation reports a unique-constraint failure on either database.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 23505") || strings.Contains(msg, "UNIQUE constraint failed") ||
		strings.Contains(msg, "duplicate key value")
}

// isForeignKeyViolation reports a foreign-key failure on either database.
func isForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 23503") || strings.Contains(msg, "FOREIGN KEY constraint failed")
}
