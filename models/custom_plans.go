package models

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// Statements planned at each execution (issue 17). pgx prepares each
// statement once per connection and Postgres, after five executions, may
// keep a generic plan for it whose cost looked no worse. A generic plan
// made while a table was small stays until the table's next ANALYZE: in a
// fresh database the connection batches were planned so, with
// session_connections and warehouse_connections read whole, and each later
// batch read the tables whole again as they grew (Postgres's CPU per
// connection 320-620 µs in the idle benchmark after the admission figure,
// 140-170 µs planned at each execution: docs/benchmarks.md, "Tenth
// round"). Planning every statement so doubled Postgres's CPU per session
// start, so only the batch statements of a connection's records go this
// way, where one planning serves many connections.

// customPlanPool is a connection pool whose statements are unnamed prepared
// statements (pgx's QueryExecModeCacheDescribe), which Postgres plans for
// each execution's arguments and the tables' sizes at the time.
type customPlanPool struct{ gorm.ConnPool }

func customPlanArgs(args []any) []any {
	return append([]any{pgx.QueryExecModeCacheDescribe}, args...)
}

func (p customPlanPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.ConnPool.ExecContext(ctx, query, customPlanArgs(args)...)
}

func (p customPlanPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.ConnPool.QueryContext(ctx, query, customPlanArgs(args)...)
}

func (p customPlanPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.ConnPool.QueryRowContext(ctx, query, customPlanArgs(args)...)
}

// qp is q for the batch statements of connection records: on Postgres
// each is planned for its execution (customPlanPool), in the caller's
// transaction when there is one.
func (s *Store) qp(ctx context.Context) *gorm.DB {
	db := s.q(ctx) // its own Statement (WithContext clones it)
	if s.dialect == Postgres {
		db.Statement.ConnPool = customPlanPool{db.Statement.ConnPool}
	}
	return db
}
