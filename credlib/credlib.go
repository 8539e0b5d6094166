// Package credlib mints and revokes the credentials of credential
// libraries against the real systems: Postgres roles (through pgx) and SSH
// certificates signed by a Gatehouse-held CA, with the OpenSSH key
// revocation list (KRL) of those revoked early. It implements
// models.LibraryBackend; models decides what to mint and when.
package credlib

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"gatehouse/models"
)

// Backend is the real models.LibraryBackend. Create it with New and Close
// it when done (it keeps a small pool of connections per Postgres server).
type Backend struct {
	// ConnectTimeout bounds connecting to a Postgres server; default 10 s.
	ConnectTimeout time.Duration
	// MaxConns bounds the connections kept per server; default 8.
	MaxConns int32

	mu    sync.Mutex
	pools map[models.PostgresConn]*pgxpool.Pool
}

var _ models.LibraryBackend = (*Backend)(nil)

// New returns a Backend.
func New() *Backend {
	return &Backend{ConnectTimeout: 10 * time.Second, MaxConns: 8, pools: map[models.PostgresConn]*pgxpool.Pool{}}
}

// Close closes every pooled connection.
func (b *Backend) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, p := range b.pools {
		p.Close()
		delete(b.pools, k)
	}
}

func (b *Backend) config(conn models.PostgresConn) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(conn.URL)
	if err != nil {
		return nil, fmt.Errorf("the connection URL does not parse: %v", err)
	}
	cfg.ConnConfig.Password = conn.Password
	cfg.ConnConfig.ConnectTimeout = b.ConnectTimeout
	cfg.MaxConns = b.MaxConns
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = time.Minute
	return cfg, nil
}

// pool returns the pool of a server, creating it on first use.
func (b *Backend) pool(conn models.PostgresConn) (*pgxpool.Pool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.pools[conn]; ok {
		return p, nil
	}
	cfg, err := b.config(conn)
	if err != nil {
		return nil, err
	}
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	b.pools[conn] = p
	return p, nil
}

// TestPostgres connects on a fresh connection (not the pool: the test is
// about reaching the server now) and checks that the role may create
// roles. Its errors say what is wrong in words for the admin.
func (b *Backend) TestPostgres(ctx context.Context, conn models.PostgresConn) error {
	cfg, err := b.config(conn)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, b.ConnectTimeout)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return explain(cfg.ConnConfig, err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	var may bool
	if err := c.QueryRow(ctx, "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").Scan(&may); err != nil {
		return explain(cfg.ConnConfig, err)
	}
	if !may {
		return fmt.Errorf("Connected, but the role %s may not create roles: give it CREATEROLE (ALTER ROLE %s CREATEROLE).",
			cfg.ConnConfig.User, cfg.ConnConfig.User)
	}
	return nil
}

// ExecPostgres runs sql (one or more statements with their values quoted)
// in one transaction.
func (b *Backend) ExecPostgres(ctx context.Context, conn models.PostgresConn, sql string) error {
	return b.inTx(ctx, conn, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql)
		return err
	})
}

// DropPostgresRole runs the revocation sql unless the role is gone
// already, in one transaction.
func (b *Backend) DropPostgresRole(ctx context.Context, conn models.PostgresConn, role, sql string) error {
	return b.inTx(ctx, conn, dropTx(ctx, role, sql))
}

// inTx runs fn in one transaction on a pooled connection to the server
// (once more on a stale connection: retryStale) and explains its error.
func (b *Backend) inTx(ctx context.Context, conn models.PostgresConn, fn func(pgx.Tx) error) error {
	p, err := b.pool(conn)
	if err != nil {
		return err
	}
	if err := retryStale(ctx, func() error { return pgx.BeginFunc(ctx, p, fn) }); err != nil {
		return explain(p.Config().ConnConfig, err)
	}
	return nil
}

// dropTx runs the revocation sql in tx unless the role is gone.
func dropTx(ctx context.Context, role, sql string) func(pgx.Tx) error {
	return func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", role).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, sql)
		return err
	}
}

// retryStale runs fn once more when it failed below SQL (a pooled
// connection the server closed meanwhile: the pool has dropped it, the
// next try dials afresh). Nothing was committed by a try that failed so.
func retryStale(ctx context.Context, fn func() error) error {
	err := fn()
	var pgErr *pgconn.PgError
	if err != nil && !errors.As(err, &pgErr) && ctx.Err() == nil {
		err = fn()
	}
	return err
}

// explain turns a connection or statement error into words for people.
func explain(cfg *pgx.ConnConfig, err error) error {
	where := net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01":
			return fmt.Errorf("The server at %s refused the password of role %s.", where, cfg.User)
		case "28000":
			return fmt.Errorf("The server at %s does not let role %s log in from here: %s.", where, cfg.User, pgErr.Message)
		case "3D000":
			return fmt.Errorf("The server at %s has no database %s.", where, cfg.Database)
		case "42710":
			return fmt.Errorf("%s (the role exists already: choose a username template that makes unique names, e.g. with {{.Session.ShortID}})", pgErr.Message)
		case "42501":
			return fmt.Errorf("Role %s is not allowed to do this: %s.", cfg.User, pgErr.Message)
		}
		return fmt.Errorf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
	}
	var netErr net.Error
	var opErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Errorf("Cannot find the server %s: %v.", cfg.Host, dnsErr)
	case errors.As(err, &opErr) || errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) ||
		strings.Contains(err.Error(), "connect"):
		return fmt.Errorf("Cannot reach the server at %s: %v.", where, unwrapConnect(err))
	}
	return err
}

// unwrapConnect keeps the last, most specific part of a pgconn error.
func unwrapConnect(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}
