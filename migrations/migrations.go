// Package migrations holds Gatehouse's versioned SQL schema, one folder per
// dialect, embedded in the binary. It is the only source of schema: nothing
// calls GORM's AutoMigrate.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"text/tabwriter"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Dialect names accepted by Up and Status.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

func provider(db *sql.DB, dialect string) (*goose.Provider, error) {
	var (
		gd   goose.Dialect
		opts = []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	)
	switch dialect {
	case Postgres:
		gd = goose.DialectPostgres
		// Several instances may start at once against one Postgres: a
		// session advisory lock makes them take turns.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case SQLite:
		gd = goose.DialectSQLite3
	default:
		return nil, fmt.Errorf("unknown dialect %q", dialect)
	}
	sub, err := fs.Sub(files, dialect)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(gd, db, sub, opts...)
}

// Up applies every pending migration of the dialect ("postgres" or "sqlite")
// and returns how many it applied. It is safe to call from several processes
// at once on Postgres.
func Up(ctx context.Context, db *sql.DB, dialect string) (int, error) {
	p, err := provider(db, dialect)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate up: %w", err)
	}
	return len(res), nil
}

// Pending reports whether migrations remain to be applied.
func Pending(ctx context.Context, db *sql.DB, dialect string) (bool, error) {
	p, err := provider(db, dialect)
	if err != nil {
		return false, err
	}
	return p.HasPending(ctx)
}

// Status writes one line per known migration (version, state, applied time).
func Status(ctx context.Context, db *sql.DB, dialect string, w io.Writer) error {
	p, err := provider(db, dialect)
	if err != nil {
		return err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return fmt.Errorf("migration status: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tFILE")
	for _, m := range st {
		applied := "-"
		if !m.AppliedAt.IsZero() {
			applied = m.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.Source.Version, m.State, applied, m.Source.Path)
	}
	return tw.Flush()
}
